"""A writable copy of a built image, changed by a test (a deliberately broken image)."""
import os
import subprocess

from dib_migrate.qemu import image_format


def altered_copy(image, workdir, mutate, name="broken.raw"):
    """Copy ``image`` as a raw disk to ``workdir/name``, mount its root read-write and call ``mutate(mountpoint)``."""
    copy = workdir / name
    fmt = image_format(image)
    if fmt == "raw":
        subprocess.run(["cp", "--sparse=always", str(image), str(copy)], check=True)
    else:
        subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", str(image), str(copy)], check=True)
    loop = subprocess.run(["losetup", "-f", "--show", str(copy)], check=True, capture_output=True,
                          text=True).stdout.strip()
    mnt = workdir / (name + "-mnt")
    mnt.mkdir(exist_ok=True)
    try:
        subprocess.run(["partx", "-a", loop], check=False, capture_output=True)
        part = loop + "p1" if os.path.exists(loop + "p1") else loop
        subprocess.run(["mount", part, str(mnt)], check=True)
        try:
            mutate(mnt)
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
    finally:
        subprocess.run(["partx", "-d", loop], check=False, capture_output=True)
        subprocess.run(["losetup", "-d", loop], check=False)
        os.rmdir(mnt)
    return copy


def enable_unit(mnt, unit, target="multi-user.target"):
    """Enable ``unit`` in a mounted image the way systemctl would: its link in the target's wants."""
    wants = mnt / "etc/systemd/system" / (target + ".wants") / unit
    if os.path.lexists(wants):
        wants.unlink()
    os.symlink("/lib/systemd/system/" + unit, wants)
