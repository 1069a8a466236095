"""The output directory: checked writable up front, files written under temporary names."""
import os
import tempfile

from .errors import ScanRefused


def prepare_outdir(outdir):
    try:
        if not os.path.isdir(outdir):
            os.makedirs(outdir, 0o700)
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
