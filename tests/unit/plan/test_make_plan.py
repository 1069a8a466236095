"""make_plan: goldens for each shared example × target, the issue-2 checklist, purity, the build."""
import json

import pytest

from dib_migrate.errors import InputError
from dib_migrate.options import Options
from dib_migrate.plan import make_plan
from dib_migrate.plan.model import ACTIONS, AREAS, Plan

from ..helpers import EXAMPLE_NAMES, FIXTURE_NAMES, GOLDEN, TARGET_NAMES, check_golden, plan_of, services


@pytest.mark.parametrize("target", TARGET_NAMES)
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_golden_plan(example, name, target):
    plan = make_plan(example(name), target)
    text = json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n"
    check_golden(GOLDEN / "plans" / ("%s-%s.json" % (name, target)), text)


@pytest.mark.parametrize("target", TARGET_NAMES)
@pytest.mark.parametrize("name", EXAMPLE_NAMES + FIXTURE_NAMES)
def test_plan_invariants(example, name, target):
    plan = make_plan(example(name), target)
    areas = [c.area for c in plan.changes]
    assert areas == sorted(areas, key=AREAS.index), "changes grouped by area in AREAS order"
    for c in plan.changes:
        assert c.action in ACTIONS and c.rule and c.reason and "\n" not in c.reason
    # one decision per service
    subjects = [c.subject for c in plan.changes if c.area == "services"]
    assert len(subjects) == len(set(subjects))
    # round trip through the JSON form (render writes it, verify reads it)
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_pure_and_deterministic(example):
    r = example("centos6-xen-pv")
    before = repr(r)
    a = make_plan(r, "ec2", Options(firewall=True))
    b = make_plan(r, "ec2", Options(firewall=True))
    assert a == b and a.to_dict() == b.to_dict()
    assert repr(r) == before


def test_unknown_target(example):
    with pytest.raises(InputError) as e:
        make_plan(example("debian12-web"), "gcp")
    assert e.value.field == "target" and e.value.value == "gcp" and "openstack" in str(e.value)


# --- issue 2, "Done when": centos6-xen-pv on ec2 ---------------------------------------------

def test_centos6_ec2_checklist(example):
    plan = make_plan(example("centos6-xen-pv"), "ec2")
    kernel = plan.find("install-kernel", "kernel")
    assert kernel and kernel.rule == "pkg-kernel" and "Xen PV" in kernel.reason
    assert plan.find("install-kernel", "grub").rule == "pkg-kernel"           # a bootloader
    assert plan.find("remove-package", "kernel-xen").rule == "pkg-kernel"
    svc = services(plan)
    assert svc["hal"] == ("disable-service", "ec2-services")
    assert svc["haldaemon"] == ("disable-service", "ec2-services")
    assert svc["iptables"][0] == "disable-service" and svc["ip6tables"][0] == "disable-service"
    assert svc["network"][0] == "enable-service"
    assert svc["libvirtd"] == ("disable-service", "svc-libvirtd")
    assert svc["sshd"] == ("enable-service", "svc-sshd")
    nfs = plan.by_rule("fstab-nfs")
    assert [c.data["line"] for c in nfs] == [
        "filer01:/vol/dumps /var/lib/mysql-dumps nfs rw,bg,hard,nfsvers=3 0 0"]
    assert nfs[0].action == "drop-fstab-line" and "filer01:/vol/dumps" in nfs[0].reason
    adj = plan.find("reset-adjtime", "/etc/adjtime")
    assert adj.data["mode"] == "LOCAL" and adj.data["content"].splitlines()[2] == "LOCAL"
    assert adj.data["content"].splitlines()[0] == "0.0 0 0.0"
    assert plan.find("regen-grub", "grub-legacy").rule == "boot-regen"
    assert plan.by_action("regen-initramfs")[0].rule == "boot-regen"


def test_centos6_ec2_firewall_option(example):
    plan = make_plan(example("centos6-xen-pv"), "ec2", Options(firewall=True))
    svc = services(plan)
    assert svc["iptables"] == ("enable-service", "svc-firewall")
    assert svc["ip6tables"] == ("enable-service", "svc-firewall")
    assert "overrides ec2-services" in plan.find("enable-service", "iptables").reason
    # the rest of the ec2 rule stands
    assert svc["hal"] == ("disable-service", "ec2-services") and svc["network"][0] == "enable-service"


# --- the build a Plan asks for -----------------------------------------------------------------

def test_build_debian(example):
    b = make_plan(example("debian12-web"), "kvm").build
    assert b.elements == ("debian-minimal", "vm") and b.release == "bookworm" and b.arch == "amd64"
    assert (b.image_type, b.output_format) == ("qcow2", "qcow2")
    assert b.environment["DIB_RELEASE"] == "bookworm"
    assert b.environment["DIB_APT_MINIMAL_CREATE_INTERFACES"] == "0"
    assert b.environment["DIB_BOOTLOADER_DEFAULT_CMDLINE"] == \
        "net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200"


def test_build_azure_cmdline(example):
    b = make_plan(example("debian12-web"), "azure").build
    assert (b.image_type, b.output_format) == ("raw", "vhd")
    assert b.environment["DIB_BOOTLOADER_DEFAULT_CMDLINE"] == \
        "net.ifnames=0 biosdevname=0 console=ttyS0 earlyprintk=ttyS0"


def test_build_uefi_and_extra_elements(example):
    b = plan_of(example("rocky9-vmware"), "openstack", extra_elements=("site-ca", "vm")).build
    assert b.elements == ("rocky-container", "vm", "block-device-efi", "site-ca")
    assert b.release == "9" and "DIB_APT_MINIMAL_CREATE_INTERFACES" not in b.environment


def test_build_rootfs_strategy(example):
    b = plan_of(example("centos6-xen-pv"), "kvm", strategy="rootfs").build
    assert b.elements[:2] == ("migrate-rootfs", "yum") and b.release == "6.10"


@pytest.mark.parametrize("name,init", [("centos6-xen-pv", "sysv"), ("debian12-web", "systemd")])
def test_build_rootfs_strategy_names_the_init_system(example, name, init):
    """No distro element under rootfs: DIB's dib-init-system stops the build without DIB_INIT_SYSTEM
    ("DIB_INIT_SYSTEM is not set! Can not continue", issue 13, the matrix's trixie rootfs cell)."""
    report = example(name)
    assert report.init_system == init
    b = plan_of(report, "kvm", strategy="rootfs").build
    assert b.environment["DIB_INIT_SYSTEM"] == init
    assert "DIB_INIT_SYSTEM" not in plan_of(report, "kvm").build.environment    # the distro element's job


@pytest.mark.parametrize("name,distro", [("centos6-xen-pv", "centos"), ("debian12-web", "debian")])
def test_build_rootfs_strategy_exports_what_a_distro_element_would(example, name, distro):
    """The trixie rootfs cell, rebuilt with DIB_INIT_SYSTEM, stopped in dpkg's root.d/50-shared-apt-cache:
    "DISTRO_NAME: unbound variable"; DIB's bootloader reads EFI_BOOT_DIR under set -u on a UEFI image."""
    b = plan_of(example(name), "kvm", strategy="rootfs").build
    assert b.environment["DISTRO_NAME"] == distro and b.environment["EFI_BOOT_DIR"] == "EFI/" + distro
    packages = plan_of(example(name), "kvm").build.environment
    assert "DISTRO_NAME" not in packages and "EFI_BOOT_DIR" not in packages


def test_build_user_environment_wins(example):
    b = plan_of(example("debian12-web"), "kvm", environment={"DIB_RELEASE": "trixie", "X": "1"}).build
    assert b.environment["DIB_RELEASE"] == "trixie" and b.environment["X"] == "1"
