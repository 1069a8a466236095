"""Packer hand-off (issue 15) with the real `packer` 1.6 from Debian: pattern 1 (null builder,
shell-local running dib-migrate build, artifice, checksum) builds the fixture server's KVM
image; pattern 2 (qemu builder, TCG) boots that image, a site provisioner writes a marker
file, the last provisioner removes the temporary key; the final image is then read offline.

One dib-migrate build serves both: pattern 1 runs it with ``build_args=--packer --no-compress``
(the template's variable for extra build options), so its image carries the provisioning key
and pattern 2 starts from it."""
import hashlib
import json
import os
import shutil
import subprocess
import time

import pytest

from tests.support import fixture as fx
from tests.support.dibhost import cli, env
from dib_migrate.verify.image import open_image

pytestmark = [pytest.mark.functional,
              pytest.mark.skipif(not shutil.which("packer"), reason="packer is not installed "
                                 "(Debian package `packer`; tools/setup-host installs it)")]

TARGET = "kvm"
NAME = "%s-%s" % (fx.HOSTNAME, TARGET)
MARKER_FILE = "/var/lib/site-provisioned"


def _packer(workdir, *args, timeout=1500):
    start = time.monotonic()
    r = subprocess.run(["packer", "build", "-color=false"] + [str(a) for a in args], cwd=str(workdir),
                       capture_output=True, text=True, timeout=timeout, env=env())
    seconds = time.monotonic() - start
    assert r.returncode == 0, "packer build %s exited %d\n%s\n%s" % (
        " ".join(map(str, args)), r.returncode, r.stdout[-6000:], r.stderr[-3000:])
    return r.stdout + r.stderr, seconds


@pytest.fixture(scope="module")
def pattern1(workdir, report):
    tpl = workdir / "packer-tpl"
    out = workdir / "packer-out"
    log = workdir / "packer-pattern1.log"
    if os.environ.get("DIB_MIGRATE_REUSE_BUILDS") == "1" and (out / (NAME + ".qcow2")).is_file() and log.is_file():
        return out, log.read_text()
    for d in (tpl, out):
        shutil.rmtree(d, ignore_errors=True)
    cli("render", report, "--target", TARGET, "-o", tpl, "--packer")
    stdout, seconds = _packer(workdir, "-var", "output_dir=%s" % out,
                              "-var", "build_args=--packer --no-compress", tpl / (NAME + ".packer.json"))
    print("pattern 1: packer build (dib-migrate build inside) %.0fs" % seconds)
    log.write_text(stdout)
    return out, stdout


def test_pattern1_registers_and_checksums_the_image(pattern1):
    out, stdout = pattern1
    image = out / (NAME + ".qcow2")
    assert image.is_file()
    assert "artifice" in stdout and "checksum" in stdout
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert digest in (out / (NAME + ".qcow2.sha256")).read_text()
    # the closing summary of dib-migrate build comes through Packer's output
    assert "  image:   %s\n" % image in stdout and "next: dib-migrate verify %s" % image in stdout


@pytest.fixture(scope="module")
def pattern2(workdir, pattern1):
    out, _ = pattern1
    tpl = json.loads((out / (NAME + ".provision.packer.json")).read_text())
    assert tpl["builders"][0]["accelerator"] == "{{user `accelerator`}}"
    assert tpl["variables"]["accelerator"] == "tcg"
    # what a site does: its own provisioner, before the last one (which removes the key)
    tpl["provisioners"].insert(-1, {"type": "shell", "inline": [
        "echo \"provisioned by packer on $(hostname)\" > %s" % MARKER_FILE]})
    site = workdir / "site.provision.packer.json"
    site.write_text(json.dumps(tpl, indent=2))
    final_dir = out / (NAME + ".provisioned")
    shutil.rmtree(final_dir, ignore_errors=True)
    # the fixture's kept static address is qemu's default; the template sets the network up for it
    assert tpl["builders"][0]["qemuargs"][0] == ["-netdev", "user,id=user.0,net=10.0.2.0/24,host=10.0.2.2,"
                                                 "dns=10.0.2.3,dhcpstart=10.0.2.4,"
                                                 "hostfwd=tcp::{{ .SSHHostPort }}-10.0.2.15:22"]
    stdout, seconds = _packer(workdir, site)
    print("pattern 2: packer build (qemu TCG boot, provisioners) %.0fs" % seconds)
    assert "temporary provisioning key removed" in stdout
    return out, final_dir / (NAME + ".qcow2"), stdout


def test_pattern2_final_image_has_the_marker_and_no_key(pattern2, source):
    out, final, _ = pattern2
    with open_image(final) as m:
        assert m.path(MARKER_FILE).read_text() == "provisioned by packer on %s\n" % fx.HOSTNAME
        # the fixture's root had no authorized_keys: the file the element created is gone again
        assert not m.path("/root/.ssh/authorized_keys").exists()
        # the provisioning boot kept the identity
        assert m.path("/etc/machine-id").read_text().strip() == source.machine_id
        assert m.path("/etc/ssh/ssh_host_ed25519_key.pub").read_text().strip() == source.host_key_pub


def test_verify_proves_the_key_gone_only_after_provisioning(pattern2):
    out, final, _ = pattern2
    before = cli("verify", out / (NAME + ".qcow2"), "--plan", out / (NAME + ".plan.json"), check=False, timeout=600)
    line = [ln for ln in before.stdout.splitlines() if " provision-key " in ln]
    assert line and line[0].startswith("FAIL packer-provision provision-key /root/.ssh/authorized_keys "
                                       "temporary key still in"), before.stdout
    after = cli("verify", final, "--plan", out / (NAME + ".plan.json"), check=False, timeout=600)
    line = [ln for ln in after.stdout.splitlines() if " provision-key " in ln]
    assert line and line[0].startswith("PASS packer-provision provision-key /root/.ssh/authorized_keys "
                                       "temporary key gone"), after.stdout
