"""Safety checks on an overlay archive before anything is rendered or built.

The archive comes from the source server and is untrusted: a member may try to land
outside the image root through `..`, an absolute name, a hard link pointing out, or a
symlink member followed by a write through it.
"""
import functools
import subprocess
import tarfile


def _open(archive, compression):
    if compression == "zstd":
        proc = subprocess.Popen(["zstd", "-dcq", str(archive)], stdout=subprocess.PIPE)
        try:
            return tarfile.open(fileobj=proc.stdout, mode="r|"), proc
        except BaseException:
            proc.kill()
            proc.stdout.close()
            proc.wait()
            raise
    return tarfile.open(str(archive), mode="r|*"), None


def _norm(name):
    """The path tar writes to: ``./``, empty and ``.`` components dropped (``././a//b/`` is ``a/b``)."""
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _through_symlink(name, symlinks):
    """The earlier symlink member that a path ``name`` would pass through, or None."""
    parts = _norm(name).split("/")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in symlinks:
            return "/".join(parts[:i])
    return None


def member_problem(member, symlinks, mode="changed"):
    """Why ``member`` may not be extracted, or None. ``symlinks`` holds earlier symlink names.

    Device nodes and FIFOs belong to a whole-root (``full``) overlay's /dev only: anywhere else a
    node such as a world-writable copy of /dev/mem is a way into the new machine's memory.
    """
    name = member.name
    if member.ischr() or member.isblk() or member.isfifo():
        kind = "character device" if member.ischr() else "block device" if member.isblk() else "FIFO"
        if not (mode == "full" and _norm(name).startswith("dev/")):
            return "member %r is a %s; device nodes and FIFOs are only carried in a full overlay's /dev" % (
                name, kind)
    if name.startswith("/"):
        return "member %r has an absolute name" % name
    if ".." in _norm(name).split("/"):
        return "member %r climbs out of the root with '..'" % name
    link = _through_symlink(name, symlinks)
    if link:
        return "member %r would be written through the symlink member %r" % (name, link)
    if member.islnk():
        target = member.linkname
        if target.startswith("/") or ".." in _norm(target).split("/"):
            return "hard link %r points outside the root (%r)" % (name, target)
        link = _through_symlink(target, symlinks)
        if link:
            return "hard link %r points through the symlink member %r (%r)" % (name, link, target)
    return None


def drain(proc):
    """Read a decompressor's output to its end. tarfile stops at the archive's end-of-archive
    blocks, and closing the pipe then kills a zstd still writing the last record's padding
    with EPIPE: a sound archive would fail, depending on timing."""
    if proc is not None:
        while proc.stdout.read(1 << 16):
            pass


def check_archive(archive, compression, mode="changed"):
    """Return a description of the first unsafe member, or None when the archive is safe."""
    return inspect_archive(archive, compression, mode)[0]


def inspect_archive(archive, compression, mode="changed"):
    """(first problem or None, setuid/setgid regular files as ``/path``) of an overlay archive."""
    symlinks, privileged = set(), []
    try:
        tar, proc = _open(archive, compression)
    except (tarfile.TarError, EOFError) as e:
        return "not a readable tar archive (%s)" % e, ()
    try:
        for member in tar:
            problem = member_problem(member, symlinks, mode)
            if problem:
                return problem, ()
            if member.isreg() and member.mode & 0o6000:
                privileged.append("/" + _norm(member.name))
            if member.issym():
                # kept even if a later member reuses the name: tar may follow the old link
                symlinks.add(_norm(member.name))
        drain(proc)
    except (tarfile.TarError, EOFError) as e:
        return "not a readable tar archive (%s)" % e, ()
    finally:
        tar.close()
        if proc:
            proc.stdout.close()
            proc.wait()
    if proc and proc.returncode not in (0, None):
        return "zstd could not decompress the archive", ()
    return None, tuple(privileged)


@functools.lru_cache(maxsize=8)
def _members(archive, compression):
    """(path, size) of every member of the archive (read once per archive and process)."""
    out = []
    tar, proc = _open(archive, compression)
    try:
        for m in tar:
            out.append(("/" + _norm(m.name), m.size if m.isfile() else 0))
    finally:
        tar.close()
        if proc:
            proc.stdout.close()
            proc.wait()
    return tuple(out)


def carried_under(archive, compression, directory):
    """(files, bytes) the archive holds below ``directory`` (the directory itself not counted)."""
    prefix = directory.rstrip("/") + "/"
    hits = [size for path, size in _members(str(archive), compression) if path.startswith(prefix)]
    return len(hits), sum(hits)


def carries(archive, compression, path):
    """Whether the archive holds ``path`` itself."""
    return any(p == path for p, _size in _members(str(archive), compression))
