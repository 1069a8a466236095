"""Open a disk image read-only and mount its root filesystem.

No device-mapper (kpartx) and no nbd module are assumed: qcow2/VHD are converted to a
sparse temporary raw file with ``qemu-img``, the raw file is attached with ``losetup -r``
and ``partx -a`` creates /dev/loopNpK. Filesystems are mounted with the options that
never write (ext4 ``noload`` skips journal replay, xfs ``norecovery``).
"""
import json
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


class ImageError(RuntimeError):
    pass


def _run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise ImageError("%s: %s" % (" ".join(argv), (r.stderr or r.stdout).strip()))
    return r.stdout


def probe_format(path):
    """(format, virtual size) as qemu-img reports it; a fixed VHD is retried as vpc
    (qemu-img probes it as raw because its footer is at the end)."""
    info = json.loads(_run(["qemu-img", "info", "--output=json", str(path)]))
    fmt = info["format"]
    if fmt == "raw":
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 512))
            if f.read(8) == b"conectix":
                info = json.loads(_run(["qemu-img", "info", "-f", "vpc", "--output=json", str(path)]))
                fmt = "vpc"
    return fmt, info["virtual-size"]


_MOUNT_OPTS = {"ext4": "ro,noload", "ext3": "ro,noload", "ext2": "ro", "xfs": "ro,norecovery",
               "btrfs": "ro", "vfat": "ro"}


def _blkid(dev):
    r = subprocess.run(["blkid", "-o", "export", dev], capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def _mount(dev, mnt, fstype, writable=False):
    opts = _MOUNT_OPTS.get(fstype)
    if opts is None:
        return False
    if writable:
        opts = "rw"
    r = subprocess.run(["mount", "-t", fstype, "-o", opts, dev, mnt], capture_output=True)
    return r.returncode == 0


def _umount(mnt):
    for _ in range(10):
        if subprocess.run(["umount", mnt], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    subprocess.run(["umount", "-l", mnt], capture_output=True)


class Mounted:
    """What ``open_image`` yields: the root dir plus facts about the disk."""

    def __init__(self, root, fmt, virtual_size, partitions, root_uuid):
        self.root = Path(root)
        self.format = fmt
        self.virtual_size = virtual_size
        self.partitions = partitions       # list of blkid dicts, in partition order
        self.root_uuid = root_uuid

    def path(self, p):
        """``p`` (absolute, in the image) as a host path; symlinks are not followed."""
        return self.root / str(p).lstrip("/")


@contextmanager
def open_image(image, workdir=None, writable=False):
    """Mount the root filesystem of ``image`` read-only; yield a ``Mounted``. ``writable``
    (resync, on its own copy of a raw image) mounts it read-write instead."""
    image = Path(image)
    if not image.is_file():
        raise ImageError("no such image: %s" % image)
    fmt, vsize = probe_format(image)
    if writable and fmt != "raw":
        raise ImageError("%s: only a raw image is opened for writing (got %s)" % (image, fmt))
    cleanups = []
    tmp = tempfile.mkdtemp(prefix="dib-migrate-verify-", dir=workdir)
    cleanups.append(lambda: os.rmdir(tmp))
    try:
        raw = image
        if fmt != "raw":
            raw = Path(tmp, "disk.raw")
            _run(["qemu-img", "convert", "-f", fmt, "-O", "raw", str(image), str(raw)])
            cleanups.append(lambda: raw.unlink())
        loop = _run(["losetup"] + ([] if writable else ["-r"]) + ["-f", "--show", str(raw)]).strip()
        cleanups.append(lambda: subprocess.run(["losetup", "-d", loop], capture_output=True))
        # partx, not kpartx/losetup -P: works without device-mapper and on this kernel
        subprocess.run(["partx", "-d", loop], capture_output=True)
        parted = subprocess.run(["partx", "-a", loop], capture_output=True).returncode == 0
        if parted:
            cleanups.append(lambda: subprocess.run(["partx", "-d", loop], capture_output=True))
        base = os.path.basename(loop)
        devs = sorted(("/dev/" + p for p in os.listdir("/sys/block/" + base) if p.startswith(base + "p")),
                      key=lambda d: int(d.rsplit("p", 1)[1]))
        for d in devs:   # udev may be absent: wait for the nodes devtmpfs creates
            for _ in range(50):
                if os.path.exists(d):
                    break
                time.sleep(0.1)
        parts = [dict(_blkid(d), DEVNAME=d) for d in devs] or [dict(_blkid(loop), DEVNAME=loop)]
        mnt = Path(tmp, "root")
        mnt.mkdir()
        cleanups.append(lambda: mnt.rmdir())
        root_part = None
        for p in parts:
            if _mount(p["DEVNAME"], str(mnt), p.get("TYPE", ""), writable):
                if (mnt / "etc").is_dir() and ((mnt / "etc/os-release").exists()
                                               or (mnt / "usr/lib/os-release").exists()):
                    root_part = p
                    break
                _umount(str(mnt))
        if root_part is None:
            raise ImageError("no root filesystem found in %s (partitions: %s)"
                             % (image, [(p["DEVNAME"], p.get("TYPE")) for p in parts]))
        cleanups.append(lambda: _umount(str(mnt)))
        # a separate /boot (LVM-less DIB layouts, some source disks): mount it too
        boot = _boot_partition(mnt, parts, root_part)
        if boot is not None and _mount(boot["DEVNAME"], str(mnt / "boot"), boot.get("TYPE", ""), writable):
            cleanups.append(lambda: _umount(str(mnt / "boot")))
        yield Mounted(mnt, fmt, vsize, parts, root_part.get("UUID"))
    finally:
        for c in reversed(cleanups):
            try:
                c()
            except OSError:
                pass


def _boot_partition(mnt, parts, root_part):
    try:
        lines = (mnt / "etc/fstab").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) >= 2 and not f[0].startswith("#") and f[1] == "/boot":
            key, _, val = f[0].partition("=")
            for p in parts:
                if p is not root_part and p.get(key) == val:
                    return p
    return None
