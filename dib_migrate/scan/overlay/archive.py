"""The overlay archive: GNU tar (xattrs, ACLs) or tarfile, compressed with zstd or gzip."""
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading

from ..live import LiveChanges, read_member, stat_or_gone


def gnu_tar_flags():
    """GNU tar's flags for xattrs/ACLs where this tar has them; None when there is no GNU tar."""
    try:
        proc = subprocess.Popen(["tar", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = proc.communicate()[0].decode("utf-8", "replace")
    except OSError:
        return None
    if "--no-recursion" not in out or "--null" not in out:
        return None
    flags = []
    for flag in ("--xattrs", "--acls", "--selinux"):
        if flag in out:
            flags.append(flag)
    if "--xattrs-include" in out:
        flags.append("--xattrs-include=*")
    if "--verbatim-files-from" in out:
        flags.append("--verbatim-files-from")
    if "--index-file" in out:
        flags.append("--index-file")      # a marker for write_archive: members can be counted
    return flags


def compressor():
    """(argv, archive suffix): zstd where it exists, else gzip."""
    if shutil.which("zstd"):
        return (["zstd", "-q", "-c", "-T0", "-3"], ".zst")
    if shutil.which("gzip"):
        return (["gzip", "-c", "-6"], ".gz")
    return (None, ".gz")


def write_archive(root, paths, fileobj, progress, live=None):
    """Write a PAX tar of ``paths`` (in-root) to ``fileobj``, compressed; returns the suffix.

    Files that vanish or change while they are read go to ``live`` (a LiveChanges) and do
    not fail the archive: on a running server that is normal."""
    live = live if live is not None else LiveChanges()
    argv, suffix = compressor()
    flags = gnu_tar_flags()
    if flags is not None:
        counted = "--index-file" in flags
        flags = [f for f in flags if f != "--index-file"]
        names = [p.lstrip("/") for p in paths]
        if "--verbatim-files-from" not in flags:
            names = ["./" + n for n in names]    # old tar takes a leading '-' for an option
        listing = tempfile.NamedTemporaryFile(prefix="dib-migrate-scan-", suffix=".list")
        try:
            listing.write(b"\0".join(n.encode("utf-8", "surrogateescape") for n in names) + b"\0")
            listing.flush()
            tar_argv = (["tar", "--create", "--format=pax", "--numeric-owner", "--no-recursion", "--null",
                         "--sparse", "-C", root.path] + flags + ["-T", listing.name, "-f", "-"])
            _pipe_tar(tar_argv, argv, fileobj, progress, live, len(names) if counted else None)
        finally:
            listing.close()
        return suffix
    progress.warn("GNU tar not found: archiving with Python's tarfile (no xattrs or ACLs)")
    if argv is None:
        with gzip.GzipFile(fileobj=fileobj, mode="wb", mtime=0) as gz:
            _tarfile_archive(root, paths, gz, live)
        return ".gz"
    comp = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=fileobj)
    _tarfile_archive(root, paths, comp.stdin, live)
    comp.stdin.close()
    if comp.wait() != 0:
        raise RuntimeError("%s failed" % argv[0])
    return suffix


def _count_members(fd, total, progress):
    """Count tar's verbose listing (one line per member archived) as it comes."""
    done = 0
    with os.fdopen(fd, "rb") as listing:
        for _ in listing:
            done += 1
            progress.tick("archived %d/%d entries" % (done, total))
    progress.tick("archived %d/%d entries" % (done, total), force=True)


def _pipe_tar(tar_argv, comp_argv, fileobj, progress, live, total=None):
    stderr = tempfile.TemporaryFile()
    # C locale: tar's messages are matched by their English text (live.LiveChanges)
    env = dict(os.environ, LC_ALL="C")
    fds = []            # the listing pipe's (read, write) ends while this process still holds them
    if total is not None:
        # the verbose listing goes to a pipe of its own: stdout is the archive, stderr tar's complaints
        fds = list(os.pipe())
        tar_argv = tar_argv[:1] + ["--verbose", "--index-file=/dev/fd/%d" % fds[1]] + tar_argv[1:]
    try:
        tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE, stderr=stderr, pass_fds=tuple(fds[1:]), env=env)
        counter = None
        if fds:
            os.close(fds.pop())           # tar holds the write end: EOF comes when it exits
            counter = threading.Thread(target=_count_members, args=(fds.pop(), total, progress))
            counter.daemon = True
            counter.start()
        if comp_argv is None:
            with gzip.GzipFile(fileobj=fileobj, mode="wb", mtime=0) as gz:
                shutil.copyfileobj(tar.stdout, gz, 1 << 20)
            comp_rc = 0
        else:
            comp = subprocess.Popen(comp_argv, stdin=tar.stdout, stdout=fileobj)
            tar.stdout.close()
            comp_rc = comp.wait()
        tar_rc = tar.wait()
        if counter is not None:
            counter.join(60)
    finally:
        for fd in fds:
            os.close(fd)
    stderr.seek(0)
    messages = stderr.read().decode("utf-8", "replace").strip()
    stderr.close()
    other = live.tar_messages(messages)
    for line in other[:20]:
        progress.warn(line)
    # GNU tar exits 1 when a file changed while it was read and 2 when one vanished before it
    # was read: both are normal on a live system. Exit 2 with any other message is an error.
    if comp_rc != 0 or tar_rc not in (0, 1, 2) or (tar_rc == 2 and other):
        raise RuntimeError("archiving failed (tar exit %s, compressor exit %s)%s"
                           % (tar_rc, comp_rc, (": " + other[0]) if other else ""))


def _tarfile_archive(root, paths, stream, live):
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for inner in paths:
            host_path = root.host(inner)
            before = stat_or_gone(host_path, inner, live)
            if before is None:
                continue
            try:
                info = tar.gettarinfo(host_path, arcname=inner.lstrip("/"))
            except OSError:
                live.gone(inner)
                continue
            if info is None:
                continue
            info.uname = info.gname = ""     # numeric owners only
            if info.isreg():
                f = read_member(host_path, inner, before, live)
                if f is None:
                    continue
                with f:
                    # the size tar writes is the one it stat'ed: a file that grew is cut there,
                    # one that shrank fails the member (tarfile cannot pad): counted as changed
                    try:
                        tar.addfile(info, f)
                    except (OSError, IOError):
                        live.touched(inner)
                        raise
            else:
                tar.addfile(info)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()
