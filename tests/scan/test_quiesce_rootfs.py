"""scan --quiesce on a real Debian root with a real service: its init script runs in a chroot,
its process holds a file under /var/lib open for writing; stopped for the walk and the
archive, started again after, on success, on a failing stop and on SIGTERM."""
import os
import signal
import subprocess
import time

import pytest
import yaml

from dib_migrate.scan import cli as scan_cli
from dib_migrate.scan import scan_root
from tests.support.rootfs import debian_root, have_debootstrap

pytestmark = [pytest.mark.rootfs, pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

INIT = """#!/bin/sh
PIDFILE=/var/lib/fakedb/pid
case "$1" in
start)
    cd /var/lib/fakedb
    sh -c 'exec 3>>/var/lib/fakedb/data.log; exec sleep 600' </dev/null >/dev/null 2>&1 &
    echo $! >$PIDFILE
    ;;
stop)
    [ -e /var/lib/fakedb/fail-stop ] && { echo "fakedb refuses to stop" >&2; exit 1; }
    [ -f $PIDFILE ] && kill "$(cat $PIDFILE)" && rm -f $PIDFILE
    exit 0
    ;;
status)
    [ -f $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null
    ;;
esac
"""


@pytest.fixture
def root(tmp_path):
    r = debian_root(tmp_path / "root")
    (r / "etc/init.d/fakedb").write_text(INIT)
    os.chmod(r / "etc/init.d/fakedb", 0o755)
    (r / "var/lib/fakedb").mkdir()
    (r / "var/lib/fakedb/data.log").write_text("rows\n")
    subprocess.run(["chroot", str(r), "/etc/init.d/fakedb", "start"], check=True)
    yield r
    subprocess.run(["chroot", str(r), "/etc/init.d/fakedb", "stop"], check=False)


def running(root):
    return subprocess.run(["chroot", str(root), "/etc/init.d/fakedb", "status"]).returncode == 0


def watch_archive(monkeypatch, action=None):
    """Record whether fakedb ran while the archive was written; ``action`` runs there too."""
    seen = {}
    real = scan_root.write_archive

    def wrapper(root_, paths, fileobj, progress, live=None):
        seen["running"] = running(root_.path)
        if action:
            action()
        return real(root_, paths, fileobj, progress, live)
    monkeypatch.setattr(scan_root, "write_archive", wrapper)
    return seen


def test_stopped_while_archived_started_after_with_its_downtime(root, tmp_path, monkeypatch, capsys):
    seen = watch_archive(monkeypatch)
    out = tmp_path / "out"
    assert scan_cli.main(["--root", str(root), "--quiesce", "fakedb", "-o", str(out)]) == 0
    assert seen["running"] is False
    assert running(root)
    report = yaml.safe_load((out / "report.yaml").read_text())
    (entry,) = report["quiesce"]["services"]
    assert entry["service"] == "fakedb" and entry["was_running"] and entry["downtime_s"] >= 0
    other = [e for e in report["stateful"] if e["data_dir"] == "/var/lib/fakedb"]
    assert other and other[0]["kind"] == "other" and other[0]["running"]
    err = capsys.readouterr().err
    assert "chroot %s /etc/init.d/fakedb start" % root in err        # printed before the stop
    assert "fakedb running again, down" in err


def test_a_failing_stop_aborts_the_scan_and_leaves_it_running(root, tmp_path, capsys):
    (root / "var/lib/fakedb/fail-stop").write_text("")
    out = tmp_path / "out"
    assert scan_cli.main(["--root", str(root), "--quiesce", "fakedb", "-o", str(out), "-q"]) == 1
    assert "cannot stop fakedb" in capsys.readouterr().err
    assert running(root)
    assert not (out / "report.yaml").exists()


def test_sigterm_during_the_scan_starts_the_service_again(root, tmp_path, monkeypatch, capsys):
    watch_archive(monkeypatch, action=lambda: os.kill(os.getpid(), signal.SIGTERM))
    out = tmp_path / "out"
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    assert scan_cli.main(["--root", str(root), "--quiesce", "fakedb", "-o", str(out), "-q"]) == 1
    assert time.monotonic() - started < 60
    assert "interrupted" in capsys.readouterr().err
    assert running(root)
    assert signal.getsignal(signal.SIGTERM) == before
    assert not (out / "report.yaml").exists() and not list(out.glob(".*.tmp"))
