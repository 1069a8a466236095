"""The matrix's emulated clouds (tests/support): what the guest can reach, and the table the runner writes."""
import re

import pytest

from tests.support import matrix
from tests.support import metadata as md
from dib_migrate import qemu
from tests.support import vm as vmlib


def _user_nics(argv):
    return [argv[i + 1] for i, a in enumerate(argv) if a == "-nic" and argv[i + 1].startswith("user,")]


@pytest.mark.parametrize("service", sorted(md.SERVICES))
def test_guests_reach_only_what_is_forwarded(tmp_path, monkeypatch, service):
    """The trixie azure cell's Azure datasource read 169.254.169.254 through eth0's NAT and got 403 from the
    build host's own metadata service: every user-mode NIC of a test guest is restricted to its forwards."""
    monkeypatch.setattr(qemu, "image_format", lambda image: "raw")
    monkeypatch.setattr(md.AzureProvisioning, "iso", lambda self, workdir: tmp_path / "ovf-env.iso")
    monkeypatch.setattr(md, "config_drive", lambda path, *a: path)
    s = md.SERVICES[service]("web-fx-cloud", "ssh-ed25519 AAAA k", "52:54:00:00:00:01")
    with s:
        extra = s.qemu_args(tmp_path, "e1000")
    argv = vmlib.VM(tmp_path / "disk.raw", tmp_path, "u", "k", accel="tcg", extra_args=extra).argv()
    nics = _user_nics(argv)
    assert nics and all("restrict=on" in n.split(",") for n in nics), nics
    assert any("hostfwd=tcp:127.0.0.1:" in n for n in nics)
    for n in nics:
        if "guestfwd=" in n:
            # libslirp forwards a guest address only inside the NIC's own network
            assert "net=169.254.0.0/16" in n and "guestfwd=tcp:169.254.169.254:80-cmd:" in n


def test_table_lists_each_cell_and_its_notes():
    r = matrix.Result(cell="trixie-kvm-uefi-rootfs", hardware="UEFI, virtio disk, virtio-net-pci", build_s=100.0,
                      image_mib=600.0, verify="PASS 40/40", compare="0 unexplained", boot_s=90.0,
                      app="ok (page identical)", metadata="none", identity="ok", root_device="/dev/vda3",
                      notes=["booted bios, expected uefi"])
    text = matrix.table([r])
    row = [ln for ln in text.splitlines() if ln.startswith("| trixie-kvm-uefi-rootfs")][0]
    assert re.search(r"\| 100.0 \| 600.0 \| PASS 40/40 \| 0 unexplained \| 90.0 \|", row), row
    assert "- trixie-kvm-uefi-rootfs: booted bios, expected uefi" in text
    assert r.passed
    assert not matrix.Result(cell="x", hardware="y", verify="PASS", app="ok", identity="ok", error="boot: x").passed
