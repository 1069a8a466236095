"""Walking the root and choosing what goes into the overlay."""
import errno
import fnmatch
import os
import stat

from .secret_files import is_secret


ALWAYS_EXCLUDED = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/run", "/var/lock")
PACKAGE_CACHES = ("/var/cache/apt", "/var/cache/yum", "/var/cache/dnf", "/var/cache/zypp",
                  "/var/lib/apt/lists", "/var/cache/PackageKit")
# In `changed` mode the overlay is laid over a freshly installed image: the source's package
# databases would contradict the image's own, so they stay out (the report lists the packages).
PACKAGE_DATABASES = ("/var/lib/dpkg", "/var/lib/rpm", "/usr/lib/sysimage/rpm", "/var/lib/yum", "/var/lib/dnf",
                     "/var/lib/apt", "/var/cache/debconf")


class Selection(object):
    """The overlay's member list (in-root paths, archive order) with its counts."""

    def __init__(self):
        self.candidates = []     # (in-root path, regular file size or 0, owned by a package?)
        self.paths = []
        self.files = 0
        self.bytes = 0
        self.secrets = []

    def finalize(self, changed):
        """Keep unowned entries and the owned ones that differ from their package."""
        for inner, size, owned in self.candidates:
            if owned and inner not in changed:
                continue
            self.paths.append(inner)
            self.files += 1
            self.bytes += size
        self.candidates = []
        return self


def excluded_by_pattern(inner, patterns):
    for pattern in patterns:
        if fnmatch.fnmatch(inner, pattern) or fnmatch.fnmatch(inner, pattern.rstrip("/") + "/*"):
            return True
    return False


def select_overlay(root, mode, package_files, hollow, skip, patterns, exclude_secrets, progress,
                   newer_than_ns=None, live=None):
    """Walk the physical tree (no symlink followed) and pick the overlay members.

    ``hollow`` paths (/proc, caches, pseudo and network mounts) keep their own entry, so a full
    root still has its mount points, but not their contents; ``skip`` paths and ``patterns``
    leave out the entry and everything under it. ``newer_than_ns`` (a delta scan) keeps only
    the entries whose ctime is not older; ``live`` (a LiveChanges) records the entries that
    vanish during the walk.
    """
    sel = Selection()
    owned = package_files.owned if (package_files and mode == "changed") else set()
    skip = set(skip)
    hollow = set(hollow)
    walked = [0]

    def consider(inner, host_path, st, is_dir):
        walked[0] += 1
        if exclude_secrets and not is_dir and is_secret(inner, host_path, st):
            sel.secrets.append(inner)
            return
        if stat.S_ISSOCK(st.st_mode):
            return
        if newer_than_ns is not None and st.st_ctime_ns < newer_than_ns:
            return
        sel.candidates.append((inner, st.st_size if stat.S_ISREG(st.st_mode) else 0, inner in owned))

    stack = ["/"]
    while stack:
        inner_dir = stack.pop()
        host_dir = root.host(inner_dir)
        try:
            entries = sorted(os.listdir(host_dir))
        except OSError as e:
            if live is not None and e.errno in (errno.ENOENT, errno.ENOTDIR):
                live.gone(inner_dir)      # a live server removed it since it was listed
            else:
                progress.warn("cannot read %s: %s" % (inner_dir, e.strerror))
            continue
        subdirs = []
        for name in entries:
            inner = (inner_dir.rstrip("/") + "/" + name)
            if inner in skip or excluded_by_pattern(inner, patterns):
                continue
            host_path = os.path.join(host_dir, name)
            try:
                st = os.lstat(host_path)
            except OSError as e:
                if live is not None and e.errno in (errno.ENOENT, errno.ENOTDIR):
                    live.gone(inner)
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            consider(inner, host_path, st, is_dir)
            if is_dir and inner not in hollow:
                subdirs.append(inner)
        progress.tick("walked %d entries" % walked[0])
        stack.extend(reversed(subdirs))
    progress.tick("walked %d entries" % walked[0], force=True)
    return sel
