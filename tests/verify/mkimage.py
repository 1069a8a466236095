"""Small real disk images for verify's unit tests, made without DIB.

A root directory is written by ``good_root`` (what a correct build of ``PLAN`` leaves
behind), then packed with ``mkfs.ext4 -d`` into partition 1 of an MBR disk, so verify's
real path (losetup, partx, read-only mount, cpio initramfs parsing) runs in about a second.
"""
import gzip
import os
import struct
import subprocess
from pathlib import Path

from dib_migrate.network_files import interface_files
from dib_migrate.plan.model import Build, Change, Plan

KVER = "6.1.0-99-amd64"
ROOT_UUID = "0a1b2c3d-1111-4222-8333-444455556666"
MIB = 1 << 20
DRIVERS = ["virtio_pci", "virtio_blk", "virtio_net"]


def cpio_newc(entries):
    """A cpio newc archive of ``entries`` (name, data or None for a directory)."""
    out = bytearray()

    def add(name, data, mode):
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out.extend(hdr.encode() + nb)
        out.extend(b"\0" * ((4 - len(out) % 4) % 4))
        out.extend(data)
        out.extend(b"\0" * ((4 - len(out) % 4) % 4))
    for name, data in entries:
        add(name, data or b"", 0o40755 if data is None else 0o100644)
    add("TRAILER!!!", b"", 0)
    return bytes(out)


def initrd(modules):
    """Debian's layout: an uncompressed early cpio, then a compressed main cpio."""
    early = cpio_newc([("kernel", None), ("kernel/x86/microcode/GenuineIntel.bin", b"ucode")])
    main = [("usr/lib/modules/%s/kernel/drivers/%s.ko" % (KVER, m), b"\x7fELF") for m in modules]
    # the real thing carries hundreds of modules; verify flags a host-only initramfs
    main += [("usr/lib/modules/%s/kernel/drivers/filler%03d.ko" % (KVER, i), b"\x7fELF") for i in range(60)]
    main += [("init", b"#!/bin/sh\n")]
    return early + b"\0" * 512 + gzip.compress(cpio_newc(main))


PLAN = Plan(
    host="t1", target="openstack", strategy="packages", identity="keep", family="debian",
    distro="debian", version="12", init_system="systemd",
    build=Build(("debian-minimal", "vm"), "bookworm", "amd64", "qcow2", "raw"),
    changes=(
        Change("set-network", "eth0", "net-static", "r",
               {"mode": "static", "addresses": ["10.0.2.15/24"], "gateway": "10.0.2.2", "dns": ["10.0.2.3"],
                "manager": "ifupdown", "file": "/etc/network/interfaces"}),
        Change("set-network", "eth1", "net-dhcp", "r",
               {"mode": "dhcp", "addresses": [], "gateway": None, "dns": [], "manager": "ifupdown",
                "file": "/etc/network/interfaces"}),
        Change("write-hosts", "/etc/hosts", "net-hosts", "r", {"content": "127.0.0.1\tlocalhost\n"}),
        Change("remove-file", "/etc/udev/rules.d/70-persistent-net.rules", "net-mac", "r"),
        Change("install-packages", "3 packages", "pkg-rebuild", "r",
               {"names": ["nginx", "openssh-server", "ifupdown"]}),
        Change("install-kernel", "linux-image-amd64", "pkg-kernel", "r"),
        Change("install-package", "cloud-init", "pkg-cloud-init", "r"),
        Change("remove-package", "xe-guest-utilities", "agent-remove", "r"),
        Change("apply-overlay", "overlay.tar.gz", "overlay", "r", {"mode": "changed", "files": 1}),
        Change("skip-esp", "/boot/efi", "overlay-esp", "r", {"files": 1, "bytes": 10, "firmware": "bios"}),
        Change("drop-fstab-line", "/", "fstab-blockdev", "r",
               {"line": "/dev/xvda1 / ext4 defaults 0 1", "index": 1}),
        Change("drop-fstab-line", "/srv/shared", "fstab-nfs", "r",
               {"line": "nas:/export/www /srv/shared nfs rw 0 0", "index": 2}),
        Change("keep-fstab-line", "/scratch", "fstab-keep", "r",
               {"line": "tmpfs /scratch tmpfs defaults 0 0", "index": 3}),
        Change("reset-adjtime", "/etc/adjtime", "clock-adjtime", "r",
               {"content": "0.0 0 0.0\n0\nUTC\n", "mode": "UTC"}),
        Change("cloud-config", "/etc/cloud/cloud.cfg.d/91-dib-migrate.cfg", "pkg-cloud-init", "r",
               {"content": "network:\n  config: disabled\n"}),
        Change("agent-config", "/etc/waagent.conf", "pkg-azure-agent", "r",
               {"settings": {"ResourceDisk.EnableSwap": "n"}}),
        Change("identity", "keep", "identity", "r", {"machine_id": "keep"}),
        Change("selinux-relabel", "/.autorelabel", "selinux-relabel", "r"),
        Change("firstboot", "dib-migrate-firstboot", "pkg-whitebox", "r", {}),
        Change("enable-service", "ssh", "svc-sshd", "r", {"present": True}),
        Change("enable-service", "hal", "openstack-services", "r", {"present": False}),
        Change("disable-service", "libvirtd", "svc-libvirtd", "r", {"present": True}),
        Change("disable-service", "haldaemon", "openstack-services", "r", {"present": False}),
        Change("mask-service", "x11-common", "svc-keep", "r", {"present": True}),
        Change("kernel-args", "console=ttyS0,115200", "boot-console", "r",
               {"args": ["console=ttyS0,115200"]}),
        Change("initramfs-drivers", " ".join(DRIVERS), "boot-drivers", "r", {"drivers": DRIVERS}),
        Change("regen-initramfs", "all kernels", "boot-regen", "r"),
        Change("regen-grub", "grub2", "boot-regen", "r", {"bootloader": "grub2"}),
        Change("growroot", "/", "growroot", "r", {"method": "cloud-init", "packages": ["cloud-guest-utils"]}),
    ),
)

UNITS = {"ssh": "multi-user.target", "libvirtd": "multi-user.target", "x11-common": "multi-user.target",
         "dib-migrate-firstboot": "multi-user.target", "libvirt-guests": "multi-user.target"}


def _w(root, path, data, mode=0o644):
    p = Path(root) / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    p.write_bytes(data)
    os.chmod(p, mode)
    return p


def _link(root, path, target):
    p = Path(root) / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(p):
        p.unlink()
    os.symlink(target, p)


def good_root(root):
    """A root directory in which every Change of PLAN holds."""
    root = Path(root)
    _w(root, "/etc/os-release", 'ID=debian\nVERSION_ID="12"\n')
    # what render writes for the set-network Changes (verify compares each file)
    for path, text in interface_files(PLAN.by_action("set-network")).items():
        _w(root, path, text)
    _w(root, "/etc/hosts", "127.0.0.1\tlocalhost\n")
    status = "".join("Package: %s\nStatus: install ok installed\nVersion: 1\n\n" % p for p in
                     ("nginx", "openssh-server", "ifupdown", "linux-image-amd64", "cloud-init",
                      "cloud-guest-utils"))
    status += "Package: xe-guest-utilities\nStatus: deinstall ok config-files\nVersion: 1\n\n"
    _w(root, "/var/lib/dpkg/status", status)
    _w(root, "/etc/fstab", "UUID=%s / ext4 defaults 0 1\ntmpfs /scratch tmpfs defaults 0 0\n" % ROOT_UUID)
    _w(root, "/etc/adjtime", "0.0 0 0.0\n0\nUTC\n")
    _w(root, "/etc/cloud/cloud.cfg.d/91-dib-migrate.cfg", "network:\n  config: disabled\n")
    _w(root, "/etc/waagent.conf", "# agent\nResourceDisk.EnableSwap=n\n")
    _w(root, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
    _w(root, "/etc/ssh/ssh_host_ed25519_key", "key", 0o600)
    _w(root, "/.autorelabel", "")
    for unit, wanted in UNITS.items():
        _w(root, "/lib/systemd/system/%s.service" % unit,
           "[Unit]\nDescription=%s\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=%s\n"
           % (unit, wanted))
    _link(root, "/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service")
    _link(root, "/etc/systemd/system/multi-user.target.wants/dib-migrate-firstboot.service",
          "/lib/systemd/system/dib-migrate-firstboot.service")
    _link(root, "/etc/systemd/system/x11-common.service", "/dev/null")
    _w(root, "/boot/vmlinuz-" + KVER, b"MZ kernel")
    _w(root, "/boot/initrd.img-" + KVER, initrd(DRIVERS))
    _w(root, "/boot/grub/grub.cfg",
       "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-%s root=UUID=%s ro console=ttyS0,115200\n"
       "\tinitrd\t/boot/initrd.img-%s\n}\n" % (KVER, ROOT_UUID, KVER))
    _w(root, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="console=ttyS0,115200"\n')
    return root


def _mbr(path, start, sectors):
    """One Linux partition in a DOS partition table (what sfdisk would write)."""
    entry = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", start, sectors)
    with open(path, "r+b") as f:
        f.seek(440)
        f.write(struct.pack("<I", 0x1D2C3B4A) + b"\0\0" + entry + b"\0" * 48 + b"\x55\xaa")


def make_disk(root, path, size_mib=48):
    """An MBR disk with one ext4 partition (1 MiB offset) holding ``root``."""
    path = Path(path)
    with open(path, "wb") as f:
        f.truncate(size_mib * MIB)
    _mbr(path, 2048, size_mib * MIB // 512 - 2048)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-U", ROOT_UUID, "-L", "cloudimg-rootfs", "-d", str(root),
                    "-E", "offset=%d" % MIB, str(path), "%dM" % (size_mib - 1)], check=True)
    return path
