"""build: the disk-image-create command, the dry run, the run (subprocess mocked), VHD conversion."""
import io
import json
import os
import shlex

import pytest

from dib_migrate import build as build_mod, outputs
from dib_migrate.build import MIB, build, command, shell_text, to_fixed_vhd
from dib_migrate.errors import BuildError, InputError

from .helpers import plan_of


def parse_shell(text):
    """argv of the printed command, as the shell reads it (backslash-newline joins lines)."""
    return shlex.split(text.replace("\\\n", " "))


def split_env(words):
    assert words[0] == "env"
    env, i = {}, 1
    while "=" in words[i] and not words[i].startswith("-"):
        k, v = words[i].split("=", 1)
        env[k] = v
        i += 1
    return env, words[i:]


def test_command(example, tmp_path):
    plan = plan_of(example("debian12-web"), "kvm")
    argv, env = command(plan, [tmp_path / "els", tmp_path / "static"], tmp_path / "web01-kvm",
                        tmp_path / "log", environ={"PATH": "/usr/bin"})
    assert os.path.basename(argv[0]) == "disk-image-create"
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(argv[0])      # DIB's helpers beside it
    assert argv[1:9] == ["-a", "amd64", "-o", str(tmp_path / "web01-kvm"), "-t", "qcow2", "--logfile",
                         str(tmp_path / "log")]
    assert argv[9:] == ["debian-minimal", "vm", "migrate-host-web01"]
    assert env["ELEMENTS_PATH"] == os.pathsep.join([str(tmp_path / "els"), str(tmp_path / "static")])
    assert env["DIB_RELEASE"] == "bookworm" and "net.ifnames=0" in env["DIB_BOOTLOADER_DEFAULT_CMDLINE"]


def test_command_options(example, tmp_path):
    plan = plan_of(example("rocky9-vmware"), "azure")
    argv, env = command(plan, [tmp_path], tmp_path / "o", tmp_path / "log", compress=False, image_size=8,
                        environ={"ELEMENTS_PATH": "/site/elements"})
    assert "-u" in argv and argv[argv.index("--image-size") + 1] == "8"
    assert argv[argv.index("-t") + 1] == "raw"
    assert env["ELEMENTS_PATH"].endswith(os.pathsep + "/site/elements")
    assert "DIB_DEBIAN_SECURITY_MIRROR" not in env       # Debian-only settings stay out of a Rocky build


def test_shell_text_round_trip():
    argv = ["disk-image-create", "-o", "/tmp/a b", "el;reboot", "$(x)"]
    env = {"B": "two words", "A": "it's"}
    text = shell_text(argv, env)
    words = parse_shell(text)
    assert words == ["env", "A=it's", "B=two words"] + argv


def test_dry_run_prints_and_renders(example, tmp_path, capsys):
    out = tmp_path / "out"
    stream = io.StringIO()
    assert build(example("debian12-web"), plan_of(example("debian12-web"), "kvm"), out, dry_run=True,
                 stream=stream) is None
    env, argv = split_env(parse_shell(capsys.readouterr().out))
    assert os.path.basename(argv[0]) == "disk-image-create"
    el_dir = env["ELEMENTS_PATH"].split(os.pathsep)[0]
    assert os.path.isdir(os.path.join(el_dir, "migrate-host-web01"))
    assert "web01-kvm.elements" in stream.getvalue()
    assert sorted(os.listdir(out)) == [".dib-migrate.json", "web01-kvm.elements"]   # no image, log, work dir


def test_refuses_release_dib_cannot_rebuild(example, tmp_path):
    with pytest.raises(InputError) as e:
        build(example("centos6-xen-pv"), plan_of(example("centos6-xen-pv"), "ec2"), tmp_path / "out",
              dry_run=True)
    assert e.value.field == "os.distro" and "--strategy rootfs" in str(e.value)
    assert not (tmp_path / "out").exists()


def test_refuses_rootfs_without_full_overlay(example, tmp_path):
    with pytest.raises(InputError) as e:
        build(example("debian12-web"), plan_of(example("debian12-web"), "kvm", strategy="rootfs"),
              tmp_path / "out", dry_run=True)
    assert e.value.field == "overlay.mode" and not (tmp_path / "out").exists()


def test_unwritable_output(example, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError) as e:
        build(example("debian12-web"), plan_of(example("debian12-web")), blocker / "out", dry_run=True)
    assert e.value.field == "output" and "Not a directory" in str(e.value)


class FakeDib:
    """Stands in for subprocess.Popen(disk-image-create): writes a log and (optionally) the image."""

    def __init__(self, returncode=0, size=3 * MIB + 5, log="Running hooks from /x/root.d\n", produce=True):
        self.returncode_value, self.size, self.log, self.produce = returncode, size, log, produce
        self.calls = []

    def __call__(self, argv, env=None, **kw):
        self.calls.append((argv, env))
        out = argv[argv.index("-o") + 1]
        itype = argv[argv.index("-t") + 1]
        with open(argv[argv.index("--logfile") + 1], "w") as f:
            f.write(self.log)
        if self.produce:
            with open("%s.%s" % (out, itype), "wb") as f:
                f.truncate(self.size)
        fake = self

        class Proc:
            returncode = None

            def poll(self):
                self.returncode = fake.returncode_value
                return self.returncode
        return Proc()


@pytest.fixture
def fake_dib(monkeypatch):
    dib = FakeDib()
    monkeypatch.setattr(build_mod.subprocess, "Popen", dib)
    monkeypatch.setattr(build_mod.time, "sleep", lambda s: None)
    return dib


def test_build_qcow2(example, tmp_path, fake_dib):
    out = tmp_path / "out"
    stream = io.StringIO()
    plan = plan_of(example("debian12-web"), "kvm")
    final = build(example("debian12-web"), plan, out, stream=stream)
    assert final == out / "web01-kvm.qcow2" and final.is_file()
    argv, env = fake_dib.calls[0]
    work = os.path.dirname(argv[argv.index("-o") + 1])                   # temporary name
    assert os.path.basename(work).startswith(".web01-kvm.dibm-tmp-") and not os.path.exists(work)
    assert env["DIB_RELEASE"] == "bookworm"
    assert json.loads((out / "web01-kvm.plan.json").read_text()) == plan.to_dict()
    assert sorted(os.listdir(out)) == [".dib-migrate.json", "web01-kvm.elements", "web01-kvm.log",
                                       "web01-kvm.plan.json", "web01-kvm.qcow2"]
    assert "phase: root" in stream.getvalue() and "disk-image-create finished" in stream.getvalue()


def test_build_failure_leaves_no_image(example, tmp_path, monkeypatch):
    dib = FakeDib(returncode=1, log="Running hooks from /x/install.d\nE: something broke\n")
    monkeypatch.setattr(build_mod.subprocess, "Popen", dib)
    out = tmp_path / "out"
    with pytest.raises(BuildError) as e:
        build(example("debian12-web"), plan_of(example("debian12-web"), "kvm"), out, stream=io.StringIO())
    assert "exit 1" in str(e.value) and "something broke" in str(e.value)
    assert not (out / "web01-kvm.qcow2").exists() and not (out / "web01-kvm.plan.json").exists()
    assert [p for p in os.listdir(out) if "dibm-tmp" in p] == []
    assert "something broke" in (out / "web01-kvm.log").read_text()      # the log stays for the operator


def test_build_keeps_previous_image_on_failure(example, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(build_mod.subprocess, "Popen", FakeDib(size=1234))
    build(example("debian12-web"), plan_of(example("debian12-web"), "kvm"), out, stream=io.StringIO())
    monkeypatch.setattr(build_mod.subprocess, "Popen", FakeDib(returncode=2))
    with pytest.raises(BuildError):
        build(example("debian12-web"), plan_of(example("debian12-web"), "kvm"), out, stream=io.StringIO())
    assert (out / "web01-kvm.qcow2").stat().st_size == 1234


def test_build_refuses_a_file_it_did_not_write(example, tmp_path, fake_dib):
    out = tmp_path / "out"
    build(example("debian12-web"), plan_of(example("debian12-web"), "kvm"), out, stream=io.StringIO())
    (out / "web01-ec2.raw").write_text("the operator's own image")
    with pytest.raises(InputError) as e:
        build(example("debian12-web"), plan_of(example("debian12-web"), "ec2"), out, stream=io.StringIO())
    assert "web01-ec2.raw" in str(e.value) and "not written by dib-migrate" in str(e.value)
    assert (out / "web01-ec2.raw").read_text() == "the operator's own image"


def test_two_targets_share_an_outdir(example, tmp_path, fake_dib):
    out = tmp_path / "out"
    for target in ("kvm", "ec2"):
        build(example("debian12-web"), plan_of(example("debian12-web"), target), out, stream=io.StringIO())
    assert json.loads((out / "web01-kvm.plan.json").read_text())["target"] == "kvm"
    assert json.loads((out / "web01-ec2.plan.json").read_text())["target"] == "ec2"


def test_a_rebuild_drops_the_resync_record_of_the_image_it_replaces(example, tmp_path, fake_dib):
    out = tmp_path / "out"
    plan = plan_of(example("debian12-web"), "kvm")
    build(example("debian12-web"), plan, out, stream=io.StringIO())
    record = out / "web01-kvm.qcow2.resync.json"
    record.write_text('{"applied": []}')
    outputs.record(out, [record.name])
    build(example("debian12-web"), plan, out, stream=io.StringIO())
    assert not record.exists()
    other = tmp_path / "other"
    build(example("debian12-web"), plan, other, stream=io.StringIO())
    mine = other / record.name               # not listed in the marker: the operator's, kept
    mine.write_text("kept")
    build(example("debian12-web"), plan, other, stream=io.StringIO())
    assert mine.read_text() == "kept"


def test_build_missing_pinned_versions(example, tmp_path, monkeypatch):
    log = ("E: Version '1.22.1-9+deb12u9' for 'nginx' was not found\n"
           "E: Version '9.9' for 'bash' was not found\n")
    monkeypatch.setattr(build_mod.subprocess, "Popen", FakeDib(returncode=100, log=log))
    with pytest.raises(BuildError) as e:
        build(example("debian12-web"), plan_of(example("debian12-web"), "kvm", pin_versions=True),
              tmp_path / "out", stream=io.StringIO())
    assert "bash=9.9, nginx=1.22.1-9+deb12u9" in str(e.value)


def test_build_without_output(example, tmp_path, monkeypatch):
    monkeypatch.setattr(build_mod.subprocess, "Popen", FakeDib(produce=False))
    with pytest.raises(BuildError) as e:
        build(example("debian12-web"), plan_of(example("debian12-web"), "kvm"), tmp_path / "out",
              stream=io.StringIO())
    assert "did not produce" in str(e.value)


def test_build_azure_converts_to_fixed_vhd(example, tmp_path, fake_dib, monkeypatch):
    runs = []

    def run(argv, check=False, **kw):
        runs.append(argv)
        if argv[1] == "convert":
            with open(argv[-1], "wb") as f:
                f.write(b"vhd")
    monkeypatch.setattr(build_mod.subprocess, "run", run)
    out = tmp_path / "out"
    final = build(example("debian12-web"), plan_of(example("debian12-web"), "azure"), out,
                  stream=io.StringIO())
    assert final == out / "web01-azure.vhd" and final.read_bytes() == b"vhd"
    resize, convert = runs
    assert resize[:4] == ["qemu-img", "resize", "-f", "raw"] and resize[-1] == str(4 * MIB)
    assert convert[:8] == ["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o",
                           "subformat=fixed,force_size"]
    assert not (out / "web01-azure.raw").exists() and [p for p in os.listdir(out) if "dibm-tmp" in p] == []


@pytest.mark.parametrize("size,resized", [(4 * MIB, False), (4 * MIB + 1, True), (1, True)])
def test_to_fixed_vhd_alignment(tmp_path, monkeypatch, size, resized):
    runs = []
    monkeypatch.setattr(build_mod.subprocess, "run", lambda argv, **kw: runs.append(argv))
    raw = tmp_path / "x.raw"
    with open(raw, "wb") as f:
        f.truncate(size)
    to_fixed_vhd(raw, tmp_path / "x.vhd")
    assert (runs[0][1] == "resize") == resized
    if resized:
        assert int(runs[0][-1]) % MIB == 0 and int(runs[0][-1]) >= size
    assert runs[-1][1] == "convert"
