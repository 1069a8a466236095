"""Files that vanish or change while a live server is scanned.

On a running server files come and go all the time (a database's WAL segments, a mail
queue, session files). The scan must not abort on them: each one is recorded, the report
lists them (``live.vanished``, ``live.changed``), and the Plan warns, naming the services
that own them. Standard library only, Python 3.6 syntax (the scanner runs on old servers).
"""
import errno
import os
import re
import stat

# What GNU tar (C locale) prints for a file that went away or changed under it. Any
# failing system call on a vanished name ends in "No such file or directory" (stat, open,
# readlink, llistxattr, ...); tar then exits 2 although the archive is complete.
_TAR_LINE = re.compile(
    r"^tar: (?P<name>.*): (?:(?P<gone>(?:Warning: )?Cannot [a-z]+: No such file or directory"
    r"|File removed before we read it)"
    r"|(?P<changed>file changed as we read it|File shrank by \d+ bytes; padding with zeros))$")
# lines that carry no news about a file
_TAR_NOISE = re.compile(r"^tar: (Exiting with failure status due to previous errors"
                        r"|.*: socket ignored|.*: file is on a different filesystem; not dumped)$")

# the most paths the report lists per kind; all are counted
LIST_LIMIT = 200


def _unescape(name):
    """Undo GNU tar's default ``escape`` quoting (C escapes, octal for other bytes)."""
    if "\\" not in name:
        return name
    simple = {"\\": b"\\", "n": b"\n", "t": b"\t", "r": b"\r", "a": b"\a", "b": b"\b", "f": b"\f",
              "v": b"\v", "?": b"?", "\"": b"\""}
    out = bytearray()
    raw = name.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        c = raw[i:i + 1]
        if c == b"\\" and i + 1 < len(raw):
            nxt = raw[i + 1:i + 2].decode("latin-1")
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            # tar also escapes ':' and other characters it uses itself: take them as they are
            out += simple.get(nxt, raw[i + 1:i + 2])
            i += 2
            continue
        out += c
        i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


class LiveChanges(object):
    """Paths (in-root) that vanished or changed while the scan read them."""

    def __init__(self):
        self.vanished = set()
        self.changed = set()

    def gone(self, inner):
        self.vanished.add(inner)
        self.changed.discard(inner)

    def touched(self, inner):
        if inner not in self.vanished:
            self.changed.add(inner)

    def __bool__(self):
        return bool(self.vanished or self.changed)

    __nonzero__ = __bool__

    def tar_messages(self, text):
        """Record what tar's stderr ``text`` says about vanished or changed files; returns
        the lines that say something else (real errors, or warnings to pass on)."""
        other = []
        for line in text.splitlines():
            line = line.rstrip("\r")
            if not line or _TAR_NOISE.match(line):
                continue
            m = _TAR_LINE.match(line)
            if not m:
                other.append(line)
                continue
            inner = "/" + _unescape(m.group("name")).lstrip("/")
            if inner.startswith("/./"):
                inner = inner[2:]
            if m.group("gone"):
                self.gone(inner)
            else:
                self.touched(inner)
        return other

    def report(self, owners=None):
        """The report's ``live`` section: counts, the first LIST_LIMIT paths of each kind,
        and the services that own them (``owners``: path -> service names)."""
        owners = owners or {}
        out = {}
        for kind, paths in (("vanished", self.vanished), ("changed", self.changed)):
            listed = sorted(paths)[:LIST_LIMIT]
            out[kind] = {"count": len(paths), "paths": listed}
        services = set()
        for path in list(self.vanished) + list(self.changed):
            services.update(owners.get(path, ()))
        out["services"] = sorted(services)
        return out


def stat_or_gone(host_path, inner, live):
    """``os.lstat`` that records a vanished file in ``live`` and returns None for it."""
    try:
        return os.lstat(host_path)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            live.gone(inner)
        return None


def read_member(host_path, inner, before, live):
    """Open a regular file for archiving without tar; None when it vanished. A size or
    mtime that moved between the walk's ``before`` stat and the open counts as changed."""
    try:
        fd = os.open(host_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            live.gone(inner)
        return None
    f = os.fdopen(fd, "rb")
    after = os.fstat(f.fileno())
    if not stat.S_ISREG(after.st_mode):
        f.close()
        live.gone(inner)
        return None
    if after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns:
        live.touched(inner)
    return f


def owning_services(paths, datadirs, services):
    """{path: [service, ...]} for ``paths`` (in-root): the stateful service whose data
    directory holds the path (``datadirs``: [(dir, service)]), else the enabled service
    named like the path's /var/lib, /var/spool, /var/log or /var/cache directory."""
    by_dir = sorted(datadirs, key=lambda d: -len(d[0]))
    names = set(services)
    out = {}
    for path in paths:
        found = [svc for d, svc in by_dir if path == d or path.startswith(d.rstrip("/") + "/")][:1]
        if not found:
            m = re.match(r"^/var/(?:lib|spool|log|cache)/([^/]+)", path)
            if m:
                base = m.group(1)
                found = sorted(n for n in names if n == base or n.startswith(base + "-")
                               or n.startswith(base + "@"))
        if found:
            out[path] = found
    return out
