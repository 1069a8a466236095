"""The fleet summary: table, JSON and JUnit XML from pipeline results."""
import json
import xml.etree.ElementTree as ET

from dib_migrate.fleet import summary

RESULTS = [
    {"host": "web01", "target": "kvm", "state": "ok",
     "stages": {"scan": 3.2, "plan": 0.4, "build": 151.0, "verify": 12.5, "compare": 9.4, "boot": 41.2},
     "image": "/out/web01/kvm/web01-kvm.qcow2", "image_bytes": 1288490188,
     "verify": {"checks": 40, "failed": 0, "failures": []},
     "compare": {"differences": 14, "explained": 14, "unexplained": 0, "first": []},
     "boot": {"reached": "login prompt", "seconds": 38.7, "accel": "tcg"}, "error": None},
    {"host": "db01", "target": "kvm", "state": "failed", "stages": {"scan": 0.8},
     "image": None, "image_bytes": None, "verify": None,
     "error": {"stage": "scan", "message": "root@10.0.0.9: connect failed: exit 127: python3: not found"}},
    {"host": "db01", "target": "ec2", "state": "skipped", "stages": {"plan": 0.3, "build": 140.0, "verify": 10.0,
                                                                     "compare": 8.0},
     "image": "/out/db01/ec2/db01-ec2.raw", "image_bytes": 2 << 30,
     "verify": {"checks": 30, "failed": 0, "failures": []},
     "compare": {"differences": 9, "explained": 9, "unexplained": 0, "first": []}, "skipped_reason": "unchanged"},
    {"host": "app01", "target": "kvm", "state": "failed",
     "stages": {"scan": 2.0, "plan": 0.3, "build": 130.0, "verify": 11.0, "compare": 7.5},
     "image": "/out/app01/kvm/app01-kvm.qcow2", "image_bytes": 1 << 30,
     "verify": {"checks": 38, "failed": 0, "failures": []},
     "compare": {"differences": 12, "explained": 10, "unexplained": 2,
                 "first": ["UNEXPLAINED package cron: 3.0 -> -", "UNEXPLAINED file /etc/motd: sha256 a -> b"]},
     "error": {"stage": "compare", "message": "compare: 2 unexplained differences: UNEXPLAINED package cron: "
               "3.0 -> -; UNEXPLAINED file /etc/motd: sha256 a -> b"}},
]


def test_table_rows_and_errors():
    text = summary.table(RESULTS, "/out")
    lines = text.splitlines()
    assert lines[0].split() == ["HOST", "TARGET", "STATE", "SCAN", "PLAN", "BUILD", "VERIFY", "COMPARE", "BOOT",
                                "IMAGE", "SIZE", "CHECKS", "UNEXPLAINED", "UP"]
    assert lines[1].split() == ["web01", "kvm", "ok", "0m03s", "0m00s", "2m31s", "0m12s", "0m09s", "0m41s",
                                "web01/kvm/web01-kvm.qcow2", "1.2", "GiB", "40/40", "pass", "0", "of", "14",
                                "login", "0m39s"]
    assert lines[2].split() == ["db01", "kvm", "failed", "0m01s"] + ["-"] * 5 + ["-"] * 5
    assert lines[3].split()[8:] == ["-", "db01/ec2/db01-ec2.raw", "2.0", "GiB", "30/30", "pass", "0", "of", "9", "-"]
    assert lines[4].split()[:9] == ["app01", "kvm", "failed", "0m02s", "0m00s", "2m10s", "0m11s", "0m08s", "-"]
    assert lines[4].split()[-8:] == ["1.0", "GiB", "38/38", "pass", "2", "of", "12", "-"]
    assert "4 image(s): 2 failed, 1 ok, 1 skipped" in text
    assert "FAILED db01 kvm at scan: root@10.0.0.9: connect failed: exit 127: python3: not found" in text
    assert "FAILED app01 kvm at compare: compare: 2 unexplained differences: UNEXPLAINED package cron" in text


def test_junit_and_json(tmp_path):
    paths = summary.write(RESULTS, tmp_path, wall_seconds=200.0)
    assert [p.name for p in paths] == ["fleet-summary.json", "fleet-junit.xml"]
    doc = json.loads((tmp_path / "fleet-summary.json").read_text())
    assert doc["counts"] == {"failed": 2, "ok": 1, "skipped": 1} and doc["wall_seconds"] == 200.0
    assert doc["results"][3]["compare"]["unexplained"] == 2
    root = ET.parse(tmp_path / "fleet-junit.xml").getroot()
    assert root.get("tests") == "4" and root.get("failures") == "2"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    failure = suites["db01"].find("testcase[@name='kvm']/failure")
    assert failure.get("type") == "scan" and "python3: not found" in failure.text
    assert suites["db01"].find("testcase[@name='ec2']/skipped") is not None
    assert suites["web01"].find("testcase/failure") is None
    out = suites["web01"].find("testcase/system-out").text
    assert "compare: 0 of 14 unexplained" in out and "boot: login 0m39s" in out and "boot 0m41s" in out
    failure = suites["app01"].find("testcase[@name='kvm']/failure")
    assert failure.get("type") == "compare" and "2 unexplained differences" in failure.get("message")
    assert not list(tmp_path.glob(".*.tmp"))
