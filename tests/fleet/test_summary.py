"""The fleet summary: table, JSON and JUnit XML from pipeline results."""
import json
import xml.etree.ElementTree as ET

from dib_migrate.fleet import summary

RESULTS = [
    {"host": "web01", "target": "kvm", "state": "ok",
     "stages": {"scan": 3.2, "plan": 0.4, "build": 151.0, "verify": 12.5},
     "image": "/out/web01/kvm/web01-kvm.qcow2", "image_bytes": 1288490188,
     "verify": {"checks": 40, "failed": 0, "failures": []}, "error": None},
    {"host": "db01", "target": "kvm", "state": "failed", "stages": {"scan": 0.8},
     "image": None, "image_bytes": None, "verify": None,
     "error": {"stage": "scan", "message": "root@10.0.0.9: connect failed: exit 127: python3: not found"}},
    {"host": "db01", "target": "ec2", "state": "skipped", "stages": {"plan": 0.3, "build": 140.0, "verify": 10.0},
     "image": "/out/db01/ec2/db01-ec2.raw", "image_bytes": 2 << 30,
     "verify": {"checks": 30, "failed": 0, "failures": []}, "skipped_reason": "unchanged"},
]


def test_table_rows_and_errors():
    text = summary.table(RESULTS, "/out")
    lines = text.splitlines()
    assert lines[0].split() == ["HOST", "TARGET", "STATE", "SCAN", "PLAN", "BUILD", "VERIFY", "IMAGE", "SIZE",
                                "VERIFY"]
    assert lines[1].split() == ["web01", "kvm", "ok", "0m03s", "0m00s", "2m31s", "0m12s", "web01/kvm/web01-kvm.qcow2",
                                "1.2", "GiB", "40/40", "pass"]
    assert "3 image(s): 1 failed, 1 ok, 1 skipped" in text
    assert "FAILED db01 kvm at scan: root@10.0.0.9: connect failed: exit 127: python3: not found" in text


def test_junit_and_json(tmp_path):
    paths = summary.write(RESULTS, tmp_path, wall_seconds=200.0)
    assert [p.name for p in paths] == ["fleet-summary.json", "fleet-junit.xml"]
    doc = json.loads((tmp_path / "fleet-summary.json").read_text())
    assert doc["counts"] == {"failed": 1, "ok": 1, "skipped": 1} and doc["wall_seconds"] == 200.0
    root = ET.parse(tmp_path / "fleet-junit.xml").getroot()
    assert root.get("tests") == "3" and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    failure = suites["db01"].find("testcase[@name='kvm']/failure")
    assert failure.get("type") == "scan" and "python3: not found" in failure.text
    assert suites["db01"].find("testcase[@name='ec2']/skipped") is not None
    assert suites["web01"].find("testcase/failure") is None
    assert not list(tmp_path.glob(".*.tmp"))
