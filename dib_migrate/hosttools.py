"""The build host's tools: find disk-image-create and say what to install when something is missing.

dib-migrate is usually installed in a virtualenv that nobody activates: DIB's scripts then sit next
to the running interpreter, not on PATH. They are looked for there first, and that directory is put
first in the build's PATH so DIB finds its own helpers (dib-run-parts, element-info, dib-block-device).
"""
import os
import shutil
import sys
from pathlib import Path

from .errors import ToolMissing

# tool -> Debian package that provides it (tools/setup-host installs them all)
HOST_TOOLS = {
    "qemu-img": "qemu-utils",
    "sgdisk": "gdisk",
    "mkfs.ext4": "e2fsprogs",
    "losetup": "mount",
    "partx": "util-linux",
    "uuidgen": "uuid-runtime",
    "zstd": "zstd",
    "sudo": "sudo",
}
# base elements that bootstrap with debootstrap
DEBOOTSTRAP_ELEMENTS = ("debian-minimal", "ubuntu-minimal")


def own_bin():
    """The directory of the running interpreter's scripts (the virtualenv's bin/)."""
    return Path(sys.executable).parent


def find(tool, path=None):
    """``tool`` next to the interpreter, else on PATH; None when absent."""
    local = own_bin() / tool
    if local.is_file() and os.access(str(local), os.X_OK):
        return str(local)
    found = shutil.which(tool, path=path)
    if found is None and path is None:     # a non-root PATH often lacks the sbin directories
        found = shutil.which(tool, path=os.pathsep.join(("/usr/local/sbin", "/usr/sbin", "/sbin")))
    return found


def disk_image_create():
    """DIB's entry point: $DIB_MIGRATE_DIB (another installation), beside the interpreter, or on PATH."""
    override = os.environ.get("DIB_MIGRATE_DIB")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise ToolMissing("DIB_MIGRATE_DIB=%s is not an executable file" % override)
        return override
    found = find("disk-image-create")
    if not found:
        raise ToolMissing("disk-image-create was found neither next to %s nor on PATH: install diskimage-builder "
                          "in the same environment (`%s -m pip install diskimage-builder`) or run tools/setup-host"
                          % (sys.executable, sys.executable))
    return found


def check(elements, path=None):
    """Raise ToolMissing naming every absent host tool the build of ``elements`` needs, with its package."""
    needed = dict(HOST_TOOLS)
    if any(e in DEBOOTSTRAP_ELEMENTS for e in elements):
        needed["debootstrap"] = "debootstrap"
    missing = sorted((t, p) for t, p in needed.items() if not find(t, path))
    if missing:
        raise ToolMissing("the build host lacks %s; install with: apt-get install %s (or run tools/setup-host)" % (
            ", ".join(t for t, _ in missing), " ".join(sorted({p for _, p in missing}))))
