"""migrate-packer-key and the Packer template's key removal, on a real Debian 12 root: what the
hook adds for the provisioning boot, the last provisioner takes away, leaving root's own file as
the overlay laid it (byte for byte, mode and owner) or absent when the source had none."""
import os
import subprocess
from pathlib import Path

import pytest

from dib_migrate.packer import REMOVE_KEY
from dib_migrate.plan import make_plan
from dib_migrate.options import Options
from dib_migrate.render import render
from dib_migrate.report import load_report

from .hookrun import EXAMPLES, PACKAGES, Chroot, Hooks, debian_root, have_debootstrap

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL9HC32jOYbe0Cdz9cMqeKogiyB7VZP47B1kXfEpISlV dib-migrate-packer-provision"
OWN = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 admin@source\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO admin2"


def _data(tmp):
    report = load_report(str(EXAMPLES / "debian12-web" / "report.yaml"))
    plan = make_plan(report, "kvm", Options(packer_key=PUB))
    render(plan, report, str(tmp))
    (host,) = (Path(tmp) / "elements").glob("migrate-host-*")
    return host / "migrate-data"


@pytest.mark.parametrize("source", ["none", "own-keys", "no-final-newline"])
def test_key_added_then_removed_leaves_roots_own_state(tmp_path, source):
    root = debian_root(tmp_path / "root", include=PACKAGES)
    ssh, keys = root / "root/.ssh", root / "root/.ssh/authorized_keys"
    if ssh.exists():
        subprocess.run(["rm", "-rf", str(ssh)], check=True)
    before = None
    if source != "none":
        ssh.mkdir(mode=0o700)
        before = (OWN + ("\n" if source == "own-keys" else "")).encode()
        keys.write_bytes(before)
        os.chmod(keys, 0o640)
    hooks = Hooks(root, _data(tmp_path / "render"))
    with Chroot(root):
        res = hooks.run("post-install.d", "80-migrate-packer-key")
        lines = keys.read_text().splitlines()
        assert lines[-1] == PUB and "temporary provisioning key added" in res.stdout
        if source == "none":
            assert os.stat(keys).st_mode & 0o777 == 0o600 and os.stat(ssh).st_mode & 0o777 == 0o700
        else:
            assert keys.read_bytes().startswith(OWN.encode() + b"\n")
        # the template's last provisioner, as Packer's shell provisioner runs it (/bin/sh -e)
        r = subprocess.run(["chroot", str(root), "/bin/sh", "-e", "-c", REMOVE_KEY],
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "temporary provisioning key removed" in r.stdout
    if source == "none":
        assert not ssh.exists()
    else:
        assert keys.read_bytes() == before and os.stat(keys).st_mode & 0o777 == 0o640
