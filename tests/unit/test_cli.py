"""The CLI: plan/render/build/targets; bad input exits 2 naming the field and writes nothing."""
import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from dib_migrate.cli import main

from .helpers import EXAMPLES, FIXTURES, dib_resolve, dump_yaml, source_data
from .test_build import parse_shell, split_env
from .test_overlay import HOSTILE, make_tar

DEBIAN = str(EXAMPLES / "debian12-web" / "report.yaml")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- build --dry-run: the issue-2 check ------------------------------------------------------

def test_build_dry_run_prints_a_complete_command(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "build", DEBIAN, "--target", "kvm", "-o", str(out_dir), "--dry-run")
    assert code == 0, err
    env, argv = split_env(parse_shell(out))
    assert os.path.basename(argv[0]) == "disk-image-create"
    assert argv[argv.index("-t") + 1] == "qcow2" and argv[argv.index("-a") + 1] == "amd64"
    assert argv[argv.index("-o") + 1] == str(out_dir / "web01-kvm")
    assert argv[argv.index("--logfile") + 1] == str(out_dir / "web01-kvm.log")
    elements = argv[argv.index("--logfile") + 2:]
    assert elements == ["debian-minimal", "vm", "migrate-host-web01"]
    assert env["DIB_RELEASE"] == "bookworm"
    assert env["DIB_BOOTLOADER_DEFAULT_CMDLINE"] == \
        "net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200"
    paths = env["ELEMENTS_PATH"].split(os.pathsep)
    host_el = os.path.join(paths[0], "migrate-host-web01")
    assert paths[0] == str(out_dir / "web01-kvm.elements" / "elements") and os.path.isdir(host_el)
    with open(os.path.join(host_el, "element-deps")) as f:
        deps = f.read().split()
    for dep in deps:
        assert any(os.path.isdir(os.path.join(p, dep)) for p in paths[1:]), dep
    pytest.importorskip("diskimage_builder.element_dependencies")
    assert set(deps) <= dib_resolve(elements, paths)


def test_console_script_dry_run(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "dib-migrate")
    if not os.path.exists(exe):
        pytest.skip("dib-migrate console script not installed")
    # a plain PATH, no activated virtualenv: DIB is found beside the interpreter
    p = subprocess.run([exe, "build", DEBIAN, "--target", "kvm", "-o", str(tmp_path / "o"), "--dry-run"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ.get("HOME", "/root")})
    assert p.returncode == 0, p.stderr
    assert split_env(parse_shell(p.stdout))[1][0] == os.path.join(os.path.dirname(exe), "disk-image-create")


# --- plan / render / targets -----------------------------------------------------------------

def test_plan_json(capsys):
    code, out, _ = run(capsys, "plan", str(EXAMPLES / "centos6-xen-pv" / "report.yaml"), "-t", "ec2",
                       "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["target"] == "ec2" and all("rule" in c for c in doc["changes"])
    assert {"action": "drop-fstab-line", "rule": "fstab-nfs"}.items() <= \
        next(c for c in doc["changes"] if c["rule"] == "fstab-nfs").items()


def test_plan_yaml_firewall(capsys):
    code, out, _ = run(capsys, "plan", str(EXAMPLES / "centos6-xen-pv" / "report.yaml"), "-t", "ec2",
                       "--format", "yaml", "--firewall")
    doc = yaml.safe_load(out)
    ipt = next(c for c in doc["changes"] if c["subject"] == "iptables")
    assert code == 0 and ipt["action"] == "enable-service" and ipt["rule"] == "svc-firewall"


def test_plan_table(capsys):
    code, out, _ = run(capsys, "plan", DEBIAN, "-t", "openstack")
    assert code == 0
    for head in ("NETWORK", "PACKAGES", "FILES", "SERVICES", "BOOT"):
        assert head in out
    assert "fstab-nfs" in out and "svc-keep" in out


def test_plan_with_install_profile(capsys):
    code, out, _ = run(capsys, "plan", DEBIAN, "-t", "kvm", "--format", "json", "--install-profile",
                       str(FIXTURES / "profiles" / "web01-readdress.yaml"))
    assert code == 0
    rules = [c["rule"] for c in json.loads(out)["changes"]]
    assert "pkg-whitebox" in rules


def test_render(capsys, tmp_path):
    code, out, _ = run(capsys, "render", DEBIAN, "-t", "ec2", "-o", str(tmp_path / "r"))
    assert code == 0 and "image.yaml" in out
    assert (tmp_path / "r" / "elements" / "migrate-host-web01" / "element-deps").is_file()


def test_targets(capsys):
    code, out, _ = run(capsys, "targets")
    assert code == 0
    for t in ("openstack", "ec2", "azure", "kvm", "pkg-azure-agent", "ec2-services", "boot-drivers"):
        assert t in out


def test_no_command(capsys):
    assert run(capsys)[0] == 2


def test_bad_element_name(capsys, tmp_path):
    code, _out, err = run(capsys, "build", DEBIAN, "-t", "kvm", "-o", str(tmp_path / "o"), "--dry-run",
                          "--element", "x;reboot")
    assert code == 2 and "--element" in err and not (tmp_path / "o").exists()


def test_bad_profile_exit_2(capsys, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("keyboard: 'us; reboot'\n")
    code, _out, err = run(capsys, "build", DEBIAN, "-t", "kvm", "-o", str(tmp_path / "o"), "--dry-run",
                          "--install-profile", str(p))
    assert code == 2 and "keyboard" in err and not (tmp_path / "o").exists()


# --- bad input: exit 2, the field named, nothing written --------------------------------------

def _report(tmp_path, mutate=None, archive_members=None):
    data = source_data("debian12-web")
    d = tmp_path / "src"
    d.mkdir()
    if archive_members is not None:
        archive = make_tar(d / "overlay.tar.gz", archive_members)
        data["overlay"]["sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    else:
        data["overlay"] = None
    if mutate:
        mutate(data)
    (d / "report.yaml").write_text(dump_yaml(data))
    return str(d / "report.yaml")


def _service(d):
    d["services"][12]["name"] = "nginx;reboot"


def _sha(d):
    d["overlay"]["sha256"] = "f" * 64


BAD = {
    "malformed": (lambda tmp: str(FIXTURES / "bad" / "malformed.yaml"), "not valid YAML"),
    "schema-version": (lambda tmp: str(FIXTURES / "bad" / "schema-v2.yaml"), "field schema_version = 2"),
    "service-metachar": (lambda tmp: _report(tmp, _service), "field services[12].name = 'nginx;reboot'"),
    "windows": (lambda tmp: str(FIXTURES / "bad" / "windows.yaml"), "field os.family = 'windows'"),
    "overlay-sha256": (lambda tmp: _report(tmp, _sha, archive_members=[("etc/motd", "file")]),
                       "field overlay.sha256"),
    "overlay-dotdot": (lambda tmp: _report(tmp, archive_members=HOSTILE["dotdot"][0]),
                       "field overlay.archive"),
    "overlay-absolute": (lambda tmp: _report(tmp, archive_members=HOSTILE["absolute"][0]),
                         "field overlay.archive"),
    "overlay-symlink": (lambda tmp: _report(tmp, archive_members=HOSTILE["through-symlink"][0]),
                        "field overlay.archive"),
    "missing-report": (lambda tmp: str(tmp / "nope.yaml"), "cannot read the report"),
}


@pytest.mark.parametrize("command", ["build", "render", "plan"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_and_writes_nothing(capsys, tmp_path, command, case):
    make, words = BAD[case]
    report = make(tmp_path)
    out_dir = tmp_path / "out"
    argv = [command, report, "--target", "kvm"]
    if command != "plan":
        argv += ["-o", str(out_dir)]
    if command == "build":
        argv.append("--dry-run")
    before = sorted(os.listdir(str(tmp_path)))
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert words in err and err.startswith("dib-migrate: error: ")
    assert "Traceback" not in err and out == ""
    assert not out_dir.exists() and sorted(os.listdir(str(tmp_path))) == before


@pytest.mark.parametrize("command", ["build", "render", "plan"])
def test_unknown_target_exits_2(capsys, tmp_path, command):
    argv = [command, DEBIAN, "--target", "gcp"] + ([] if command == "plan" else ["-o", str(tmp_path / "o")])
    code, _out, err = run(capsys, *argv)
    assert code == 2 and "field target = 'gcp'" in err and "openstack" in err
    assert not (tmp_path / "o").exists()


def test_existing_output_left_unchanged_on_bad_input(capsys, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep").write_text("x")
    code, _o, _e = run(capsys, "render", str(FIXTURES / "bad" / "windows.yaml"), "-t", "kvm",
                       "-o", str(out_dir))
    assert code == 2 and os.listdir(str(out_dir)) == ["keep"]


def test_centos6_packages_build_refused(capsys, tmp_path):
    code, _o, err = run(capsys, "build", str(EXAMPLES / "centos6-xen-pv" / "report.yaml"), "-t", "ec2", "-o",
                        str(tmp_path / "o"), "--dry-run")
    assert code == 2 and "field os.distro" in err and "--strategy rootfs" in err
    assert not (tmp_path / "o").exists()


# --- blockers: typed pre-flight findings stop a build, warnings do not ------------------------

def test_mirror_blocker_refuses_build_naming_field_and_value(capsys, tmp_path, monkeypatch):
    from dib_migrate import mirror
    index = {"nginx": {"1"}}            # the mirror has nginx only
    monkeypatch.setattr(mirror, "fetch_index", lambda *a, **k: index)
    code, out, err = run(capsys, "plan", DEBIAN, "-t", "kvm", "--check-mirror")
    assert code == 0 and "BLOCKERS (1)" in out and "preflight-mirror" in out
    code, out, err = run(capsys, "build", DEBIAN, "-t", "kvm", "-o", str(tmp_path / "o"), "--dry-run",
                         "--check-mirror")
    assert code == 2 and "field packages = '" in err and "= None" not in err and "Fix:" in err
    assert "linux-image-amd64" in err and not (tmp_path / "o").exists()


def test_warnings_alone_do_not_refuse_a_build(capsys, tmp_path):
    # rocky9 has LVM and no overlay: warnings, no blocker
    code, out, err = run(capsys, "build", str(FIXTURES / "reports" / "rocky9-vmware.yaml"), "-t", "kvm",
                         "-o", str(tmp_path / "o"), "--dry-run")
    assert code == 0, err


def test_plan_json_carries_blockers(capsys):
    code, out, _err = run(capsys, "plan", str(EXAMPLES / "centos6-xen-pv" / "report.yaml"), "-t", "kvm",
                          "--format", "json")
    (b,) = json.loads(out)["blockers"]
    assert code == 0 and b["rule"] == "preflight-base" and b["field"] == "os.distro" and b["value"] == "centos 6.10"


def test_targets_lists_registered_rules(capsys):
    from dib_migrate.rule_registry import RULES
    code, out, _err = run(capsys, "targets")
    listed = [r.strip() for line in out.splitlines() if "rules:" in line for r in line.split("rules:")[1].split(",")]
    assert code == 0 and listed and set(listed) <= set(RULES) and "boot-azure" in listed


def test_network_dhcp_option(capsys):
    assert main(["plan", str(EXAMPLES / "debian12-web/report.yaml"), "--target", "ec2", "--network", "dhcp",
                 "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {c["data"]["mode"] for c in plan["changes"] if c["action"] == "set-network"} == {"dhcp"}
