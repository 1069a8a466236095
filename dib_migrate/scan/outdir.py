"""The output directory: checked writable up front, files written under temporary names.

OUTDIR belongs to the operator unless dib-migrate wrote it: a scan writes into a new or empty
directory, or one holding the marker an earlier scan left (the same file name as
dib_migrate.outputs.MARK; the scanner runs alone on servers, so it cannot import it).
"""
import json
import os
import re
import tempfile

from .errors import ScanRefused

MARK = ".dib-migrate.json"
OUTPUTS = ("report.yaml", "overlay.tar.gz", "overlay.tar.zst", "manifest.json.gz", MARK)
_TEMP = re.compile(r"^\.(overlay|report|manifest)\..*\.tmp$")


def _is_ours(outdir):
    try:
        with open(os.path.join(outdir, MARK)) as f:
            mark = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(mark, dict) and mark.get("tool") == "dib-migrate" and mark.get("kind") == "scan"


def _claim(outdir):
    """Refuse a directory holding the operator's files; mark a new one; drop a killed scan's temporaries."""
    names = os.listdir(outdir)
    if _is_ours(outdir):
        for name in names:
            if _TEMP.match(name):
                unlink_quietly(os.path.join(outdir, name))
        return
    if names:
        raise ScanRefused("output directory %s is not empty and was not written by a scan (%s); dib-migrate never "
                          "replaces what it did not write: choose a new or empty directory"
                          % (outdir, ", ".join(sorted(names)[:3])))
    with open(os.path.join(outdir, MARK), "w") as f:
        json.dump({"tool": "dib-migrate", "kind": "scan"}, f)
        f.write("\n")


def prepare_outdir(outdir):
    if os.path.lexists(outdir) and not os.path.isdir(outdir):
        raise ScanRefused("output %s is a file, not a directory; dib-migrate never replaces what it did not write"
                          % outdir)
    try:
        if not os.path.isdir(outdir):
            os.makedirs(outdir, 0o700)
        _claim(outdir)
        fd, probe = tempfile.mkstemp(prefix=".dib-migrate-probe-", dir=outdir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ScanRefused("output directory %s is not writable: %s" % (outdir, e.strerror or e))
    return os.path.abspath(outdir)


def private_tempfile(outdir, name):
    """A 0600 file under a temporary name in OUTDIR, renamed into place when complete."""
    fd, path = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=outdir)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb"), path


def unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
