"""Live scans on small fake roots: files that vanish while the scan runs, delta scans.
(The quiesce of a real service is in test_quiesce_rootfs.py.)"""
import io
import os
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from dib_migrate.report import validate
from dib_migrate.scan import cli as scan_cli
from dib_migrate.scan import scan_root
from dib_migrate.scan.progress import Progress

FILES = {
    "/etc/os-release": 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\napp:x:1100:1100::/srv/app:/bin/sh\n",
    "/etc/group": "root:x:0:\napp:x:1100:\n",
    "/etc/hostname": "live01\n",
    "/etc/fstab": "/dev/vda1 / ext4 defaults 0 1\n",
    "/bin/sh": "#!/bin/sh\n",
    "/srv/app/config.ini": "version = 1\n",
    "/srv/app/old.txt": "old\n",
    "/srv/app/static.txt": "static\n",
}


def make_root(tmp_path):
    root = tmp_path / "root"
    for path, text in FILES.items():
        p = root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "var/lib/churn").mkdir(parents=True)
    return root


def members(outdir, report):
    data = (outdir / report["overlay"]["archive"]).read_bytes()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {"/" + m.name.rstrip("/"): m for m in tar.getmembers()}


def load(outdir):
    data = yaml.safe_load((outdir / "report.yaml").read_text())
    validate(outdir / "report.yaml", data)
    return data


class Churn(threading.Thread):
    """Creates and removes files in a directory as fast as it can, like a busy spool."""

    def __init__(self, directory):
        threading.Thread.__init__(self, daemon=True)
        self.directory = directory
        self.stop = threading.Event()
        self.cycles = 0

    def run(self):
        while not self.stop.is_set():
            names = [self.directory / ("seg%06d" % (self.cycles * 20 + i)) for i in range(20)]
            for n in names:
                n.write_bytes(b"x" * 4096)
            for n in names:
                n.unlink()
            self.cycles += 1


def test_a_scan_racing_a_churning_directory_completes_and_lists_what_vanished(tmp_path, monkeypatch):
    root = make_root(tmp_path)
    churn_dir = root / "var/lib/churn"
    for i in range(300):                    # present when the walk lists them
        (churn_dir / ("wal%04d" % i)).write_bytes(b"w" * 8192)
    real_write_archive = scan_root.write_archive
    seen = {}

    def racing(root_, paths, fileobj, progress, live=None):
        # between the walk and tar: the server removes half the segments it had
        listed = [p for p in paths if p.startswith("/var/lib/churn/wal")]
        for p in listed[::2]:
            os.unlink(root_.host(p))
        seen["removed"] = set(listed[::2])
        return real_write_archive(root_, paths, fileobj, progress, live)

    monkeypatch.setattr(scan_root, "write_archive", racing)
    churn = Churn(churn_dir)
    churn.start()
    try:
        out = tmp_path / "out"
        scan_root.scan(str(root), str(out), progress=Progress(quiet=True))
    finally:
        churn.stop.set()
        churn.join()
    assert churn.cycles > 0
    report = load(out)
    live = report["live"]
    assert seen["removed"] and seen["removed"] <= set(live["vanished"]["paths"])
    assert live["vanished"]["count"] >= len(seen["removed"])
    archived = members(out, report)
    assert not (seen["removed"] & set(archived))
    assert "/var/lib/churn/wal0001" in archived
    assert "/srv/app/config.ini" in archived


def test_a_mounted_pseudo_filesystem_changing_under_tar_is_no_live_change(tmp_path, monkeypatch):
    # a live systemd host: tar archives /sys (sysfs's root, kept as the mount point) and its times move
    root = make_root(tmp_path)
    real_write_archive = scan_root.write_archive

    def racing(root_, paths, fileobj, progress, live=None):
        result = real_write_archive(root_, paths, fileobj, progress, live)
        live.touched("/sys")
        live.touched("/srv/app/config.ini")
        return result

    monkeypatch.setattr(scan_root, "write_archive", racing)
    scan_root.scan(str(root), str(tmp_path / "out"), progress=Progress(quiet=True))
    assert load(tmp_path / "out")["live"]["changed"]["paths"] == ["/srv/app/config.ini"]


def test_tar_failing_for_another_reason_still_fails_the_scan(tmp_path, monkeypatch, capsys):
    root = make_root(tmp_path)
    secret = root / "srv/app/secret"
    secret.write_text("x")
    os.chmod(secret, 0)
    if os.geteuid() == 0:
        pytest.skip("root reads a mode-0 file")
    assert scan_cli.main(["--root", str(root), "-o", str(tmp_path / "out"), "-q"]) == 1
    assert "Permission denied" in capsys.readouterr().err


def _delta_fixture(tmp_path):
    root = make_root(tmp_path)
    (root / "srv/app/dir").mkdir()
    (root / "srv/app/dir/a").write_text("a\n")
    first = tmp_path / "scan1"
    assert scan_cli.main(["--root", str(root), "-o", str(first), "-q"]) == 0
    return root, first


def test_delta_scan_holds_only_what_changed_and_lists_deletions(tmp_path):
    root, first = _delta_fixture(tmp_path)
    report1 = load(first)
    assert report1["overlay"]["manifest"] == "manifest.json.gz"
    time.sleep(0.05)
    (root / "srv/app/config.ini").write_text("version = 2\n")
    (root / "srv/app/old.txt").unlink()
    (root / "srv/app/dir/a").unlink()
    (root / "srv/app/dir").rmdir()
    (root / "srv/app/new.txt").write_text("new\n")
    os.chmod(root / "etc/hostname", 0o600)
    with open(root / "etc/passwd", "a") as f:
        f.write("web:x:1200:1200::/srv:/bin/sh\n")
    second = tmp_path / "scan2"
    started = time.monotonic()
    assert scan_cli.main(["--root", str(root), "--since", str(first / "report.yaml"), "-o", str(second), "-q"]) == 0
    assert time.monotonic() - started < 30
    report2 = load(second)
    assert report2["overlay"]["mode"] == "delta"
    got = set(members(second, report2))
    assert {"/srv/app/config.ini", "/srv/app/new.txt", "/etc/hostname", "/etc/passwd"} <= got
    # untouched files are not in the delta (the 2 s margin may keep files written right before scan 1)
    assert "/srv/app/static.txt" not in got or report2["delta"]["since"]
    delta = report2["delta"]
    assert delta["since"]["scanned_at"] == report1["scanned_at"]
    assert delta["deleted"] == ["/srv/app/dir", "/srv/app/dir/a", "/srv/app/old.txt"]
    assert delta["changes"]["users"]["added"] == ["web"]
    assert delta["changes"]["packages"] == {"added": [], "removed": [], "changed": []}


def test_delta_of_untouched_files_is_empty_once_the_margin_has_passed(tmp_path, monkeypatch):
    from dib_migrate.scan import delta as D
    monkeypatch.setattr(D, "MARGIN_NS", 0)
    root, first = _delta_fixture(tmp_path)
    (root / "srv/app/config.ini").write_text("version = 3\n")
    second = tmp_path / "scan2"
    assert scan_cli.main(["--root", str(root), "--since", str(first / "report.yaml"), "-o", str(second), "-q"]) == 0
    got = set(members(second, load(second)))
    assert "/srv/app/config.ini" in got
    assert "/srv/app/static.txt" not in got and "/etc/os-release" not in got


def test_deltas_chain_and_a_deletion_is_remembered(tmp_path):
    root, first = _delta_fixture(tmp_path)
    second, third = tmp_path / "scan2", tmp_path / "scan3"
    assert scan_cli.main(["--root", str(root), "--since", str(first / "report.yaml"), "-o", str(second), "-q"]) == 0
    (root / "srv/app/static.txt").unlink()
    assert scan_cli.main(["--root", str(root), "--since", str(second / "report.yaml"), "-o", str(third), "-q"]) == 0
    assert load(third)["delta"]["deleted"] == ["/srv/app/static.txt"]


@pytest.mark.parametrize("case", ["no-manifest", "other-scan", "full"])
def test_since_refusals(tmp_path, capsys, case):
    root, first = _delta_fixture(tmp_path)
    argv = ["--root", str(root), "--since", str(first / "report.yaml"), "-o", str(tmp_path / "scan2"), "-q"]
    if case == "no-manifest":
        (first / "manifest.json.gz").unlink()
    elif case == "other-scan":
        text = (first / "report.yaml").read_text()
        (first / "report.yaml").write_text(text.replace("scanned_at: ", "scanned_at: \"1999-01-01T00:00:00Z\"\n#"))
    else:
        argv.append("--full")
    assert scan_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert {"no-manifest": "run a full scan", "other-scan": "belongs to the scan of",
            "full": "cannot be combined with --full"}[case] in err
    assert not (tmp_path / "scan2").exists()


def test_quiesce_refuses_a_bad_service_name(tmp_path, capsys):
    root = make_root(tmp_path)
    assert scan_cli.main(["--root", str(root), "--quiesce", "pg;rm -rf /", "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "not a service name" in capsys.readouterr().err


def test_a_first_scan_records_stateful_data_and_a_schema_valid_live_section(tmp_path):
    root = make_root(tmp_path)
    for d in ("etc/postgresql/15/main", "var/lib/postgresql/15/main/base"):
        (root / d).mkdir(parents=True)
    (root / "etc/postgresql/15/main/postgresql.conf").write_text(
        "data_directory = '/var/lib/postgresql/15/main'\t# use data in another directory\n")
    (root / "var/lib/postgresql/15/main/PG_VERSION").write_text("15\n")
    (root / "var/lib/postgresql/15/main/base/1").write_bytes(b"\0" * 8192)
    (root / "var/lib/mysql/mysql").mkdir(parents=True)
    (root / "var/lib/mysql/ibdata1").write_bytes(b"\0" * 1000)
    out = tmp_path / "out"
    assert scan_cli.main(["--root", str(root), "-o", str(out), "-q"]) == 0
    report = load(out)
    kinds = {e["kind"]: e for e in report["stateful"]}
    assert kinds["postgresql"]["data_dir"] == "/var/lib/postgresql/15/main"
    assert kinds["postgresql"]["bytes"] == 8192 + 3 and kinds["postgresql"]["running"] is False
    assert kinds["mysql"]["data_dir"] == "/var/lib/mysql" and kinds["mysql"]["bytes"] == 1000
    assert report["live"] == {"vanished": {"count": 0, "paths": []}, "changed": {"count": 0, "paths": []},
                              "services": []}


def test_plan_warns_about_live_files_and_running_data(tmp_path):
    from dib_migrate.plan import make_plan
    from dib_migrate.report import load_report
    root = make_root(tmp_path)
    out = tmp_path / "out"
    assert scan_cli.main(["--root", str(root), "-o", str(out), "-q"]) == 0
    data = yaml.safe_load((out / "report.yaml").read_text())
    data["live"] = {"vanished": {"count": 40, "paths": ["/var/lib/postgresql/15/main/pg_wal/0001"]},
                    "changed": {"count": 1, "paths": ["/var/log/syslog"]}, "services": ["postgresql"]}
    data["stateful"] = [{"kind": "postgresql", "service": "postgresql", "data_dir": "/var/lib/postgresql/15/main",
                         "version": "15", "running": True, "bytes": 52428800},
                        {"kind": "mariadb", "service": "mariadb", "data_dir": "/var/lib/mysql", "version": None,
                         "running": True, "bytes": 1 << 20}]
    data["quiesce"] = {"method": "stop", "services": [{"service": "mariadb", "was_running": True, "downtime_s": 2.5}]}
    Path(out / "report.yaml").write_text(yaml.safe_dump(data))
    plan = make_plan(load_report(out / "report.yaml"), "openstack")
    text = "\n".join("%s %s" % (w.rule, w.message) for w in plan.warnings)
    assert "live-files 40 file(s) vanished and 1 changed" in text and "postgresql" in text
    assert "live-running postgresql data /var/lib/postgresql/15/main (50.0 MiB) copied while postgresql ran" in text
    assert "/var/lib/mysql" not in text        # quiesced
