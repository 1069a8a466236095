"""Reading an overlay archive as the image received it: verify, compare and the resync record
(dib_migrate/resync/record.py) open archives and name their members through these."""
import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class open_tar:
    """tarfile for gzip/xz/bz2/plain, and zstd (which tarfile cannot read) through a
    decompressed temporary copy."""

    def __init__(self, path):
        self.path, self.tmp = Path(path), None

    def __enter__(self):
        with open(self.path, "rb") as f:
            magic = f.read(4)
        src = self.path
        if magic == b"\x28\xb5\x2f\xfd":
            self.tmp = tempfile.NamedTemporaryFile(suffix=".tar")
            subprocess.run(["zstd", "-dcq", str(self.path)], stdout=self.tmp, check=True)
            self.tmp.flush()
            src = self.tmp.name
        self.tar = tarfile.open(src)
        return self.tar

    def __exit__(self, *exc):
        self.tar.close()
        if self.tmp:
            self.tmp.close()


def member_path(name):
    """An archive member's absolute path: "./" prefixes go, a dotfile keeps its dot."""
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    return "/" + name if name != "." else "/"
