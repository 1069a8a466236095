from .base import Family


class Debian(Family):
    name = "debian"
    ssh_service = "ssh"
    network_manager_packages = ("network-manager",)
    firewall_services = dict(Family.firewall_services,
                             iptables=("netfilter-persistent",), none=("netfilter-persistent",))
    cloud_init_package = "cloud-init"
    azure_agent_package = "waagent"
    azure_agent_service = "walinuxagent"
    growroot_packages = ("cloud-guest-utils",)
    xen_only_kernels = ("linux-image-xen-amd64", "linux-image-xen-686", "linux-image-2.6-xen-amd64")
    dib_bases = {
        "debian": lambda r: ("debian-minimal", r.codename or {"10": "buster", "11": "bullseye", "12": "bookworm",
                                                              "13": "trixie"}.get(r.version.split(".")[0], "")),
        "ubuntu": lambda r: ("ubuntu-minimal", r.codename or ""),
    }
    rootfs_package_element = "dpkg"
    # Debian packages the Azure agent as waagent, Ubuntu as walinuxagent
    distro_overrides = {"ubuntu": {"azure_agent_package": "walinuxagent"}}

    def kernel_packages(self):
        if self.report.distro == "ubuntu":
            return ("linux-image-virtual",)
        return ("linux-image-" + self.dib_arch(),)

    def bootloader_packages(self):
        if self.report.firmware == "uefi":
            return ("grub-efi-" + self.dib_arch(),)
        return ("grub-pc",)
