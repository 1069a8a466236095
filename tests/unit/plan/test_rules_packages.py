"""pkg-rebuild, pkg-kernel, pkg-cloud-init, pkg-azure-agent, agent-remove."""
import pytest

from ..helpers import plan_of


def installs(plan, rule=None):
    return [c.subject for c in plan.by_action("install-package") + plan.by_action("install-kernel")
            if rule is None or c.rule == rule]


def removes(plan):
    return {c.subject: c.rule for c in plan.by_action("remove-package")}


def test_rebuild_package_list(example):
    r = example("debian12-web")
    (c,) = plan_of(r).by_rule("pkg-rebuild")
    assert c.action == "install-packages" and c.data["names"] == [p.name for p in r.packages]
    assert "versions" not in c.data and c.subject == "%d packages of the scan" % len(r.packages)


def test_rebuild_pinned_versions(example):
    (c,) = plan_of(example("debian12-web"), pin_versions=True).by_rule("pkg-rebuild")
    assert c.data["versions"]["nginx"] == "1.22.1-9+deb12u9" and "scanned versions" in c.reason


def test_rootfs_strategy_rebuilds_nothing(example):
    assert not plan_of(example("debian12-web"), strategy="rootfs").by_rule("pkg-rebuild")


# --- pkg-kernel -------------------------------------------------------------------------------

def test_pv_without_kernel(example):
    plan = plan_of(example("debian12-web"))
    assert installs(plan, "pkg-kernel") == ["linux-image-amd64", "grub-pc"]
    assert "Xen PV guest" in plan.find("install-kernel", "linux-image-amd64").reason
    assert "bootloader is none" in plan.find("install-kernel", "grub-pc").reason
    assert "pkg-kernel" not in removes(plan).values()


def test_pv_with_xen_kernel(example):
    plan = plan_of(example("centos6-xen-pv"))
    assert installs(plan, "pkg-kernel") == ["kernel", "grub"]
    assert removes(plan) == {"kernel-xen": "pkg-kernel"}
    (rebuild,) = plan.by_rule("pkg-rebuild")
    assert "kernel-xen" not in rebuild.data["names"]


def test_hvm_with_own_kernel_keeps_it(example):
    plan = plan_of(example("rocky9-vmware"))
    assert installs(plan, "pkg-kernel") == [] and "pkg-kernel" not in removes(plan).values()


def test_hvm_without_kernel_package(derive):
    def m(d):
        d["platform"]["virtualization"] = "kvm"
    plan = plan_of(derive("debian12-web", m))
    assert installs(plan, "pkg-kernel") == ["linux-image-amd64", "grub-pc"]
    assert "no kernel package" in plan.find("install-kernel", "linux-image-amd64").reason


def test_hvm_with_only_a_xen_kernel(derive):
    def m(d):
        d["platform"]["virtualization"] = "xen-hvm"
    plan = plan_of(derive("centos6-xen-pv", m))
    assert installs(plan, "pkg-kernel") == ["kernel", "grub"]
    assert removes(plan)["kernel-xen"] == "pkg-kernel"


def test_pv_with_a_standard_kernel_still_gets_a_bootloader(derive):
    def m(d):
        d["kernel"]["packages"] = ["linux-image-amd64"]
        d["packages"].append({"name": "linux-image-amd64"})
    assert installs(plan_of(derive("debian12-web", m)), "pkg-kernel") == ["linux-image-amd64", "grub-pc"]


@pytest.mark.parametrize("name,kernel", [("ubuntu2204-netplan", []), ("sles15-wicked", [])])
def test_no_injection_with_own_kernel(example, name, kernel):
    assert installs(plan_of(example(name)), "pkg-kernel") == kernel


def test_uefi_bootloader_injected(derive):
    def m(d):
        d["platform"]["firmware"] = "uefi"
    assert installs(plan_of(derive("debian12-web", m)), "pkg-kernel") == [
        "linux-image-amd64", "grub-efi-amd64"]


# --- cloud agents -----------------------------------------------------------------------------

@pytest.mark.parametrize("target,has", [("openstack", True), ("ec2", False), ("azure", False),
                                        ("kvm", False)])
def test_cloud_init_on_openstack_only(example, target, has):
    assert ("cloud-init" in installs(plan_of(example("debian12-web"), target), "pkg-cloud-init")) == has


@pytest.mark.parametrize("name,agent", [("debian12-web", "waagent"), ("ubuntu2204-netplan", "walinuxagent"),
                                        ("centos6-xen-pv", "WALinuxAgent"), ("rocky9-vmware", "WALinuxAgent"),
                                        ("sles15-wicked", "python-azure-agent")])
def test_azure_agent_per_family(example, name, agent):
    plan = plan_of(example(name), "azure")
    assert installs(plan, "pkg-azure-agent") == [agent]
    for target in ("openstack", "ec2", "kvm"):
        assert not plan_of(example(name), target).by_rule("pkg-azure-agent")


# --- agent-remove -----------------------------------------------------------------------------

def test_vmware_tools_removed(example):
    for target in ("openstack", "ec2", "azure", "kvm"):
        plan = plan_of(example("rocky9-vmware"), target)
        assert removes(plan) == {"open-vm-tools": "agent-remove"}
        assert "vmware" in plan.find("remove-package", "open-vm-tools").reason
        assert "open-vm-tools" not in plan.by_rule("pkg-rebuild")[0].data["names"]


def test_virtualbox_additions_removed(example):
    assert removes(plan_of(example("ubuntu2204-netplan"))) == {"virtualbox-guest-utils": "agent-remove"}


def test_xen_tools_removed(derive):
    def m(d):
        d["packages"].append({"name": "xe-guest-utilities"})
    assert removes(plan_of(derive("debian12-web", m)))["xe-guest-utilities"] == "agent-remove"


@pytest.mark.parametrize("target,removed", [("azure", False), ("kvm", True), ("ec2", True),
                                            ("openstack", True)])
def test_hyperv_daemons_kept_on_azure_only(derive, target, removed):
    def m(d):
        d["platform"]["virtualization"] = "hyperv"
        d["packages"].append({"name": "hyperv-daemons"})
    assert ("hyperv-daemons" in removes(plan_of(derive("rocky9-vmware", m), target))) == removed


def test_agents_of_another_platform_are_kept(derive):
    # open-vm-tools on a KVM source is not the old platform's agent
    def m(d):
        d["platform"]["virtualization"] = "kvm"
    assert removes(plan_of(derive("rocky9-vmware", m))) == {}


# --- pkg-dib-base: what DIB itself adds is named ---------------------------------------------

def test_dib_base_packages_are_named(example):
    plan = plan_of(example("debian12-web"), "openstack")
    named = {c.subject: c for c in plan.by_rule("pkg-dib-base")}
    # the example has no busybox, software-properties-common or apt-transport-https; it has adduser, sudo
    assert {"software-properties-common", "apt-transport-https", "busybox"} <= set(named)
    assert "adduser" not in named
    # DIB's debootstrap element installs it on every Debian image (the bullseye cells: it and its Depends
    # cloud-utils, qemu-utils, genisoimage, wget were differences compare could not explain)
    assert named["cloud-initramfs-growroot"].data == {"element": "debootstrap", "recommends": False}
    # sudo came with its Recommends: named although the source had it
    assert "the source had it" in named["sudo"].reason
    assert named["busybox"].data == {"element": "debian-minimal", "recommends": True}
    # base's open-iscsi (iscsid.socket enabled) is not installed at all
    assert plan.build.environment["DIB_SKIP_BASE_PACKAGE_INSTALL"] == "1"


def test_dib_packages_under_rootfs_are_named(example, derive):
    """The trixie rootfs UEFI cell: compare found apt-transport-https (base), grub-efi and its Recommends
    (efibootmgr, from DIB's bootloader) and open-iscsi (base's install.d) in the image, none in the Plan."""
    plan = plan_of(example("debian12-web"), "openstack", strategy="rootfs")
    named = {c.subject: c for c in plan.by_rule("pkg-dib-base")}
    # the loader (grub-pc) is the injected pkg-kernel one
    assert set(named) == {"apt-transport-https", "software-properties-common"}
    assert named["apt-transport-https"].data == {"element": "base", "recommends": True}
    assert plan.build.environment["DIB_SKIP_BASE_PACKAGE_INSTALL"] == "1"

    def uefi_with_kernel(d):
        d["platform"]["firmware"] = "uefi"
        d["platform"]["virtualization"] = "kvm"
        d["packages"].append({"name": "linux-image-amd64", "version": "6.1"})
        d["packages"].append({"name": "grub-efi-amd64", "version": "2.06"})
    plan = plan_of(derive("debian12-web", uefi_with_kernel), "kvm", strategy="rootfs")
    named = {c.subject: c for c in plan.by_rule("pkg-dib-base")}
    # the names DIB's bootloader pkg-map installs (the trixie rootfs cell's compare: grub-pc-bin unexplained)
    assert set(named) == {"apt-transport-https", "software-properties-common", "efibootmgr", "grub-efi",
                          "grub-pc-bin"}
    assert "DIB's bootloader element installs grub-pc-bin" in named["grub-pc-bin"].reason


@pytest.mark.parametrize("kernel", ["linux-image-4.19.0-xen", "linux-image-2.6.32-5-xen-amd64",
                                    "linux-image-2.6.26-2-xen-686", "linux-image-xen-amd64"])
def test_debian_xen_kernels_by_their_real_names(derive, kernel):
    def m(d):
        d["kernel"]["packages"] = [kernel]
        d["packages"].append({"name": kernel, "version": "1", "arch": "amd64"})
    plan = plan_of(derive("debian12-web", m))
    assert removes(plan)[kernel] == "pkg-kernel"
    assert "linux-image-amd64" in installs(plan, "pkg-kernel")
    # the rebuilt list no longer holds it (the mirror lacks it: build would refuse)
    assert kernel not in plan.by_action("install-packages")[0].data["names"]


@pytest.mark.parametrize("name,xen", [("kernel-xen", True), ("kernel-xenU", True), ("kernel-xenpae", True),
                                      ("linux-image-amd64", False), ("linux-image-6.1.0-27-cloud-amd64", False),
                                      ("kernel", False), ("linux-image-xenial-fake", False)])
def test_xen_kernel_names(example, name, xen):
    from dib_migrate.distros import family_for
    assert family_for(example("centos6-xen-pv")).is_xen_kernel(name) == xen


@pytest.mark.parametrize("strategy", ["packages", "rootfs"])
def test_no_software_properties_common_where_dib_installs_none(derive, strategy):
    """DIB's base installs it except on testing/trixie/unstable, and trixie has no such package: naming it
    stopped the matrix's trixie builds (install-packages: "Unable to locate package software-properties-common")."""
    def trixie(d):
        d["os"]["version"] = "13"
        d["os"]["codename"] = "trixie"
    plan = plan_of(derive("debian12-web", trixie), "ec2", strategy=strategy)
    names = {c.subject for c in plan.by_rule("pkg-dib-base")}
    assert "apt-transport-https" in names and "software-properties-common" not in names
