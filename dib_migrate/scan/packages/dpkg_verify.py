"""dpkg package files against their md5sums, hashed in background threads."""
import errno
import hashlib
import os
import stat
import threading
import time

from ..progress import human_bytes
from .dpkg import dpkg_installed
from .files import PackageFiles


def unchanged_since_install(path, installed_ns):
    """True when the host ``path`` is a regular file whose ctime is older than
    ``installed_ns`` (see install_times()): dpkg wrote it before it recorded its package as
    installed, and nothing has written, chmod'ed, chown'ed, renamed or linked it since (each
    of those sets ctime to the current time, and no system call sets it back)."""
    if installed_ns is None:
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    # strictly older: a write in the same clock tick as dpkg's own is hashed
    return stat.S_ISREG(st.st_mode) and st.st_ctime_ns < installed_ns


def md5_matches(job):
    """(host path, expected md5) -> (matches?, bytes read); unreadable files count as differing."""
    return _md5_compare(job[0], job[1])


def _md5_compare(path, expected):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOATIME", 0))
    except OSError as e:
        if e.errno == errno.EPERM:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                return (None, 0)
        elif e.errno == errno.ELOOP:
            return (False, 0)       # the admin replaced the file with a symlink: archive the link
        else:
            return (None, 0)        # deleted by the admin: nothing to archive
    digest = hashlib.md5()
    size = 0
    # one reusable buffer per thread: a fresh 1 MiB bytes object per read costs more than
    # hashing the typical small package file
    buf = getattr(_buffers, "buf", None)
    if buf is None:
        buf = _buffers.buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            n = os.readv(fd, [buf])
            if not n:
                break
            size += n
            digest.update(view[:n])
    except OSError:
        return (False, size)
    finally:
        view.release()
        os.close(fd)
    return (digest.hexdigest() == expected, size)


_buffers = threading.local()


def dpkg_diversions(root):
    """path -> (diverted-to path, diverting package) from /var/lib/dpkg/diversions."""
    lines = (root.read("/var/lib/dpkg/diversions") or "").split("\n")
    out = {}
    for i in range(0, len(lines) - 2, 3):
        out[lines[i]] = (lines[i + 1], lines[i + 2])
    return out


def _read_info(info_dir, name):
    """Text of a file in dpkg's info directory (host path), '' when missing; a symlink there
    is not dpkg's and is not followed (it could point out of the scanned root)."""
    try:
        fd = os.open(os.path.join(info_dir, name), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        return f.read().decode("utf-8", "surrogateescape")


def install_times(root, entries):
    """{package entry of info/ (name or name:arch): install time in ns, or None when unknown}.

    dpkg unpacks a package in this order (src/main/unpack.c): every file is written as
    <path>.dpkg-new and renamed into place, then info/<pkg>.list is written, then the control
    files, md5sums among them, are renamed into info/. So every file of that unpack has a
    ctime no later than both the .list's mtime and the .md5sums' ctime. The smaller of the two
    is taken: dpkg rewrites another package's .list when it takes over one of its files, and
    `debsums --generate=keep` writes a .md5sums long after the install, and either would
    otherwise move the install time later and hide an earlier edit. The .md5sums' mtime is
    the package's build time (dpkg keeps it from the .deb), so it is not used. Conffiles
    are not covered: dpkg moves them into place when it configures the package, after all
    this, and keeps an admin's version across upgrades, so they are always hashed.
    """
    info = root.real("/var/lib/dpkg/info")
    out = {}
    for entry in entries:
        try:
            listed = os.lstat(os.path.join(info, entry + ".list")).st_mtime_ns
            sums = os.lstat(os.path.join(info, entry + ".md5sums")).st_ctime_ns
        except OSError:
            out[entry] = None
            continue
        out[entry] = min(listed, sums)
    return out


def dpkg_package_files(root, status_records, progress, threads, thorough=False):
    result = PackageFiles("thorough" if thorough else "ctime")
    info = "/var/lib/dpkg/info"
    installed = _installed_entries(status_records)
    conffiles = {}
    for rec in status_records:
        if dpkg_installed(rec):
            for path, md5 in rec.get("Conffiles", []):
                conffiles[path] = (md5, rec.get("Package", ""))
    diversions = dpkg_diversions(root)
    jobs = {}
    listing = root.listdir(info)
    info_dir = root.real(info)
    sums_entries = [e[:-8] for e in listing if e.endswith(".md5sums") and e[:-8] in installed]
    installed_at = {} if thorough else install_times(root, sums_entries)
    now_ns = int(time.time() * 1e9)
    future = [e for e, t in installed_at.items() if t is not None and t > now_ns]
    if future:
        # the clock has gone back since those installs: a later edit may carry an older ctime
        progress.warn("%d packages were installed after this scan's clock time (%s, ...); hashing every "
                      "package file" % (len(future), sorted(future)[0]))
        installed_at = {}
        result.method = "thorough"
    for entry in sums_entries:
        package = entry.split(":")[0]
        when = installed_at.get(entry)
        for line in _read_info(info_dir, entry + ".md5sums").splitlines():
            if len(line) < 35:
                continue
            md5, path = line[:32], "/" + line[34:]
            diverted = diversions.get(path)
            if diverted and diverted[1] != package:
                path = diverted[0]    # another package moved this one aside
            path = root.canonical(path)
            if path in jobs:
                # a file in two packages (Multi-Arch: same): the earlier install time is the safe one
                earlier = jobs[path][1]
                when_here = None if (earlier is None or when is None) else min(earlier, when)
            else:
                when_here = when
            jobs[path] = (md5, when_here)
    for path, (md5, package) in conffiles.items():
        if md5 in ("newconffile", ""):
            continue
        jobs[root.canonical(path)] = (md5, None)    # always hashed, see install_times()
    progress.phase("verifying %d package files against dpkg md5sums (%s, in the background)"
                   % (len(jobs), "every file hashed" if result.method == "thorough"
                      else "files unchanged since their install skipped"))
    result._finish = _start_verify(root, jobs, result, progress, threads)
    # ownership is only needed once the walk starts: read it while the threads hash
    _read_ownership(root, listing, installed, diversions, result)
    return result


def dpkg_owned_files(root, status_records):
    """Which paths packages own and which of those the source lacks, from dpkg's lists alone
    (nothing hashed): what a delta scan needs to see a package file removed since the last scan."""
    result = PackageFiles(None)
    _read_ownership(root, root.listdir("/var/lib/dpkg/info"), _installed_entries(status_records),
                    dpkg_diversions(root), result)
    return result


def _installed_entries(status_records):
    """The names dpkg's info files of installed packages go by: ``name`` and ``name:arch``."""
    installed = set()
    for rec in status_records:
        if dpkg_installed(rec):
            installed.add(rec.get("Package", ""))
            installed.add("%s:%s" % (rec.get("Package", ""), rec.get("Architecture", "")))
    return installed


def _read_ownership(root, listing, installed, diversions, result):
    info_dir = root.real("/var/lib/dpkg/info")
    for entry in listing:
        if entry.endswith(".list") and entry[:-5] in installed:
            package = entry[:-5].split(":")[0]
            for line in _read_info(info_dir, entry).splitlines():
                if line.startswith("/") and line != "/.":
                    path = root.canonical(line)
                    result.owned.add(path)
                    # a diverted path holds another package's file, or nothing, by design
                    if line not in diversions and not os.path.lexists(root.host(path)):
                        result.absent.setdefault(path, package)
    for path, (to, _pkg) in diversions.items():
        result.owned.add(root.canonical(to))


def _start_verify(root, jobs, result, progress, threads):
    """Check ``jobs`` ({in-root path: (md5, install time in ns or None)}) on ``threads``
    threads; the returned function waits for them and fills result.changed.

    hashlib and file reads release the GIL, so plain threads scale, and the scan goes on
    walking the tree meanwhile; each thread takes every n-th file (no per-file task objects).
    """
    items = sorted(jobs.items())
    work = [(root.host(path), md5) for path, (md5, _when) in items]
    outcomes = [None] * len(work)
    counters = [[0, 0] for _ in range(max(1, threads))]
    # The ctime checks run here, before the threads start: a stat each, mostly Python work;
    # in the threads they took turns on the GIL with the scan's main thread and slowed both.
    todo = []
    for i, (_path, (_md5, when)) in enumerate(items):
        if unchanged_since_install(work[i][0], when):
            outcomes[i] = (True, 0, False)
        else:
            todo.append(i)

    def worker(index):
        count = counters[index]
        for i in todo[index::len(counters)]:
            matches, size = md5_matches(work[i])
            outcomes[i] = (matches, size, True)
            count[0] += 1
            count[1] += size

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(len(counters))]
    for thread in pool:
        thread.daemon = True
        thread.start()

    def finish():
        for thread in pool:
            while thread.is_alive():
                thread.join(0.5)
                done = sum(c[0] for c in counters)
                done_bytes = sum(c[1] for c in counters)
                progress.tick("%d/%d files hashed, %s" % (done, len(todo), human_bytes(done_bytes)))
        for (path, _job), (matches, size, hashed) in zip(items, outcomes):
            result.verified_files += 1
            if hashed:
                result.hashed_files += 1
                result.hashed_bytes += size
            else:
                result.skipped_files += 1
            if matches is False:
                result.changed.add(path)
    return finish
