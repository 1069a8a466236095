"""The single-file scanner: this package packed with zipapp, to copy onto a source server.

    python3 -m dib_migrate.scan.artifact /tmp/dib-migrate-scan.pyz      # prints the path
    scp /tmp/dib-migrate-scan.pyz root@old:/root/
    ssh root@old python3 /root/dib-migrate-scan.pyz -o /root/scan

The same sources always give the same bytes: members are sorted and carry a fixed
timestamp and mode, so a copy on a server can be checked against a fresh build by sha256.
"""
import argparse
import io
import os
import sys
import tempfile
import zipapp
import zipfile

ARTIFACT_NAME = "dib-migrate-scan.pyz"
INTERPRETER = "/usr/bin/env python3"
PACKAGE = "dib_migrate_scan"        # the package's name inside the archive: nothing to clash with
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry
MAIN = ("import sys\n\n"
        "from %s.cli import main\n\n"
        "sys.exit(main(sys.argv[1:]))\n" % PACKAGE)


def sources(package_dir=None):
    """Sorted (name in the archive, path on disk) of the scanner's modules."""
    package_dir = package_dir or os.path.dirname(os.path.abspath(__file__))
    out = []
    for dirpath, dirs, files in os.walk(package_dir):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, package_dir).replace(os.sep, "/")
                out.append((PACKAGE + "/" + rel, path))
    return sorted(out)


def _zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for arcname, data in members:
            info = zipfile.ZipInfo(arcname, FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    buf.seek(0)
    return buf


def build_artifact(dest):
    """Write the single-file scanner to ``dest`` and return its absolute path.

    ``dest`` is the file to write, or an existing directory to write ARTIFACT_NAME in. The
    file is a zipapp (``#!/usr/bin/env python3``, main: the scanner's command line) that
    needs Python 3.6+ and nothing else; it is written under a temporary name and renamed
    into place, mode 0755.
    """
    dest = os.path.abspath(dest)
    if os.path.isdir(dest):
        dest = os.path.join(dest, ARTIFACT_NAME)
    if not os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli.py")):
        raise RuntimeError("the scanner's sources are not on disk here (is this the artifact itself?)")
    members = [("__main__.py", MAIN.encode("utf-8"))]
    for arcname, path in sources():
        with open(path, "rb") as f:
            members.append((arcname, f.read()))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(dest) + ".", suffix=".tmp",
                               dir=os.path.dirname(dest))
    os.close(fd)
    try:
        zipapp.create_archive(_zip_bytes(sorted(members)), tmp, interpreter=INTERPRETER)
        os.chmod(tmp, 0o755)
        os.rename(tmp, dest)
    except BaseException:
        os.unlink(tmp)
        raise
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m dib_migrate.scan.artifact",
        description="Write the single-file scanner (a zipapp) to copy onto a source server; prints its path.")
    parser.add_argument("dest", nargs="?", default=ARTIFACT_NAME,
                        help="file to write, or a directory to write %s in (default: ./%s)"
                        % (ARTIFACT_NAME, ARTIFACT_NAME))
    args = parser.parse_args(argv)
    try:
        path = build_artifact(args.dest)
    except (OSError, RuntimeError) as e:
        sys.stderr.write("dib-migrate scan artifact: error: %s\n" % e)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
