"""Virtualization and firmware the source runs on."""
import os

from .boot import XEN_KERNEL


DMI_VENDORS = (
    ("qemu", "kvm"), ("kvm", "kvm"), ("bochs", "kvm"), ("openstack", "kvm"), ("amazon ec2", "kvm"),
    ("google", "kvm"), ("red hat", "kvm"), ("nutanix", "kvm"), ("vmware", "vmware"),
    ("innotek", "virtualbox"), ("virtualbox", "virtualbox"), ("oracle corporation", "virtualbox"),
    ("microsoft corporation", "hyperv"), ("xen", "xen-hvm"),
)


def detect_virtualization(proc="/proc", sys_="/sys"):
    """Virtualization of a running system from /proc and /sys (parameters make it testable)."""
    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except (OSError, IOError, UnicodeDecodeError):
            return ""

    guest_type = read(os.path.join(sys_, "hypervisor/guest_type")).lower()
    hyp_type = read(os.path.join(sys_, "hypervisor/type")).lower()
    dmi = " ".join(read(os.path.join(sys_, "class/dmi/id", f)) for f in
                   ("sys_vendor", "product_name", "bios_vendor", "board_vendor", "chassis_vendor")).lower()
    xen = hyp_type == "xen" or os.path.exists(os.path.join(proc, "xen"))
    if xen:
        if guest_type == "pv":
            return "xen-pv"
        if guest_type in ("hvm", "pvh"):
            return "xen-hvm"
        if not dmi.strip():
            return "xen-pv"    # PV guests have no emulated BIOS, hence no DMI
        if "hvm" in dmi or "xen" in dmi:
            return "xen-hvm"
    if "hyper-v" in dmi or ("microsoft" in dmi and "virtual" in dmi):
        return "hyperv"
    for needle, kind in DMI_VENDORS:
        if needle in dmi:
            if kind == "hyperv" and "virtual" not in dmi:
                continue
            if kind == "virtualbox" and needle == "oracle corporation" and "virtualbox" not in dmi:
                continue
            return kind
    flags = ""
    for line in read(os.path.join(proc, "cpuinfo")).splitlines():
        if line.startswith("flags"):
            flags = line
            break
    if " hypervisor" in flags:
        return "unknown"
    if dmi.strip() or flags:
        return "bare-metal"
    return "unknown"


def detect_firmware(root, packages):
    if root.live:
        return "uefi" if os.path.isdir("/sys/firmware/efi") else "bios"
    names = set(p["name"] for p in packages)
    if any(n.startswith(("grub-efi", "grub2-efi", "shim")) for n in names):
        return "uefi"
    for efi in ("/boot/efi/EFI", "/efi/EFI", "/boot/EFI"):
        if root.listdir(efi):
            return "uefi"
    return "bios"


def scanned_virtualization(root, names):
    if root.live:
        return detect_virtualization()
    # a disk seen from outside has no /proc or /sys of its own; only a Xen PV kernel says anything
    if any(XEN_KERNEL.match(n) for n in names):
        return "xen-pv"
    return "unknown"
