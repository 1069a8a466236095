import re

from .base import Family

# DIB's default security host (security.debian.org) answers 400 from some networks; the
# same content is served under /debian-security of the distribution mirror's host.
_DEFAULT_MIRROR = "http://deb.debian.org/debian"


def security_mirror(distribution_mirror):
    """The debian-security URL on the same host as ``distribution_mirror``."""
    base = distribution_mirror.rstrip("/")
    if base.endswith("/debian"):
        return base[: -len("/debian")] + "/debian-security"
    return base + "-security"


class Debian(Family):
    name = "debian"
    ssh_service = "ssh"
    network_manager_packages = ("network-manager",)
    firewall_services = dict(Family.firewall_services,
                             iptables=("netfilter-persistent",), none=("netfilter-persistent",))
    azure_agent_package = "waagent"
    azure_agent_service = "walinuxagent"
    growroot_packages = ("cloud-guest-utils",)
    dib_bases = {
        "debian": lambda r: ("debian-minimal", r.codename or {"10": "buster", "11": "bullseye", "12": "bookworm",
                                                              "13": "trixie"}.get(r.version.split(".")[0], "")),
        "ubuntu": lambda r: ("ubuntu-minimal", r.codename or ""),
    }
    rootfs_package_element = "dpkg"
    pin_separator = "="
    # debian-minimal would write its own eth0/eth1 stanzas over the kept network config (they
    # also fail networking.service when ifupdown is installed)
    dib_environment = {"DIB_APT_MINIMAL_CREATE_INTERFACES": "0"}
    default_mirror = _DEFAULT_MIRROR
    # debian-minimal's root.d installs these before the dpkg element turns Recommends off;
    # its package-installs (netbase), base's 03-baseline-tools and debootstrap's package-installs
    # add the rest
    dib_base_packages = (
        ("systemd-sysv", "debian-minimal", True), ("busybox", "debian-minimal", True),
        ("sudo", "debian-minimal", True), ("gnupg2", "debian-minimal", True), ("python3", "debian-minimal", True),
        ("netbase", "debian-minimal", False),
        ("apt-transport-https", "base", False), ("software-properties-common", "base", False),
        ("adduser", "debootstrap", False), ("ca-certificates", "debootstrap", False),
        ("locales", "debootstrap", False), ("lsb-release", "debootstrap", False),
        # with its Depends (cloud-utils, qemu-utils, genisoimage, wget...): the bullseye cells' compare
        ("cloud-initramfs-growroot", "debootstrap", False),
    )
    # package -> what its dpkg trigger (or the ucf registry) rewrites when other packages are installed;
    # sgml-base's supercatalog.old: the bookworm rootfs cell of docs/matrix.md
    trigger_outputs = {
        "libc-bin": ("/etc/ld.so.cache", "/var/cache/ldconfig/*"),
        "ucf": ("/var/lib/ucf/*",),
        "sgml-base": ("/var/lib/sgml-base/*", "/etc/sgml/catalog", "/etc/sgml/catalog.old"),
        "xml-core": ("/var/lib/xml-core/*", "/etc/xml/catalog", "/etc/xml/catalog.old"),
        "man-db": ("/var/cache/man/*",),
        "install-info": ("/usr/share/info/dir", "/usr/share/info/dir.old"),
        "mailcap": ("/etc/mailcap",),
        "shared-mime-info": ("/usr/share/mime/*",),
        "fontconfig": ("/var/cache/fontconfig/*",),
        "libglib2.0-0": ("/usr/lib/*/gio/modules/giomodule.cache", "/usr/share/glib-2.0/schemas/gschemas.compiled"),
        "doc-base": ("/var/lib/doc-base/*",),
        # update-ca-certificates' links for the certificates of the rebuilt (current) ca-certificates
        "ca-certificates": ("/etc/ssl/certs/*",),
    }
    script_outputs = {
        "ca-certificates": ("/etc/ca-certificates.conf", "/usr/local/share/ca-certificates"),
        "locales": ("/etc/locale.gen", "/usr/lib/locale/locale-archive"),
        "kmod": ("/etc/modules",),
        "udev": ("/usr/lib/udev/hwdb.bin", "/etc/udev/hwdb.bin"),
        "python3": ("/etc/python3", "/var/lib/python"),
        "python3.*-minimal": ("/usr/local/lib/python3.*",),
        "netbase": ("/etc/networks",),
        "sgml-base": ("/usr/local/share/sgml",),
        "xml-core": ("/usr/local/share/xml",),
    }
    default_content = {
        "apache2": ("/var/www/html/index.html",),
        "nginx-common": ("/var/www/html/index.nginx-debian.html",),
    }
    # the debian-minimal and dpkg elements' apt settings: no Recommends, no translations, the build's
    # mirror beside the source's own sources.list (apt would warn of every source configured twice)
    # the debootstrap element's install.d/12-debian-locale-gen: en_US.UTF-8 compiled, and made the
    # default where the source has no /etc/default/locale of its own
    dib_kept = dict(Family.dib_kept, **{
        "/usr/lib/locale/locale-archive": "DIB's debootstrap element compiles en_US.UTF-8 into it; the source's "
                                          "own locale settings are laid over the image"})
    dib_residue = Family.dib_residue + ("/etc/default/locale",) + (
        "/etc/apt/apt.conf.d/95disable-recommends", "/etc/apt/apt.conf.d/95no-translations",
        "/etc/apt/sources.list.d/default.list", "/etc/apt/sources.list.d/security.list",
        "/etc/apt/sources.list.d/updates.list", "/etc/apt/sources.list.d/.list")
    # base's pre-install.d/03-baseline-tools
    dib_rootfs_packages = (("apt-transport-https", "base"), ("software-properties-common", "base"))

    def dib_element_packages(self, items):
        # 03-baseline-tools skips software-properties-common on these releases (trixie has no such package:
        # naming it stopped every trixie build, "Unable to locate package")
        if re.match(r"^(testing|trixie|unstable|stable)", self.release()):
            return tuple(i for i in items if i[0] != "software-properties-common")
        return tuple(items)

    def release(self):
        # DIB's Debian elements name releases by codename
        return self.report.codename or self.report.version

    initrd_path = "/boot/initrd.img-@KVER@"
    rc_local = "/etc/rc.local"
    package_query = "dpkg-query -W -f=${Status}\\n {}"
    package_installed = "install ok installed"
    sysv_enable = ("update-rc.d {} defaults", "update-rc.d {} enable")
    sysv_disable = ("update-rc.d {} disable",)
    # initramfs-tools' init runs `sleep "$ROOTDELAY"` on every boot, then waits for the root
    # device by itself; Azure's rootdelay=300 was written for initramfs that treat it as that wait
    unsafe_kernel_args = {"rootdelay": "initramfs-tools sleeps that long on every boot and waits for "
                                       "the root device by itself"}

    def kernel_packages(self):
        return ("linux-image-" + self.dib_arch(),)

    def package_commands(self):
        return ("env DEBIAN_FRONTEND=noninteractive apt-get -y install {}",
                "env DEBIAN_FRONTEND=noninteractive apt-get -y purge {}")

    def initramfs_config(self, drivers):
        # conf.d is read after initramfs.conf; modules.d sits beside the package's own lists
        return {"/etc/initramfs-tools/conf.d/dib-migrate": "MODULES=most\n",
                "/usr/share/initramfs-tools/modules.d/dib-migrate": "".join(d + "\n" for d in drivers)}

    def dib_loader_packages(self):
        # diskimage-builder's bootloader/finalise.d/50-bootloader installs GRUB_PACKAGES per block device
        # through its pkg-map: grub-efi -> efibootmgr, grub-efi-amd64 -> grub-efi grub-pc-bin (the
        # image also gets GRUB for BIOS), grub-efi-arm64 -> itself and its -bin
        if self.report.firmware == "uefi":
            arch = self.dib_arch()
            extra = ("grub-efi", "grub-pc-bin") if arch == "amd64" else ("grub-efi-%s" % arch, "grub-efi-%s-bin" % arch)
            return ("efibootmgr",) + extra
        return ("grub-pc",)

    def bootloader_packages(self):
        if self.report.firmware == "uefi":
            return ("grub-efi-" + self.dib_arch(),)
        return ("grub-pc",)

    @classmethod
    def index_suites(cls, release, mirror):
        """(mirror, suite) pairs whose package indexes DIB builds from."""
        return [(mirror, release), (mirror, release + "-updates"), (security_mirror(mirror), release + "-security")]

    @classmethod
    def build_host_env(cls, environ):
        add = {}
        mirror = (environ.get("DIB_DEBIAN_DISTRIBUTION_MIRROR")
                  or environ.get("DIB_DISTRIBUTION_MIRROR") or _DEFAULT_MIRROR)
        if "DIB_DEBIAN_SECURITY_MIRROR" not in environ:
            add["DIB_DEBIAN_SECURITY_MIRROR"] = security_mirror(mirror)
        for k, v in cls.dib_environment.items():
            add[k] = environ.get(k, v)
        # Both together mean: use the cached debootstrap tarball when it exists, else
        # debootstrap and write the cache (DIB only writes it when it did debootstrap).
        # Saves ~25 s per build. DIB_MIGRATE_NO_DEBOOTSTRAP_CACHE=1 turns it off.
        if environ.get("DIB_MIGRATE_NO_DEBOOTSTRAP_CACHE", "0") in ("", "0"):
            add["DIB_DEBOOTSTRAP_CACHE"] = environ.get("DIB_DEBOOTSTRAP_CACHE", "1")
            add["DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE"] = environ.get("DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE", "1")
        return add


class Ubuntu(Debian):
    # Debian packages the Azure agent as waagent, Ubuntu as walinuxagent
    azure_agent_package = "walinuxagent"
    # ubuntu-minimal's package-installs has kernels only, no netbase
    dib_base_packages = tuple(p for p in Debian.dib_base_packages if p[0] != "netbase")
    default_mirror = "http://archive.ubuntu.com/ubuntu"

    def kernel_packages(self):
        return ("linux-image-virtual",)

    @classmethod
    def index_suites(cls, release, mirror):
        return [(mirror, release), (mirror, release + "-updates"), (mirror, release + "-security")]
