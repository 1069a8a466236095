from .base import Family


def _major(report):
    return report.version.split(".")[0]


class RedHat(Family):
    name = "redhat"
    dib_bases = {
        "centos": lambda r: ("centos-minimal", _major(r)) if _major(r) in ("8", "9") else None,
        "rocky": lambda r: ("rocky-container", _major(r)),
        "almalinux": lambda r: ("almalinux-container", _major(r)),
        "fedora": lambda r: ("fedora-minimal", _major(r)),
        "rhel": lambda r: ("rhel", _major(r)),
    }
    rootfs_package_element = "yum"

    def package_commands(self):
        # dnf from EL8 and Fedora on (its yum is only a compatibility name there)
        major = _major(self.report)
        pm = "dnf" if self.report.distro == "fedora" or (major.isdigit() and int(major) >= 8) else "yum"
        return ("%s -y install {}" % pm, "%s -y remove {}" % pm)

    def kernel_packages(self):
        return ("kernel",)

    def bootloader_packages(self):
        if self.report.firmware == "uefi":
            return ("grub2-efi-x64", "shim-x64")
        # EL6 and older boot with GRUB legacy, packaged as "grub"
        if self.report.distro in ("centos", "rhel") and _major(self.report).isdigit() \
                and int(_major(self.report)) <= 6:
            return ("grub",)
        return ("grub2-pc",)
