"""The scanned root filesystem, seen from outside, and the check that it is a Linux root."""
import errno
import fnmatch
import os

from .errors import ScanRefused


class Root(object):
    """A root filesystem seen from outside: paths inside it resolve symlinks within it.

    An absolute symlink in a mounted disk (say /etc/resolv.conf -> /run/...) points into
    that disk, not into the scanning host, so links are followed by hand.
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.live = os.path.realpath(self.path) == "/"
        self._dir_cache = {}

    def host(self, inner):
        """Host path of ``inner`` (absolute inside the root), without following links."""
        return os.path.join(self.path, inner.lstrip("/")) if inner.strip("/") else self.path

    def resolve(self, inner, depth=0):
        """Canonical in-root path of ``inner``: every symlink resolved inside the root."""
        parts = [p for p in inner.split("/") if p and p != "."]
        done = []
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join(done + [part])
            try:
                target = os.readlink(self.host(candidate))
            except OSError:
                done.append(part)
                continue
            depth += 1
            if depth > 40:
                raise OSError(errno.ELOOP, "too many symlinks", candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
        return "/" + "/".join(done)

    def canonical(self, inner):
        """Like resolve() but keeps the last component as is (a symlink stays a symlink)."""
        head, tail = os.path.split(inner)
        real = self._real_dir(head)
        return real.rstrip("/") + "/" + tail if tail else real

    def _real_dir(self, inner):
        """resolve(inner), cached, built on the parent's cached result: one readlink per
        directory instead of one per component of every package file's path."""
        real = self._dir_cache.get(inner)
        if real is not None:
            return real
        parent, name = os.path.split(inner)
        if name in ("", ".", "..") or parent == inner:
            candidate = None
        else:
            candidate = self._real_dir(parent).rstrip("/") + "/" + name
            try:
                os.readlink(self.host(candidate))
            except OSError:
                real = candidate        # not a symlink, or missing: resolve() keeps it as is
        if real is None:
            try:
                real = self.resolve(candidate or inner)
            except OSError:
                real = inner
        self._dir_cache[inner] = real
        return real

    def real(self, inner):
        return self.host(self.resolve(inner))

    def exists(self, inner):
        try:
            return os.path.exists(self.real(inner))
        except OSError:
            return False

    def isdir(self, inner):
        try:
            return os.path.isdir(self.real(inner))
        except OSError:
            return False

    def read(self, inner, limit=4 << 20):
        """Text of a file inside the root, or None when it does not exist or cannot be read."""
        # in blocks: read(n) allocates n bytes at once, and a 1 GiB limit fails with MemoryError
        # on a server with 1 GiB of RAM (CPython's buffered read; the kernel refuses the overcommit)
        chunks, left = [], limit
        try:
            with open(self.real(inner), "rb") as f:
                while left > 0:
                    block = f.read(min(left, 1 << 20))
                    if not block:
                        break
                    chunks.append(block)
                    left -= len(block)
        except (OSError, IOError):
            return None
        return b"".join(chunks).decode("utf-8", "surrogateescape")

    def listdir(self, inner):
        try:
            return sorted(os.listdir(self.real(inner)))
        except OSError:
            return []

    def readlink(self, inner):
        try:
            return os.readlink(self.host(self.canonical(inner)))
        except OSError:
            return None

    def glob(self, inner_dir, pattern):
        return ["%s/%s" % (inner_dir.rstrip("/"), n) for n in self.listdir(inner_dir)
                if fnmatch.fnmatch(n, pattern)]


def check_linux_root(root):
    """Refuse anything that is not a Linux root filesystem, with a message that says why."""
    if not os.path.isdir(root.path):
        raise ScanRefused("%s is not a directory" % root.path)
    for windows in ("Windows/System32", "WINDOWS/system32", "windows/system32"):
        if os.path.isdir(os.path.join(root.path, windows)):
            raise ScanRefused("%s is a Windows root filesystem; dib-migrate builds Linux images only"
                              % root.path)
    has_etc = root.isdir("/etc")
    has_bin = any(root.exists(p) for p in ("/bin/sh", "/usr/bin/sh", "/sbin/init",
                                           "/usr/lib/systemd/systemd"))
    if not (has_etc and has_bin and (root.exists("/etc/passwd") or root.exists("/etc/os-release"))):
        raise ScanRefused("%s is not a Linux root filesystem (no /etc/passwd or /bin/sh)" % root.path)
