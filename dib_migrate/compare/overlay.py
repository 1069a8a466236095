"""The overlay's members against the image: content, type, owner, mode. After a resync, the
overlay is the first one with the deltas laid over it (resync/record.py's Layers), and a
path a delta deleted must be gone.

Also what the source's own files say about facts a report does not hold (its sysctl
settings, its machine-id and host keys), read from the same archive.
"""
import hashlib
import os
import re
import stat
import tarfile

from ..verify.archive import open_tar, sha256_file
from ..verify.checks import SERVICE_DIRS

# compared as facts elsewhere (accounts, fstab, hostname, identity, unit states): not as files
FACT_PATHS = {"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/passwd-", "/etc/group-",
              "/etc/shadow-", "/etc/gshadow-", "/etc/fstab", "/etc/hostname", "/etc/hosts",
              "/etc/machine-id", "/var/lib/dbus/machine-id", "/etc/resolv.conf"}
FACT_PATTERNS = re.compile(r"^/etc/ssh/ssh_host_[^/]*$")
SERVICE_LINKS = re.compile(r"^/etc/(systemd/system/|rc[0-6S]\.d/|rc\.d/rc[0-6]\.d/)")


def _kind(m):
    # a hard link member is a regular file of the source (a second name of it)
    return "symlink" if m.issym() else "dir" if m.isdir() else "file" if m.isfile() or m.islnk() else "other"


def _host_kind(st):
    return ("symlink" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
            else "file" if stat.S_ISREG(st.st_mode) else "other")


def compared_elsewhere(path, kind):
    """Facts compared as such (accounts, fstab, identity, ...; unit states as services), not as files."""
    return path in FACT_PATHS or bool(FACT_PATTERNS.match(path)) or (kind == "symlink" and SERVICE_LINKS.match(path)) \
        or (kind == "dir" and SERVICE_DIRS.match(path))


def member_rows(layers, root, seen=None):
    """(path, what, source, image) for every overlay member the image does not have as the source had it.

    ``layers``: the image's archives (a resync.record.Layers). ``what`` is missing, type,
    content, target (a symlink's), mode, owner, or present (deleted by a delta). Also returns
    the source facts the archives hold: ({sysctl key: (value, file)}, {"machine_id",
    "ssh_host_keys", "resolv"}). ``seen``, a set, gets every member's path.
    """
    from .facts import _sysctl_lines, SYSCTL_DIRS
    rows, sysctl_files, ident = [], {}, {"machine_id": None, "ssh_host_keys": {}, "resolv": None}
    root = str(root)
    for path, m, tar, _layer in layers.members():
        if path == "/":
            continue
        if seen is not None:
            seen.add(path)
        if m.isfile() and (path == "/etc/sysctl.conf" or os.path.dirname(path) in SYSCTL_DIRS
                           and path.endswith(".conf")):
            sysctl_files[path] = tar.extractfile(m).read().decode("utf-8", "surrogateescape")
        if m.isfile() and path == "/etc/resolv.conf":
            ident["resolv"] = tar.extractfile(m).read().decode("utf-8", "surrogateescape")
        if m.isfile() and path == "/etc/machine-id":
            ident["machine_id"] = tar.extractfile(m).read().decode().strip() or None
        if m.isfile() and FACT_PATTERNS.match(path) and path.endswith(".pub"):
            words = tar.extractfile(m).read().decode("utf-8", "replace").split()
            if len(words) >= 2:
                ident["ssh_host_keys"][os.path.basename(path)] = hashlib.sha256(words[1].encode()).hexdigest()[:16]
        if compared_elsewhere(path, _kind(m)):
            continue
        host = os.path.join(root, path.lstrip("/"))
        try:
            st = os.lstat(host)
        except OSError:
            rows.append((path, "missing", _kind(m), None))
            continue
        if _kind(m) != _host_kind(st):
            rows.append((path, "type", _kind(m), _host_kind(st)))
            continue
        if m.issym():
            if os.readlink(host) != m.linkname:
                rows.append((path, "target", m.linkname, os.readlink(host)))
            continue
        if m.isfile():
            if hashlib.sha256(tar.extractfile(m).read()).hexdigest() != sha256_file(host):
                rows.append((path, "content", "%d bytes" % m.size, "%d bytes" % st.st_size))
        elif not m.isdir():
            continue
        if stat.S_IMODE(st.st_mode) != m.mode & 0o7777:
            rows.append((path, "mode", "%o" % (m.mode & 0o7777), "%o" % stat.S_IMODE(st.st_mode)))
        if (st.st_uid, st.st_gid) != (m.uid, m.gid):
            rows.append((path, "owner", "%d:%d" % (m.uid, m.gid), "%d:%d" % (st.st_uid, st.st_gid)))
    for path in sorted(layers.gone):
        host = os.path.join(root, path.lstrip("/"))
        if os.path.lexists(host) and not compared_elsewhere(path, _host_kind(os.lstat(host))):
            rows.append((path, "present", None, _host_kind(os.lstat(host))))
    sysctl = {}
    names = {}
    for path in sysctl_files:
        if path != "/etc/sysctl.conf":
            names[os.path.basename(path)] = path
    for name in sorted(names):
        for key, value in _sysctl_lines(sysctl_files[names[name]]):
            sysctl[key] = (value, names[name])
    for key, value in _sysctl_lines(sysctl_files.get("/etc/sysctl.conf")):
        sysctl[key] = (value, "/etc/sysctl.conf")
    return rows, sysctl, ident


def absent_rows(source, root):
    """(path, "present", None, kind) for each path the source's packages install, that the source lacks
    (the report's absent_package_files) and that the image has."""
    rows = []
    for item in source.get("absent_package_files") or ():
        host = os.path.join(str(root), item["path"].lstrip("/"))
        if os.path.lexists(host):
            rows.append((item["path"], "present", None, _host_kind(os.lstat(host))))
    return rows


def readable(archive):
    try:
        with open_tar(archive):
            return True
    except (OSError, tarfile.TarError):
        return False
