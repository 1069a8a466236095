"""boot-console, boot-azure, boot-drivers, boot-regen."""
import pytest

from dib_migrate.targets import TARGETS

from ..helpers import plan_of


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_drivers_per_target(example, target):
    (c,) = plan_of(example("debian12-web"), target).by_rule("boot-drivers")
    assert c.action == "initramfs-drivers" and c.data["drivers"] == list(TARGETS[target].drivers)
    assert "host-only off" in c.reason


def test_driver_sets(example):
    def drivers(t):
        return set(plan_of(example("centos6-xen-pv"), t).by_rule("boot-drivers")[0].data["drivers"])
    assert {"virtio_blk", "virtio_net"} <= drivers("openstack") and {"virtio_blk"} <= drivers("kvm")
    assert {"nvme", "ena", "xen_blkfront", "xen_netfront"} <= drivers("ec2")
    assert {"hv_vmbus", "hv_storvsc", "hv_netvsc"} <= drivers("azure")


@pytest.mark.parametrize("target,console", [("openstack", ["console=tty0", "console=ttyS0,115200"]),
                                            ("ec2", ["console=tty0", "console=ttyS0,115200"]),
                                            ("kvm", ["console=tty0", "console=ttyS0,115200"]),
                                            ("azure", ["console=ttyS0"])])
def test_serial_console_everywhere(example, target, console):
    (c,) = plan_of(example("centos6-xen-pv"), target).by_rule("boot-console")
    assert c.data["args"] == console


def test_azure_kernel_args(example):
    plan = plan_of(example("rocky9-vmware"), "azure")
    (c,) = plan.by_rule("boot-azure")
    assert c.data["args"] == ["earlyprintk=ttyS0", "rootdelay=300"]
    cmdline = plan.build.environment["DIB_BOOTLOADER_DEFAULT_CMDLINE"].split()
    assert {"console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300"} <= set(cmdline)
    assert "net.ifnames=0" in cmdline              # ens192 is renamed eth0, held by net.ifnames=0
    for target in ("openstack", "ec2", "kvm"):
        assert not plan_of(example("rocky9-vmware"), target).by_rule("boot-azure")


@pytest.mark.parametrize("name", ["debian12-web", "ubuntu2204-netplan"])
def test_azure_rootdelay_left_out_where_initramfs_sleeps_it(example, name):
    """initramfs-tools sleeps rootdelay seconds on every boot (it waits for the root device by
    itself): rootdelay=300 is five minutes per boot, so the Debian family leaves it out, in the open."""
    plan = plan_of(example(name), "azure")
    (c,) = plan.by_rule("boot-azure")
    assert c.data["args"] == ["earlyprintk=ttyS0"]
    assert "rootdelay=300 left out" in c.reason and "initramfs-tools" in c.reason
    assert "rootdelay" not in plan.build.environment["DIB_BOOTLOADER_DEFAULT_CMDLINE"]


@pytest.mark.parametrize("name,loader", [("debian12-web", "grub2"), ("centos6-xen-pv", "grub-legacy"),
                                         ("rocky9-vmware", "grub2"), ("sles15-wicked", "grub2")])
def test_regen_grub_and_initramfs(example, name, loader):
    plan = plan_of(example(name))
    (grub,) = plan.by_action("regen-grub")
    assert grub.rule == "boot-regen" and grub.subject == loader and grub.data["bootloader"] == loader
    (initramfs,) = plan.by_action("regen-initramfs")
    assert initramfs.rule == "boot-regen"
