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
        return tarfile.open(fileobj=proc.stdout, mode="r|"), proc
    return tarfile.open(str(archive), mode="r|*"), None


def _norm(name):
    name = name[2:] if name.startswith("./") else name
    return name.rstrip("/")


def member_problem(member, symlinks):
    """Why ``member`` may not be extracted, or None. ``symlinks`` holds earlier symlink names."""
    name = member.name
    if name.startswith("/"):
        return "member %r has an absolute name" % name
    parts = _norm(name).split("/")
    if ".." in parts:
        return "member %r climbs out of the root with '..'" % name
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) in symlinks:
            return "member %r would be written through the symlink member %r" % (name, "/".join(parts[:i]))
    if member.islnk():
        target = member.linkname
        if target.startswith("/") or ".." in _norm(target).split("/"):
            return "hard link %r points outside the root (%r)" % (name, target)
    return None


def check_archive(archive, compression):
    """Return a description of the first unsafe member, or None when the archive is safe."""
    symlinks = set()
    tar, proc = _open(archive, compression)
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


