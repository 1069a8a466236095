"""Refuse a tar archive whose members could land outside the root it is unpacked into.

Usage: python3 tarcheck.py ARCHIVE.tar

Exit 0 when every member is safe; otherwise print one line per problem and exit 1.
Refused: absolute names, ``..`` components, members (or hard-link targets) that
pass through a symlink member of the same archive, hard links with absolute or
``..`` targets, and anything below proc/, sys/ or dev/ (bind mounts of the build
host inside the chroot).
"""
import sys
import tarfile

PSEUDO = ("proc", "sys", "dev")


def parts_of(name):
    return [p for p in name.split("/") if p not in ("", ".")]


def problems(path):
    symlinks = set()
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            name = member.name
            parts = parts_of(name)
            if name.startswith("/"):
                yield "absolute member name: %r" % name
                continue
            if ".." in parts:
                yield "member name with '..': %r" % name
                continue
            if not parts:
                continue
            if len(parts) > 1 and parts[0] in PSEUDO:
                yield "member inside /%s: %r" % (parts[0], name)
                continue
            for i in range(1, len(parts)):
                if "/".join(parts[:i]) in symlinks:
                    yield "member written through symlink member %r: %r" % ("/".join(parts[:i]), name)
                    break
            if member.islnk():
                target = member.linkname
                tparts = parts_of(target)
                if target.startswith("/") or ".." in tparts:
                    yield "hard link %r with unsafe target %r" % (name, target)
                for i in range(1, len(tparts)):
                    if "/".join(tparts[:i]) in symlinks:
                        yield "hard link %r through symlink member: %r" % (name, target)
                        break
            key = "/".join(parts)
            if member.issym():
                symlinks.add(key)
            else:
                symlinks.discard(key)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: tarcheck.py ARCHIVE\n")
        return 2
    bad = list(problems(argv[1]))
    for line in bad:
        sys.stderr.write("tarcheck: %s\n" % line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
