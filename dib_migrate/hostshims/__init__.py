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

SHIMS_DIR = Path(__file__).resolve().parent

# DIB's default security host (security.debian.org) answers 400 from some networks; the
# same content is served under /debian-security of the distribution mirror's host.
_DEFAULT_MIRROR = "http://deb.debian.org/debian"


def needs_shims():
    """True when the kernel has no device-mapper (kpartx cannot work)."""
    # the /dev/mapper/control node may exist (installing dmsetup creates it) on a kernel
    # without device-mapper; the kernel's own list of misc devices is the truth
    try:
        with open("/proc/misc") as f:
            return not any(line.split()[-1:] == ["device-mapper"] for line in f)
    except OSError:
        return not os.path.exists("/dev/mapper/control")


def security_mirror(distribution_mirror):
    """The debian-security URL on the same host as ``distribution_mirror``."""
    base = distribution_mirror.rstrip("/")
    if base.endswith("/debian"):
        return base[: -len("/debian")] + "/debian-security"
    return base + "-security"


def _ensure_executable():
    # package data may lose its x bit through some installers (wheels keep it, sdists
    # unpacked by old setuptools may not); DIB runs these as commands.
    for f in SHIMS_DIR.iterdir():
        if f.is_file() and f.suffix != ".py" and not os.access(f, os.X_OK):
            try:
                f.chmod(0o755)
            except OSError:
                pass


def host_env(environ=None, family="debian"):
    """Environment additions that make ``disk-image-create`` work on this host.

    ``environ`` defaults to ``os.environ``; ``family`` is the image's distro family
    (Debian-only settings are left out for others).
    """
    environ = os.environ if environ is None else environ
    add = {}
    if needs_shims():
        _ensure_executable()
        add["PATH"] = str(SHIMS_DIR) + os.pathsep + environ.get("PATH", os.defpath)
    if family == "debian":
        mirror = (environ.get("DIB_DEBIAN_DISTRIBUTION_MIRROR")
                  or environ.get("DIB_DISTRIBUTION_MIRROR") or _DEFAULT_MIRROR)
        if "DIB_DEBIAN_SECURITY_MIRROR" not in environ:
            add["DIB_DEBIAN_SECURITY_MIRROR"] = security_mirror(mirror)
        # debian-minimal writes `auto eth0/eth1` stanzas, which fail networking.service
        # when ifupdown is installed; the migrated network config is written by the
        # migrate elements instead.
        add.setdefault("DIB_APT_MINIMAL_CREATE_INTERFACES",
                       environ.get("DIB_APT_MINIMAL_CREATE_INTERFACES", "0"))
        # Both together mean: use the cached debootstrap tarball when it exists, else
        # debootstrap and write the cache (DIB only writes it when it did debootstrap).
        # Saves ~25 s per build. DIB_MIGRATE_NO_DEBOOTSTRAP_CACHE=1 turns it off.
        if environ.get("DIB_MIGRATE_NO_DEBOOTSTRAP_CACHE", "0") in ("", "0"):
            add.setdefault("DIB_DEBOOTSTRAP_CACHE", environ.get("DIB_DEBOOTSTRAP_CACHE", "1"))
            add.setdefault("DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE",
                           environ.get("DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE", "1"))
    return add
