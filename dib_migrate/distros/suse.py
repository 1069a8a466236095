from .base import Family


class Suse(Family):
    name = "suse"
    ssh_packages = ("openssh-server", "openssh")    # openssh held the server before the split
    firewall_services = dict(Family.firewall_services,
                             iptables=("SuSEfirewall2",), none=("SuSEfirewall2",))
    azure_agent_package = "python-azure-agent"
    growroot_packages = ("growpart",)
    dib_bases = {
        "opensuse-leap": lambda r: ("opensuse-minimal", r.version),
        "opensuse": lambda r: ("opensuse-minimal", r.version),
    }
    rootfs_package_element = "zypper"
    initrd_path = "/boot/initrd-@KVER@"
    rc_local = "/etc/init.d/boot.local"
    sysv_enable = ("insserv {}",)
    sysv_disable = ("insserv -r {}",)

    def package_commands(self):
        return ("zypper --non-interactive install {}", "zypper --non-interactive remove {}")

    def kernel_packages(self):
        return ("kernel-default",)

    def bootloader_packages(self):
        if self.report.firmware == "uefi":
            return ("grub2-x86_64-efi", "shim")
        return ("grub2",)
