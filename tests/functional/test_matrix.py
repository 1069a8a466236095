"""The CI subset of the proof matrix (issue 13; the whole matrix is `tox -e matrix`).

Every target format is booted once on its cloud's virtual hardware: the OpenStack qcow2 on
virtio (test_boot.py, with a ConfigDrive), here the EC2 raw image with its root disk on NVMe
against an IMDSv2 endpoint and the Azure fixed VHD as is on the IDE bus with its provisioning
ISO (both reuse conftest's bookworm builds), and one more cell built here: a Debian 13 source,
scanned --full, built with --strategy rootfs for a UEFI machine and booted under OVMF (its ESP left
to the image's boot loader: skip-esp; verify reads EFI/BOOT/BOOTX64.EFI on it).
"""
import pytest

from tests.support import matrix

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def work(workdir, keypair):
    return matrix.Workdir(workdir)          # the same key pair as conftest's (one per workdir)


def _boot(work, cell, source, image):
    result = matrix.Result(cell=cell.name, hardware=cell.hardware)
    matrix.boot(work, cell, source, image, result)
    print("%s: %s" % (cell.name, result))
    assert result.app.startswith("ok"), result.app
    assert result.identity.startswith("ok"), result.identity
    assert result.root_device.startswith(matrix.ROOT_PREFIX[cell.disk_bus]), result.root_device
    assert result.facts["firmware"] == cell.firmware
    assert not result.metadata.startswith("FAIL"), result.metadata
    return result


def test_ec2_raw_boots_with_its_root_on_nvme(work, build, source):
    ec2 = build("ec2")
    cell = matrix.Cell("bookworm", "ec2", metadata="ec2-imdsv2")
    r = _boot(work, cell, source, ec2.image)
    assert r.facts["eth0"] == "10.0.2.15/24"        # static eth0 kept on a NIC model it never had


def test_azure_vhd_boots_as_is_on_ide_without_rootdelay(work, build, source):
    az = build("azure")
    cell = matrix.Cell("bookworm", "azure", metadata="azure-ovf+imds")
    r = _boot(work, cell, source, az.image)
    assert "rootdelay" not in r.facts["cmdline"]
    assert r.facts["cmdline"].split().count("earlyprintk=ttyS0") == 1, r.facts["cmdline"]
    # initramfs-tools slept 300 s with rootdelay=300: TCG boots of this image take about a minute
    assert r.boot_s < 240, r.boot_s


def test_trixie_rootfs_uefi_cell(work):
    """A second release (Debian 13), the rootfs strategy from a `scan --full` and a UEFI source in one build,
    booted under OVMF with a fresh NVRAM: the image's ESP boots through GRUB EFI on the removable path."""
    cell = matrix.Cell("trixie", "kvm", firmware="uefi", strategy="rootfs")
    r = matrix.run_cell(work, cell)
    print("%s: %s" % (cell.name, r))
    assert not r.error, r.error
    assert r.verify.startswith("PASS"), r.verify
    assert r.compare == "0 unexplained", r.notes
    assert r.facts["firmware"] == "uefi" and r.root_device.startswith("/dev/vda"), r.facts
    assert not r.facts["failed_units"].split(), r.facts["failed_units"]
    assert r.passed, r
