"""The boot smoke test's failure path on a real qemu: a disk that boots nothing is named, within its time-out,
and qemu is stopped (the passing path boots a built image in tests/fleet/test_fleet_functional.py)."""
import subprocess
import time

import pytest

from dib_migrate import qemu

pytestmark = [pytest.mark.functional, pytest.mark.skipif(not qemu.have_qemu(), reason="needs qemu-system-x86")]


def test_a_disk_that_boots_nothing_fails_within_the_timeout(tmp_path):
    disk = tmp_path / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    started = time.monotonic()
    with pytest.raises(qemu.BootError) as e:
        qemu.smoke(disk, tmp_path / "vm", "kvm", timeout=20, accel="tcg")
    assert time.monotonic() - started < 60
    assert str(e.value).startswith("neither SSH nor a login prompt on the serial console within 20s (tcg)")
    assert (tmp_path / "vm/qemu.argv").read_text().startswith("qemu-system-x86_64 -accel tcg")
    # stopped by its PID on the way out: no qemu left on this disk
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(disk) not in ps
