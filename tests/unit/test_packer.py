"""Packer hand-off: `render/build --packer` writes both templates; the real `packer validate` reads them."""
import json
import shutil
import subprocess

import pytest

from dib_migrate import packer
from dib_migrate.cli import main
from dib_migrate.errors import InputError
from dib_migrate.options import Options
from dib_migrate.plan import make_plan
from dib_migrate.render import data_files, static_elements

from .helpers import EXAMPLES

DEBIAN = str(EXAMPLES / "debian12-web" / "report.yaml")
needs_packer = pytest.mark.skipif(not shutil.which("packer"), reason="packer is not installed (Debian package "
                                  "`packer`, installed by tools/setup-host): templates not validated")
PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL9HC32jOYbe0Cdz9cMqeKogiyB7VZP47B1kXfEpISlV someone@somewhere"


def _render(capsys, tmp_path, target="kvm", *extra):
    out = tmp_path / "out"
    code = main(["render", DEBIAN, "--target", target, "-o", str(out), "--packer"] + list(extra))
    stdout, err = capsys.readouterr()
    assert code == 0, err
    return out, stdout


def _validate(template):
    r = subprocess.run(["packer", "validate", template.name], cwd=str(template.parent),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


@needs_packer
@pytest.mark.parametrize("target", ["openstack", "ec2", "azure", "kvm"])
def test_packer_validates_both_templates(capsys, tmp_path, target):
    out, stdout = _render(capsys, tmp_path, target)
    first, second = out / ("web01-%s.packer.json" % target), out / ("web01-%s.provision.packer.json" % target)
    assert "packer build %s" % first in stdout and "packer build %s" % second in stdout
    for template in (first, second):
        code, text = _validate(template)
        assert code == 0, "%s:\n%s" % (template.name, text)


@needs_packer
def test_packer_validate_catches_a_broken_template(capsys, tmp_path):
    # the validation above can fail: a qemu builder without its key file is refused
    out, _ = _render(capsys, tmp_path)
    (out / "web01-kvm.packer-key").unlink()
    code, text = _validate(out / "web01-kvm.provision.packer.json")
    assert code != 0 and "ssh_private_key_file" in text


def test_pattern1_runs_dib_migrate_build_with_the_same_options(capsys, tmp_path):
    out, _ = _render(capsys, tmp_path, "ec2", "--firewall", "--identity", "reset")
    tpl = json.loads((out / "web01-ec2.packer.json").read_text())
    assert tpl["builders"] == [{"type": "null", "communicator": "none"}]
    shell, artifice, checksum = tpl["post-processors"][0]
    assert [shell["type"], artifice["type"], checksum["type"]] == ["shell-local", "artifice", "checksum"]
    env = dict(e.split("=", 1) for e in shell["environment_vars"])
    words = [env["DIB_MIGRATE_ARG%d" % i] for i in range(len([k for k in env if k.startswith("DIB_MIGRATE_ARG")]))]
    assert words[words.index("build") + 1] == DEBIAN
    assert words[words.index("--target") + 1] == "ec2" and words[words.index("--identity") + 1] == "reset"
    assert "--firewall" in words and "--packer" not in words
    # values reach the shell only as quoted variables, never spliced into the command text
    assert DEBIAN not in shell["inline"][0] and "$DIB_MIGRATE_ARG1" in shell["inline"][0]
    assert artifice["files"] == ["{{user `output_dir`}}/web01-ec2.raw"]
    # a build's OUTDIR cannot be an element set: pattern 1 of `render` builds beside it
    assert tpl["variables"]["output_dir"] == str(out) + "-image"


def test_pattern2_boots_the_image_with_the_temporary_key_and_removes_it_last(capsys, tmp_path):
    out, _ = _render(capsys, tmp_path, "openstack")
    tpl = json.loads((out / "web01-openstack.provision.packer.json").read_text())
    b = tpl["builders"][0]
    assert (b["type"], b["disk_image"], b["headless"], b["format"]) == ("qemu", True, True, "qcow2")
    assert b["accelerator"] == "{{user `accelerator`}}" and tpl["variables"]["accelerator"] == "tcg"
    assert b["ssh_username"] == "root"
    assert tpl["variables"]["ssh_private_key_file"] == str(out / "web01-openstack.packer-key")
    assert tpl["variables"]["source_image"] == str(out / "web01-openstack.qcow2")
    last = tpl["provisioners"][-1]["inline"]
    assert "m=dib-migrate-packer-provision" in last and "f=/root/.ssh/authorized_keys" in last
    # the public half went into the element data, with the marker as its only comment
    pub = (out / "web01-openstack.packer-key.pub").read_text().split()
    data = next(out.glob("elements/*/migrate-data/packer/authorized_key")).read_text()
    assert data == "%s %s dib-migrate-packer-provision\n" % (pub[0], pub[1])
    assert (out / "web01-openstack.packer-key").stat().st_mode & 0o077 == 0


def test_azure_pattern2_writes_raw_then_a_fixed_vhd():
    plan = make_plan(_report(), "azure", Options(packer_key=PUB))
    tpl = packer.qemu_template(plan, "/x/web01-azure.vhd", "/x/out", "/x/key")
    assert tpl["builders"][0]["format"] == "raw"
    shell, artifice, checksum = tpl["post-processors"][0]
    assert "subformat=fixed,force_size" in " ".join(shell["inline"])
    assert artifice["files"] == ["{{user `output_directory`}}/web01-azure.vhd"]
    assert tpl["variables"]["output_directory"] == "/x/out"


def _report():
    from dib_migrate.report import load_report
    return load_report(DEBIAN)


def test_provision_key_change_and_element():
    plan = make_plan(_report(), "kvm", Options(packer_key=PUB))
    [c] = plan.by_rule("packer-provision")
    assert (c.action, c.subject, c.area) == ("provision-key", "/root/.ssh/authorized_keys", "files")
    # the caller's comment is replaced by the marker: nothing else lands in authorized_keys
    assert c.data["public_key"] == " ".join(PUB.split()[:2] + ["dib-migrate-packer-provision"])
    assert "migrate-packer-key" in static_elements(plan)
    assert data_files(plan, _report())["packer/authorized_key"] == c.data["public_key"] + "\n"
    assert not make_plan(_report(), "kvm", Options()).by_rule("packer-provision")


def test_provision_key_refuses_what_is_not_a_public_key():
    with pytest.raises(InputError) as e:
        make_plan(_report(), "kvm", Options(packer_key="ssh-ed25519 not;base64 x"))
    assert "field public key = 'ssh-ed25519 not;base64 x'" in str(e.value)


def test_braces_in_a_path_are_refused_before_anything_is_written(capsys, tmp_path):
    out = tmp_path / "a{{b}}"
    code = main(["render", DEBIAN, "--target", "kvm", "-o", str(out), "--packer"])
    _, err = capsys.readouterr()
    assert code == 2 and "field output = '%s'" % out in err and "'{{'" in err
    assert not out.exists()


def test_readme_packer_commands_as_written(tmp_path):
    """The README's Packer block, run from a fresh directory: dib-migrate lines as written (a `build`
    line with --dry-run, which writes the same templates without the image), `packer build T` as
    `packer validate T` (a real Packer build is the functional suite's)."""
    import re
    import shlex
    import sys
    from .helpers import ROOT
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- packer-commands -->\n```sh\n(.*?)```", text, re.S).group(1)
    lines = [ln for ln in block.splitlines() if ln and not ln.startswith("#")]
    want = [["dib-migrate", "render"], ["packer", "build"], ["dib-migrate", "build"], ["packer", "build"]]
    assert [ln.split()[:2] for ln in lines] == want
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for line in lines:
        words = shlex.split(line)
        if words[0] == "dib-migrate":
            argv = [sys.executable, "-m", "dib_migrate"] + words[1:] + (["--dry-run"] if words[1] == "build" else [])
            r = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, "%s\n%s" % (line, r.stderr)
        elif shutil.which("packer"):
            r = subprocess.run(["packer", "validate"] + words[2:], cwd=str(tmp_path), capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0, "%s\n%s%s" % (line, r.stdout, r.stderr)
        else:
            assert (tmp_path / words[2]).is_file(), line


def test_qemu_network_follows_the_kept_static_address():
    plan = make_plan(_report(), "kvm", Options(packer_key=PUB))
    # the example's eth0: 192.0.2.10/24, gateway 192.0.2.1, DNS 192.0.2.53
    assert packer.user_network(plan) == ("user,id=user.0,net=192.0.2.0/24,host=192.0.2.1,dns=192.0.2.53,"
                                         "dhcpstart=192.0.2.3,hostfwd=tcp::{{ .SSHHostPort }}-192.0.2.10:22")
    tpl = packer.qemu_template(plan, "/x/i.qcow2", "/x/out", "/x/key")
    assert tpl["builders"][0]["qemuargs"][0] == ["-netdev", packer.user_network(plan)]


def test_qemu_network_default_for_a_dhcp_first_interface(derive):
    def dhcp(data):
        data["network"]["interfaces"][0].update(mode="dhcp", addresses=[], gateway=None)
    plan = make_plan(derive("debian12-web", dhcp), "kvm", Options(packer_key=PUB))
    assert packer.user_network(plan) is None
    tpl = packer.qemu_template(plan, "/x/i.qcow2", "/x/out", "/x/key")
    assert [a[0] for a in tpl["builders"][0]["qemuargs"]] == ["-serial"]


def test_build_refuses_an_operators_file_under_a_template_name_before_building(capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["build", DEBIAN, "--target", "kvm", "-o", str(out), "--dry-run"]) == 0
    (out / "web01-kvm.packer.json").write_text("the operator's own\n")
    capsys.readouterr()
    code = main(["build", DEBIAN, "--target", "kvm", "-o", str(out), "--packer"])
    _, err = capsys.readouterr()
    assert code == 2 and "web01-kvm.packer.json" in err and "was not written by dib-migrate" in err
    assert (out / "web01-kvm.packer.json").read_text() == "the operator's own\n"
    assert not (out / "web01-kvm.packer-key").exists() and "disk-image-create started" not in err
