"""Per-family tables: names the rules ask for, never if-chains on distro names."""
import dataclasses
import re

import pytest

from dib_migrate.distros import family_for
from dib_migrate.distros.hook_data import family_files
from dib_migrate.plan import make_plan


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


FAMILY_FIXTURES = ("debian12-web", "centos6-xen-pv", "rocky9-vmware", "sles15-wicked")


def _hook_reads():
    """The migrate-data/family/ names the elements' scripts read (a trailing '-': a prefix)."""
    from dib_migrate.render import ELEMENTS_DIR
    names = set()
    for f in ELEMENTS_DIR.glob("*/*/*"):
        if f.is_file() and f.suffix != ".rst":
            names |= set(re.findall(r"family/([a-z-]+)", f.read_text()))
    return names


@pytest.mark.parametrize("name", FAMILY_FIXTURES)
def test_family_files_cover_what_the_hooks_read(example, name):
    report = example(name)
    files = family_files(make_plan(report, "openstack"), report)
    reads = _hook_reads()
    assert {"initrd", "rc-local", "package-installed", "initramfs-conf"} <= reads
    for n in reads:
        keys = [k[len("family/"):] for k in files]
        assert any(k == n or k.startswith(n + "/") or (n.endswith("-") and k.startswith(n)) for k in keys), n
    assert all(text.strip() for text in files.values())


@pytest.mark.parametrize("name,initrd,install,conf", [
    ("debian12-web", "/boot/initrd.img-@KVER@", "env DEBIAN_FRONTEND=noninteractive apt-get -y install {}",
     "/etc/initramfs-tools/conf.d/dib-migrate"),
    ("centos6-xen-pv", "/boot/initramfs-@KVER@.img", "yum -y install {}", "/etc/dracut.conf.d/90-dib-migrate.conf"),
    ("rocky9-vmware", "/boot/initramfs-@KVER@.img", "dnf -y install {}", "/etc/dracut.conf.d/90-dib-migrate.conf"),
    ("sles15-wicked", "/boot/initrd-@KVER@", "zypper --non-interactive install {}",
     "/etc/dracut.conf.d/90-dib-migrate.conf"),
])
def test_family_files(example, name, initrd, install, conf):
    report = example(name)
    plan = make_plan(report, "azure")
    files = family_files(plan, report)
    assert files["family/initrd"] == initrd + "\n"
    assert files["family/package-install"] == install + "\n"
    drivers = plan.by_action("initramfs-drivers")[0].data["drivers"]
    text = files["family/initramfs-conf" + conf]
    assert all(d in text for d in drivers) or all(
        d in files["family/initramfs-conf/usr/share/initramfs-tools/modules.d/dib-migrate"] for d in drivers)


def test_family_files_refuse_a_driver_name_that_is_not_a_module(example):
    report = example("rocky9-vmware")
    plan = make_plan(report, "openstack")
    bad = dataclasses.replace(plan, changes=tuple(
        dataclasses.replace(c, data={"drivers": ["virtio_blk", "x\"; reboot"]})
        if c.action == "initramfs-drivers" else c for c in plan.changes))
    with pytest.raises(ValueError, match="not a kernel module name"):
        family_files(bad, report)


@pytest.mark.parametrize("name,dropped", [("debian12-web", {"rootdelay"}), ("ubuntu2204-netplan", {"rootdelay"}),
                                          ("rocky9-vmware", set()), ("sles15-wicked", set())])
def test_kernel_args_the_initramfs_mistreats(example, name, dropped):
    f = family_for(example(name))
    args = ("console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300")
    kept, left_out = f.kernel_args(args)
    assert {a.split("=")[0] for a in left_out} == dropped
    assert kept == tuple(a for a in args if a not in left_out)
    assert all(why for why in left_out.values())
