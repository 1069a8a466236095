"""What every family answers; subclasses override only what differs."""
import abc

from ..scan.boot import XEN_KERNEL


class Family(abc.ABC):
    name = None
    ssh_service = "sshd"
    # packages that give ssh_service; another SSH server (dropbear) keeps its scanned state
    ssh_packages = ("openssh-server",)
    other_ssh_servers = ("dropbear", "dropbear-bin", "tinyssh")
    libvirt_service = "libvirtd"
    # network manager (as scanned) -> the service that brings the network up
    network_services = {
        "ifupdown": "networking",
        "network-scripts": "network",
        "NetworkManager": "NetworkManager",
        "netplan": "systemd-networkd",
        "systemd-networkd": "systemd-networkd",
        "wicked": "wicked",
    }
    network_manager_packages = ("NetworkManager",)
    # firewall tool -> its boot-time services (the seed's iptables / ip6tables)
    firewall_services = {
        "iptables": ("iptables", "ip6tables"),
        "firewalld": ("firewalld",),
        "ufw": ("ufw",),
        "nftables": ("nftables",),
        "none": ("iptables", "ip6tables"),
    }
    cloud_init_package = "cloud-init"
    azure_agent_package = "WALinuxAgent"
    azure_agent_service = "waagent"
    growroot_packages = ("cloud-utils-growpart",)
    # old platform -> its guest agents (removed unless the target is that platform)
    platform_agents = {
        "vmware": ("open-vm-tools", "open-vm-tools-desktop", "vmware-tools"),
        "xen-pv": ("xe-guest-utilities", "xenstore-utils"),
        "xen-hvm": ("xe-guest-utilities", "xenstore-utils"),
        "virtualbox": ("virtualbox-guest-utils", "virtualbox-guest-x11", "virtualbox-guest-dkms",
                       "VirtualBox-guest-additions"),
        "hyperv": ("hyperv-daemons", "hyperv-daemons-license", "hypervkvpd", "hypervvssd", "hypervfcopyd"),
    }
    # guest agent package -> the services it ships (not carried once the package is removed)
    agent_services = {
        "open-vm-tools": ("vmtoolsd", "open-vm-tools", "vgauth", "vmware-tools"),
        "vmware-tools": ("vmware-tools", "vmtoolsd"),
        "xe-guest-utilities": ("xe-linux-distribution", "xe-daemon"),
        "virtualbox-guest-utils": ("vboxadd", "vboxadd-service", "virtualbox-guest-utils"),
        "VirtualBox-guest-additions": ("vboxadd", "vboxadd-service"),
        "hyperv-daemons": ("hypervkvpd", "hypervvssd", "hypervfcopyd", "hv-kvp-daemon", "hv-vss-daemon",
                           "hv-fcopy-daemon"),
    }
    # distro -> DIB base element for the packages strategy, or None when DIB cannot rebuild it
    dib_bases = {}
    # what DIB's base elements install on every image of the family, beyond the scanned list:
    # (package, who installs it, whether its Recommends come too)
    dib_base_packages = ()
    # package-manager element DIB needs under the rootfs strategy
    rootfs_package_element = None
    # what DIB's elements install into a rootfs build (the source's own tree, its apt/yum settings: with
    # their Recommends): (package, element); the loader packages come from dib_loader_packages
    dib_rootfs_packages = ()

    # how install-packages pins a version: name=version (apt) or name-version (yum, zypper)
    pin_separator = "-"
    # environment every DIB build of this family needs (the Plan's and the build host's)
    dib_environment = {}
    # the distribution mirror whose package index `--check-mirror` reads; None: no check
    default_mirror = None

    # -- what the hooks run and where they write, rendered into migrate-data/family/ --------
    # (hook_data.py). A command is one line of blank-separated words, never expanded by a
    # shell; the word {} stands for the hook's arguments (package or service names).
    initrd_path = "/boot/initramfs-@KVER@.img"     # the initramfs of kernel @KVER@
    rc_local = "/etc/rc.d/rc.local"                # run last at boot by sysv init
    package_query = "rpm -q --qf installed\\n {}"
    package_installed = "installed"                # package_query's first line when installed
    sysv_enable = ("chkconfig {} on",)
    sysv_disable = ("chkconfig {} off",)

    # what a package install rewrites in a root that already holds the package database (the rootfs
    # strategy installs the kernel, loader and DIB's packages into the source's own tree): package ->
    # globs of the files its triggers or scripts regenerate whenever other packages come or go. Only
    # generated indexes and caches: never a file an admin edits (alternatives, /etc/shells are not here)
    trigger_outputs = {"ldconfig": ("/etc/ld.so.cache", "/var/cache/ldconfig/*")}

    # package (a glob) -> what its maintainer scripts create outside its file list (compare explains
    # such a file of the image by the install of a package the image adds)
    script_outputs = {}
    # package -> content its scripts put in place once, outside its file list, for the admin to replace or
    # delete (a web server's default page): where the source has none, the rebuilt image must not either
    default_content = {}
    # what DIB's own elements leave in every image besides packages: its build tools and maps, removed
    # after the build (unless the source has a file of that name), and what stays, named
    dib_residue = ("/usr/local/bin/dib-init-system", "/usr/local/bin/extract-image", "/usr/local/bin/install-packages",
                   "/usr/local/bin/package-installs", "/usr/local/bin/package-installs-squash",
                   "/usr/local/bin/package-installs-v2", "/usr/local/bin/package-uninstalls", "/usr/local/bin/pkg-map",
                   "/usr/share/pkg-map")
    # directories DIB's base element makes on every image ("cloud-init may not actually be installed"):
    # removed when nothing else put a file in them
    dib_residue_dirs = ("/etc/cloud/cloud.cfg.d", "/etc/cloud")
    dib_kept = {"/etc/dib-manifests": "DIB's record of what it built the image from (its manifests element)",
                "/lost+found": "made by mkfs on the image's new root filesystem"}

    # kernel argument name -> why the family's initramfs must not get it (a target asks for it)
    unsafe_kernel_args = {}

    def __init__(self, report):
        self.report = report

    def release(self):
        """DIB_RELEASE under the rootfs strategy."""
        return self.report.version

    # distro -> the name DIB's elements know it by (DISTRO_NAME), where it is not the report's
    dib_distro_names = {}
    # DIB distro name -> its directory under the ESP (EFI_BOOT_DIR), where it is not the same name
    efi_dirs = {"rhel": "redhat"}

    def rootfs_environment(self):
        """What a DIB distro element exports and the rootfs strategy has no such element for: without
        DIB_INIT_SYSTEM dib-init-system stops the build, dpkg's shared apt cache and base's tools read
        DISTRO_NAME, and the bootloader's UEFI install reads EFI_BOOT_DIR (all under ``set -u``)."""
        r = self.report
        name = self.dib_distro_names.get(r.distro, r.distro)
        return {"DIB_INIT_SYSTEM": r.init_system, "DISTRO_NAME": name,
                "EFI_BOOT_DIR": "EFI/%s" % self.efi_dirs.get(name, name)}

    @classmethod
    def index_suites(cls, release, mirror):
        """(mirror, suite) pairs of the package indexes; only families with a default_mirror have them."""
        return ()

    @classmethod
    def build_host_env(cls, environ):
        """Environment additions disk-image-create needs on the build host for this family."""
        return {}

    # -- names ----------------------------------------------------------------------------
    @abc.abstractmethod
    def kernel_packages(self):
        """The family's standard kernel package(s)."""

    @abc.abstractmethod
    def bootloader_packages(self):
        """The bootloader package(s) for the source's firmware."""

    def dib_element_packages(self, items):
        """``items`` (package first) as DIB's elements install them for this release."""
        return tuple(items)

    def dib_loader_packages(self):
        """What DIB's bootloader element installs for the source's firmware (its finalise.d, any strategy)."""
        return ()

    def bootloader(self):
        """grub-legacy for the families' old releases (their bootloader package is plain "grub")."""
        return "grub-legacy" if "grub" in self.bootloader_packages() else "grub2"

    def dib_arch(self):
        return {"x86_64": "amd64", "aarch64": "arm64", "i686": "i386", "i386": "i386",
                "ppc64le": "ppc64el", "s390x": "s390x", "armv7l": "armhf"}[self.report.arch]

    def dib_base(self):
        """(element, DIB_RELEASE) for the packages strategy, or None."""
        entry = self.dib_bases.get(self.report.distro)
        return entry(self.report) if entry else None

    def network_service(self):
        if self.report.has_package(*self.network_manager_packages) \
                or self.report.network_manager == "NetworkManager":
            return "NetworkManager"
        return self.network_services[self.report.network_manager]

    def package_commands(self):
        """(install, remove) commands of the family's package manager."""
        return ("yum -y install {}", "yum -y remove {}")

    def initramfs_config(self, drivers):
        """{path in the image: content} making every initramfs generic with ``drivers`` in it.

        Only files no package owns, so a kernel installed later meets no conffile conflict.
        """
        return {"/etc/dracut.conf.d/90-dib-migrate.conf":
                'hostonly="no"\nadd_drivers+=" %s "\n' % " ".join(drivers)}

    def is_xen_kernel(self, name):
        """A kernel that only boots as a Xen PV guest (the scanner's pattern: one place)."""
        return bool(XEN_KERNEL.match(name))

    def kernel_args(self, args):
        """(args kept, {arg left out: why}) for a target's kernel arguments."""
        left_out = {a: self.unsafe_kernel_args[a.split("=")[0]] for a in args
                    if a.split("=")[0] in self.unsafe_kernel_args}
        return tuple(a for a in args if a not in left_out), left_out

    def is_kernel_package(self, name):
        return self.is_xen_kernel(name) or name in self.kernel_packages()
