"""Per-family tables: names the rules ask for, never if-chains on distro names."""
import pytest

from dib_migrate.distros import family_for


@pytest.mark.parametrize("name,family,ssh,kernel,boot,azure_pkg,azure_svc", [
    ("debian12-web", "debian", "ssh", ("linux-image-amd64",), ("grub-pc",), "waagent", "walinuxagent"),
    ("ubuntu2204-netplan", "debian", "ssh", ("linux-image-virtual",), ("grub-pc",), "walinuxagent",
     "walinuxagent"),
    ("centos6-xen-pv", "redhat", "sshd", ("kernel",), ("grub",), "WALinuxAgent", "waagent"),
    ("rocky9-vmware", "redhat", "sshd", ("kernel",), ("grub2-efi-x64", "shim-x64"), "WALinuxAgent",
     "waagent"),
    ("sles15-wicked", "suse", "sshd", ("kernel-default",), ("grub2",), "python-azure-agent", "waagent"),
])
def test_family_names(example, name, family, ssh, kernel, boot, azure_pkg, azure_svc):
    f = family_for(example(name))
    assert f.name == family and f.ssh_service == ssh
    assert f.kernel_packages() == kernel and f.bootloader_packages() == boot
    assert (f.azure_agent_package, f.azure_agent_service) == (azure_pkg, azure_svc)
    assert f.dib_arch() == "amd64"


def test_distro_override_does_not_leak(example):
    # Ubuntu overrides the agent's package name on its instance only
    assert family_for(example("ubuntu2204-netplan")).azure_agent_package == "walinuxagent"
    assert family_for(example("debian12-web")).azure_agent_package == "waagent"


@pytest.mark.parametrize("name,base", [
    ("debian12-web", ("debian-minimal", "bookworm")),
    ("ubuntu2204-netplan", ("ubuntu-minimal", "jammy")),
    ("centos6-xen-pv", None),
    ("rocky9-vmware", ("rocky-container", "9")),
    ("sles15-wicked", ("opensuse-minimal", "15.5")),
])
def test_dib_base(example, name, base):
    assert family_for(example(name)).dib_base() == base


def test_debian_release_from_version_when_no_codename(derive):
    def m(d):
        d["os"]["codename"] = None
        d["os"]["version"] = "11.9"
    assert family_for(derive("debian12-web", m)).dib_base() == ("debian-minimal", "bullseye")


@pytest.mark.parametrize("manager,installed,expected", [
    ("ifupdown", [], "networking"),
    ("ifupdown", ["network-manager"], "NetworkManager"),
    ("netplan", [], "systemd-networkd"),
    ("systemd-networkd", [], "systemd-networkd"),
    ("NetworkManager", [], "NetworkManager"),
])
def test_debian_network_service(derive, manager, installed, expected):
    def m(d):
        d["network"]["manager"] = manager
        d["packages"] += [{"name": n} for n in installed]
    assert family_for(derive("debian12-web", m)).network_service() == expected


@pytest.mark.parametrize("installed,expected", [([], "network"), (["NetworkManager"], "NetworkManager")])
def test_redhat_network_service(derive, installed, expected):
    def m(d):
        d["packages"] += [{"name": n} for n in installed]
    assert family_for(derive("centos6-xen-pv", m)).network_service() == expected


def test_uefi_bootloaders(derive):
    def uefi(d):
        d["platform"]["firmware"] = "uefi"
    assert family_for(derive("debian12-web", uefi)).bootloader_packages() == ("grub-efi-amd64",)
    assert family_for(derive("centos6-xen-pv", uefi)).bootloader_packages() == ("grub2-efi-x64", "shim-x64")


def test_el7_uses_grub2(derive):
    def el7(d):
        d["os"]["version"] = "7.9"
    assert family_for(derive("centos6-xen-pv", el7)).bootloader_packages() == ("grub2-pc",)


@pytest.mark.parametrize("arch,dib", [("aarch64", "arm64"), ("i686", "i386"), ("ppc64le", "ppc64el")])
def test_dib_arch(derive, arch, dib):
    def m(d):
        d["os"]["arch"] = arch
    assert family_for(derive("debian12-web", m)).dib_arch() == dib


def test_every_family_has_firewall_tables():
    from dib_migrate.distros import FAMILIES
    for cls in FAMILIES.values():
        assert set(cls.firewall_services) == {"iptables", "firewalld", "ufw", "nftables", "none"}
        assert set(cls.network_services) == {"ifupdown", "network-scripts", "NetworkManager", "netplan",
                                             "systemd-networkd", "wicked"}


def test_a_distro_is_a_subclass_of_its_family(example):
    from dib_migrate.distros import Debian, Ubuntu, distro_class
    assert type(family_for(example("ubuntu2204-netplan"))) is Ubuntu and issubclass(Ubuntu, Debian)
    assert type(family_for(example("debian12-web"))) is Debian
    assert distro_class("debian", "ubuntu").default_mirror.endswith("/ubuntu")
    assert distro_class("redhat", "rocky").default_mirror is None      # no mirror check


def test_family_answers_what_render_and_build_used_to_test_names_for(example):
    deb, rocky = family_for(example("debian12-web")), family_for(example("rocky9-vmware"))
    assert (deb.pin_separator, rocky.pin_separator) == ("=", "-")
    assert deb.dib_environment == {"DIB_APT_MINIMAL_CREATE_INTERFACES": "0"} and rocky.dib_environment == {}
    assert deb.release() == "bookworm" and rocky.release() == "9.4"
