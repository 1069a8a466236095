"""Safety checks on an overlay archive before anything is rendered or built.

The archive comes from the source server and is untrusted: a member may try to land
outside the image root through `..`, an absolute name, a hard link pointing out, or a
symlink member followed by a write through it.
"""
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


def member_problem(member, symlinks):
    """Why ``member`` may not be extracted, or None. ``symlinks`` holds earlier symlink names."""
    name = member.name
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


def check_archive(archive, compression):
    """Return a description of the first unsafe member, or None when the archive is safe."""
    symlinks = set()
    try:
        tar, proc = _open(archive, compression)
    except (tarfile.TarError, EOFError) as e:
        return "not a readable tar archive (%s)" % e
    try:
        for member in tar:
            problem = member_problem(member, symlinks)
            if problem:
                return problem
            if member.issym():
                # kept even if a later member reuses the name: tar may follow the old link
                symlinks.add(_norm(member.name))
    except (tarfile.TarError, EOFError) as e:
        return "not a readable tar archive (%s)" % e
    finally:
        tar.close()
        if proc:
            proc.stdout.close()
            proc.wait()
    if proc and proc.returncode not in (0, None):
        return "zstd could not decompress the archive"
    return None
