"""The pipeline's decisions around compare and the boot smoke test, with qemu and the build replaced
(the real ones run in test_fleet_functional.py): what a re-run reuses, and what fails a (host, target)."""
import json
import shutil
from pathlib import Path

import pytest

from dib_migrate import qemu
from dib_migrate.fleet import pipeline
from dib_migrate.fleet.inventory import Host, to_options
from dib_migrate.plan import make_plan
from dib_migrate.report import load_report

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/debian12-web"


@pytest.fixture
def built(tmp_path):
    """A (host, target) directory as a finished run left it: image, plan, a passed verify and compare."""
    for f in EXAMPLE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    report = tmp_path / "report.yaml"
    host = Host(name="web01", targets=("kvm",), report=str(report))
    jobdir = pipeline.job_dir(tmp_path / "out", "web01", "kvm")
    jobdir.mkdir(parents=True)
    (jobdir / ".dib-migrate.json").write_text(json.dumps({"tool": "dib-migrate", "kind": "outdir",
                                                          "files": list(pipeline.OWN_FILES)}))
    plan = make_plan(load_report(report), "kvm", to_options(host))
    (jobdir / "web01-kvm.plan.json").write_text(json.dumps(plan.to_dict()))
    (jobdir / "web01-kvm.qcow2").write_bytes(b"image")
    prev = {"host": "web01", "target": "kvm", "state": "ok", "image": str(jobdir / "web01-kvm.qcow2"),
            "image_bytes": 5, "plan": str(jobdir / "web01-kvm.plan.json"),
            "stages": {"plan": 0.3, "build": 150.0, "verify": 12.0, "compare": 9.0},
            "verify": {"checks": 40, "failed": 0, "failures": []},
            "compare": {"differences": 3, "explained": 3, "unexplained": 0, "first": []},
            "boot": None, "error": None,
            "key": pipeline.job_key(report, host, "kvm", False, True)}
    (jobdir / pipeline.RESULT).write_text(json.dumps(prev))
    return host, report, tmp_path / "out", jobdir


@pytest.fixture
def no_build(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the image was rebuilt")
    monkeypatch.setattr(pipeline, "_make", refuse)
    monkeypatch.setattr(qemu, "kvm_usable", lambda: False)


def _with(host, **options):
    return Host(name=host.name, targets=host.targets, report=host.report, options=dict(host.options, **options))


def test_boot_later_boots_the_existing_image(built, no_build, monkeypatch):
    host, report, out, jobdir = built
    booted = []

    def smoke(image, workdir, target, uefi=False, timeout=300, accel=None):
        booted.append((image, target, uefi, timeout, accel))
        Path(workdir, "console.log").write_text("web01 login: ")
        return {"reached": "login prompt", "seconds": 41.5, "accel": accel}
    monkeypatch.setattr(qemu, "smoke", smoke)
    assert pipeline.run_target(host, "kvm", report, out)["state"] == "skipped"        # no boot asked: unchanged
    r = pipeline.run_target(_with(host, boot=True, boot_timeout=120), "kvm", report, out)
    assert r["state"] == "ok" and r["reused"] and r["boot"]["reached"] == "login prompt"
    assert booted == [(str(jobdir / "web01-kvm.qcow2"), "kvm", False, 120, "tcg")]
    assert r["stages"]["build"] == 150.0 and "boot" in r["stages"]
    assert (jobdir / "boot-console.log").read_text() == "web01 login: "
    # booted once: the next run with boot is unchanged
    assert pipeline.run_target(_with(host, boot=True), "kvm", report, out)["state"] == "skipped"
    assert len(booted) == 1


def test_a_failed_boot_keeps_the_image_and_is_tried_again(built, no_build, monkeypatch):
    host, report, out, jobdir = built

    def no_login(image, workdir, target, uefi=False, timeout=300, accel=None):
        Path(workdir, "console.log").write_text("Kernel panic - not syncing\n")
        raise qemu.BootError("neither SSH nor a login prompt on the serial console within 300s (tcg)\nmore")
    monkeypatch.setattr(qemu, "smoke", no_login)
    r = pipeline.run_target(_with(host, boot=True), "kvm", report, out)
    assert r["state"] == "failed" and r["error"]["stage"] == "boot"
    assert r["error"]["message"] == ("boot: neither SSH nor a login prompt on the serial console within 300s (tcg) "
                                     "(console: %s)" % (jobdir / "boot-console.log"))
    assert "Kernel panic" in (jobdir / "boot-console.log").read_text()
    assert (jobdir / "web01-kvm.qcow2").is_file()
    # boot no longer asked: the image and its checks stand; asked again: only the boot runs again
    assert pipeline.run_target(host, "kvm", report, out)["state"] == "skipped"
    monkeypatch.setattr(qemu, "smoke", lambda *a, **k: {"reached": "ssh", "seconds": 60.0, "accel": "tcg"})
    r = pipeline.run_target(_with(host, boot=True), "kvm", report, out)
    assert r["state"] == "ok" and r["boot"]["reached"] == "ssh" and r["error"] is None


def test_unexplained_differences_fail_at_compare(built, monkeypatch):
    """compare's verdict decides the state; the count and the first differences are the error."""
    host, report, out, jobdir = built
    from dib_migrate import compare
    from dib_migrate.compare.diff import Difference
    monkeypatch.setattr(pipeline, "_build", lambda *a, **k: {"image": str(jobdir / "web01-kvm.qcow2"),
                                                             "image_bytes": 5, "seconds": 1.0})
    monkeypatch.setattr(pipeline, "_verify", lambda *a, **k: ({"checks": 1, "failed": 0, "failures": []}, 0.1))
    diffs = [Difference(area="packages", subject="cron", source="3.0", image=None, rule=None, reason=""),
             Difference(area="packages", subject="vim", source="9.0", image="9.1", rule="pkg-version",
                        reason="pinned")]
    monkeypatch.setattr(compare, "compare", lambda *a, **k: diffs)
    r = pipeline.run_target(host, "kvm", report, out, force=True)
    assert r["state"] == "failed" and r["error"]["stage"] == "compare"
    assert r["compare"] == {"differences": 2, "explained": 1, "unexplained": 1,
                            "first": ["UNEXPLAINED packages cron: 3.0 -> -"]}
    assert r["error"]["message"] == "compare: 1 unexplained difference: UNEXPLAINED packages cron: 3.0 -> -"
    assert "1 unexplained" in (jobdir / "compare.txt").read_text()


def test_overlay_digest_ignores_access_times(tmp_path):
    """A rescan reads every file, which moves atimes: that alone must not make a (host, target) new."""
    import io
    import tarfile

    def archive(name, data, atime):
        path = tmp_path / name
        with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("etc/motd")
            info.size, info.mtime = len(data), 1700000000
            info.pax_headers = {"atime": str(atime), "ctime": "1700000000.5"}
            tar.addfile(info, io.BytesIO(data))
        return path
    a, b, c = archive("a.tar.gz", b"hello\n", 1700000001), archive("b.tar.gz", b"hello\n", 1700009999.25), \
        archive("c.tar.gz", b"hellO\n", 1700000001)
    assert a.read_bytes() != b.read_bytes()
    assert pipeline.overlay_digest(a) == pipeline.overlay_digest(b) != pipeline.overlay_digest(c)
