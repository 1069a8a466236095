"""Init system, kernels and boot loader."""
import os
import re

from .names import valid


def pid1_init(proc="/proc"):
    """The running init system from PID 1's executable (a live scan), or None when unreadable."""
    try:
        exe = os.readlink(os.path.join(proc, "1/exe"))
    except OSError:
        try:
            with open(os.path.join(proc, "1/comm")) as f:
                exe = f.read().strip()
        except (OSError, IOError):
            return None
    name = os.path.basename(exe.split(" ")[0])
    if name == "systemd":
        return "systemd"
    if name == "upstart" or "upstart" in exe:
        return "upstart"
    if name == "init":
        return None          # sysvinit, or an init that re-execs: the files below decide
    return None


def detect_init_system(root, names):
    if root.live:
        running = pid1_init()
        if running:
            return running
    init = root.readlink("/sbin/init") or root.readlink("/usr/sbin/init") or ""
    try:
        resolved = root.resolve("/sbin/init")
    except OSError:
        resolved = init
    if "systemd" in init or "systemd" in resolved:
        return "systemd"
    if "upstart" in names or (root.exists("/sbin/initctl") and root.glob("/etc/init", "*.conf")
                              and not root.exists("/etc/inittab")):
        return "upstart"
    if not root.exists("/sbin/init") and ("systemd" in names or root.exists("/lib/systemd/systemd")):
        return "systemd"
    return "sysv"


# Xen-only kernels, old Debian (linux-image-2.6.32-5-xen-amd64, linux-image-xen-686) and
# RPM (kernel-xen, kernel-xenU, kernel-xenpae) style
XEN_KERNEL = re.compile(r"^(linux-image-(.+-)?xen(-.+)?|kernel-xen(U|pae)?)$")

KERNEL_PACKAGE = re.compile(r"^(linux-image-.+|kernel|kernel-(xen|PAE|pae|core|default|uek|ml|lt|smp|"
                            r"hugemem|rt|xenU|bigsmp|desktop|preempt|ec2|azure|64k)|pve-kernel-.+|"
                            r"proxmox-kernel-.+)$")


def kernel_packages(packages):
    return sorted(set(p["name"] for p in packages if KERNEL_PACKAGE.match(p["name"])
                      and not p["name"].startswith("linux-image-dbg")))


def running_kernel(root):
    if root.live:
        return os.uname()[2]
    # an offline root boots its newest installed kernel
    versions = [v for v in root.listdir("/lib/modules") if valid("kernel", v)]
    versions.sort(key=_version_key)
    return versions[-1] if versions else None


def _version_key(text):
    return [int(p) if p.isdigit() else -1 for p in re.split(r"[^0-9]+", text) if p]


def detect_bootloader(root, names):
    if names & {"grub-pc", "grub2", "grub2-pc", "grub2-common", "grub-common", "grub2-tools",
                "grub-efi-amd64", "grub-efi-arm64", "grub2-efi-x64", "grub2-efi"}:
        return "grub2"
    if "grub-legacy" in names or "grub" in names:
        return "grub-legacy"
    if root.exists("/boot/grub/grub.cfg") or root.exists("/boot/grub2/grub.cfg"):
        return "grub2"
    if root.exists("/boot/grub/menu.lst") or root.exists("/boot/grub/grub.conf"):
        return "grub-legacy"
    return "none"
