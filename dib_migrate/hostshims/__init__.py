"""What disk-image-create needs from *this* host to work.

Some build hosts (containers, minimal VM kernels) lack device-mapper and vfat. DIB's
block-device layer calls ``kpartx``/``dmsetup`` and mounts the EFI partition as vfat, so
on such a host it fails. The executables beside this file are small replacements
(kpartx/dmsetup through ``partx`` BLKPG partitions, vfat through FUSE ``fusefat``, and a
``sudo`` that keeps PATH so DIB's ``sudo kpartx`` still finds the shim). They are put
first in PATH only where the host lacks device-mapper: a normal host needs none of them.

``host_env()`` returns the environment *additions* for ``disk-image-create``; callers
merge them over ``os.environ`` (values already set by the user win, except PATH, which
is prefixed).
"""
import os
from pathlib import Path

from ..distros import FAMILIES

SHIMS_DIR = Path(__file__).resolve().parent


def needs_shims():
    """True when the kernel has no device-mapper (kpartx cannot work)."""
    # the /dev/mapper/control node may exist (installing dmsetup creates it) on a kernel
    # without device-mapper; the kernel's own list of misc devices is the truth
    try:
        with open("/proc/misc") as f:
            return not any(line.split()[-1:] == ["device-mapper"] for line in f)
    except OSError:
        return not os.path.exists("/dev/mapper/control")


def _ensure_executable():
    # package data may lose its x bit through some installers (wheels keep it, sdists
    # unpacked by old setuptools may not); DIB runs these as commands.
    for f in SHIMS_DIR.iterdir():
        if f.is_file() and f.suffix != ".py" and not os.access(f, os.X_OK):
            try:
                f.chmod(0o755)
            except OSError:
                pass


def host_env(environ=None, family=None):
    """Environment additions that make ``disk-image-create`` work on this host.

    ``environ`` defaults to ``os.environ``; ``family`` is the image's distro family (a name of
    ``distros.FAMILIES``), whose class adds what its DIB elements need.
    """
    environ = os.environ if environ is None else environ
    add = {}
    if needs_shims():
        _ensure_executable()
        add["PATH"] = str(SHIMS_DIR) + os.pathsep + environ.get("PATH", os.defpath)
    if family:
        add.update(FAMILIES[family].build_host_env(environ))
    return add
