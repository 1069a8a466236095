"""The targets of SPEC §4 and what each adds."""
import pytest

from dib_migrate.targets import TARGETS


def test_four_targets():
    assert sorted(TARGETS) == ["azure", "ec2", "kvm", "openstack"]


@pytest.mark.parametrize("name,fmt,itype,rules", [
    ("openstack", "qcow2", "qcow2", ["pkg-cloud-init", "openstack-services"]),
    ("ec2", "raw", "raw", ["ec2-services"]),
    ("azure", "vhd", "raw", ["pkg-azure-agent", "azure-services"]),
    ("kvm", "qcow2", "qcow2", []),
])
def test_formats_and_rules(name, fmt, itype, rules):
    t = TARGETS[name]
    assert (t.output_format, t.image_type, t.rules) == (fmt, itype, rules)


def test_drivers():
    assert {"virtio_blk", "virtio_net", "virtio_scsi"} <= set(TARGETS["openstack"].drivers)
    assert {"virtio_blk", "virtio_net"} <= set(TARGETS["kvm"].drivers)
    assert {"nvme", "ena", "xen_blkfront", "xen_netfront"} <= set(TARGETS["ec2"].drivers)
    assert {"hv_vmbus", "hv_storvsc", "hv_netvsc"} <= set(TARGETS["azure"].drivers)
    assert not any(d.startswith("hv_") for d in TARGETS["kvm"].drivers)


def test_kernel_args_and_swap():
    for name, t in TARGETS.items():
        assert any(a.startswith("console=ttyS0") for a in t.kernel_args), name
        assert t.swap_on_os_disk == (name != "azure")
    assert {"earlyprintk=ttyS0", "rootdelay=300", "console=ttyS0"} <= set(TARGETS["azure"].kernel_args)


def test_agents():
    assert [n for n, t in TARGETS.items() if t.cloud_init] == ["openstack"]
    assert [n for n, t in TARGETS.items() if t.azure_agent] == ["azure"]
    # no agent on kvm; its element gives a cloud-init the source carried the Plan's settings (the trixie
    # rootfs cell's verify: 91-dib-migrate.cfg missing)
    assert not TARGETS["kvm"].cloud_init and TARGETS["kvm"].cloud_element == "migrate-cloud-kvm"
