"""`fleet --local`: the same pipeline in-process; a bad host fails alone; re-runs skip what is unchanged."""
import json
import shutil
from pathlib import Path

import yaml

from tests.support.dibhost import cli
from tests.support.wave import wave

OLD = Path(__file__).resolve().parents[2] / "examples/centos6-xen-pv"


def test_local_dry_run_failure_isolated_and_resumable(tmp_path):
    inv = wave(tmp_path / "w", 2)
    data = yaml.safe_load(inv.read_text())
    shutil.copytree(OLD, tmp_path / "old")
    # CentOS 6: DIB cannot rebuild it with the packages strategy; the build stage refuses it
    data["hosts"].insert(1, {"name": "old01", "report": str(tmp_path / "old/report.yaml")})
    inv.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    r = cli("fleet", inv, "-o", out, "--local", "--dry-run", check=False)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert [line.split()[:3] for line in lines[1:4]] == [["web000", "kvm", "dry-run"], ["old01", "kvm", "failed"],
                                                         ["web001", "kvm", "dry-run"]]
    assert "FAILED old01 kvm at build: " in r.stdout and "--strategy rootfs" in r.stdout
    assert "web001/kvm" in r.stderr and "plan" in r.stderr
    results = json.loads((out / "fleet-summary.json").read_text())["results"]
    assert results[1]["error"]["stage"] == "build"
    again = cli("fleet", inv, "-o", out, "--local", "--dry-run", check=False)
    assert [line.split()[2] for line in again.stdout.splitlines()[1:4]] == ["skipped", "failed", "skipped"]
    # an option change is a new job
    data["hosts"][0]["options"] = {"identity": "reset"}
    inv.write_text(yaml.safe_dump(data))
    third = cli("fleet", inv, "-o", out, "--local", "--dry-run", check=False)
    assert [line.split()[2] for line in third.stdout.splitlines()[1:4]] == ["dry-run", "failed", "skipped"]
