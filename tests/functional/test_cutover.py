"""The cutover of a live database server (issue 12), end to end on real PostgreSQL 15.

1. The source (tests/support/pgfixture.py) runs its cluster in a chroot on this host while a
   load generator inserts rows; it is scanned and the image is built from that scan.
2. More rows are written, files are changed and one is deleted, a user is added on the source.
3. ``scan --since --quiesce postgresql`` while the load still runs (the stop cuts it off),
   then ``resync`` lays the delta over the built image, ``verify`` checks it.
4. ``compare`` of the first scan with the resynced image (it reads the delta from
   IMAGE.resync.json) explains every difference; a file changed after the resync without a
   delta is unexplained (exit 1).
5. The image boots: every row committed before the quiesce is there, ``pg_amcheck`` is
   clean, the changed files have their new content and the deleted file is gone.
6. In the booted guest (real systemd, real PostgreSQL 15) the scanner itself runs ``scan
   --since --quiesce postgresql``: systemctl stops the cluster with a shutdown checkpoint,
   the archive is written while it is down, it runs again afterwards; a scan killed with
   SIGTERM while the cluster is stopped starts it again before it exits.
"""
import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timezone

import pytest
import yaml

from tests.support import pgfixture as pg
from tests.support import vm as vmlib
from dib_migrate.scan import build_artifact
from tests.support.dibhost import cli
from tests.support.imagecopy import altered_copy

pytestmark = pytest.mark.functional

TARGET = "ec2"                      # raw: resync works on a plain copy, no format conversion
AMCHECK = "/usr/lib/postgresql/15/bin/pg_amcheck"     # Debian's pg_wrapper does not cover it
PGLOG = "/var/log/postgresql/postgresql-15-main.log"
INSTANCE = "postgresql@15-main"     # Debian's postgresql.service is an umbrella: the cluster is this unit
BOOT_TIMEOUT = int(os.environ.get("DIB_MIGRATE_BOOT_TIMEOUT", "420"))


@pytest.fixture(scope="module")
def cutover(workdir, keypair):
    d = workdir / "cutover"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    server = pg.PgServer(d / "source", keypair[1])
    facts = {"server": server, "dir": d}
    with server:
        with pg.Load(server, "during-first-scan") as first:
            cli("scan", "--root", server.root, "-o", d / "scan1", "-q")
            time.sleep(1)
        assert first.rows > 0 and not first.errors, first.errors
        facts["scan1"] = yaml.safe_load((d / "scan1/report.yaml").read_text())

        start = time.monotonic()
        cli("build", d / "scan1/report.yaml", "--target", TARGET, "-o", d / "out", "--no-compress")
        facts["build_seconds"] = time.monotonic() - start

        # the source lives on: rows, a changed file, a deleted file, a new one
        with pg.Load(server, "after-build") as later:
            time.sleep(3)
        assert later.rows > 0 and not later.errors, later.errors
        (server.root / "srv/app/config.ini").write_text("[app]\nversion = 2\n")
        (server.root / "srv/app/obsolete.txt").unlink()
        (server.root / "srv/app/new.txt").write_text("added at cutover\n")
        # an account added at cutover: the delta carries the account databases
        subprocess.run(["chroot", str(server.root), "useradd", "-m", "cutover"], check=True)

        # cutover: the load still runs; the quiesce's stop ends it
        with pg.Load(server, "at-cutover") as last:
            time.sleep(1)
            start = time.monotonic()
            r = cli("scan", "--root", server.root, "--since", d / "scan1/report.yaml",
                    "--quiesce", "postgresql", "-o", d / "scan2")
            facts["delta_scan_seconds"] = time.monotonic() - start
            facts["delta_scan_stderr"] = r.stderr
        facts["committed_before_quiesce"] = last.committed
        facts["running_after"] = server.running()
        facts["source_count"] = int(server.psql("SELECT count(*) FROM orders"))
        facts["source_max"] = int(server.psql("SELECT max(id) FROM orders"))
    facts["scan2"] = yaml.safe_load((d / "scan2/report.yaml").read_text())
    facts["image"] = d / "out" / ("%s-%s.raw" % (pg.HOSTNAME, TARGET))
    start = time.monotonic()
    cli("resync", facts["image"], d / "scan2/report.yaml")
    facts["resync_seconds"] = time.monotonic() - start
    print("cutover: build %.0fs, delta scan %.1fs, resync %.1fs" % (
        facts["build_seconds"], facts["delta_scan_seconds"], facts["resync_seconds"]))
    return facts


def test_first_scan_sees_the_running_cluster_and_the_plan_warns(cutover):
    entries = [e for e in cutover["scan1"]["stateful"] if e["kind"] == "postgresql"]
    assert len(entries) == 1 and entries[0]["running"] is True
    assert entries[0]["data_dir"] == "/var/lib/postgresql/15/main" and entries[0]["bytes"] > 10 << 20
    out = cli("plan", cutover["dir"] / "scan1/report.yaml", "--target", TARGET).stdout
    assert "live-running" in out and "/var/lib/postgresql/15/main" in out


def test_delta_scan_quiesced_postgresql_and_restarted_it(cutover):
    q = cutover["scan2"]["quiesce"]
    assert q["method"] == "stop"
    assert [s["service"] for s in q["services"]] == ["postgresql"]
    assert q["services"][0]["was_running"] and q["services"][0]["downtime_s"] > 0
    assert "postgresql running again, down" in cutover["delta_scan_stderr"]
    assert cutover["running_after"]
    delta = cutover["scan2"]["delta"]
    assert "/srv/app/obsolete.txt" in delta["deleted"]
    assert delta["changes"]["packages"] == {"added": [], "removed": [], "changed": []}
    out = cli("plan", cutover["dir"] / "scan2/report.yaml", "--target", TARGET).stdout
    assert "delta-report" in out and "live-running" not in out


def test_resynced_image_verifies(cutover):
    plan = cutover["dir"] / "out" / ("%s-%s.plan.json" % (pg.HOSTNAME, TARGET))
    r = cli("verify", cutover["image"], "--plan", plan, check=False, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def _compare(cutover, image):
    plan = cutover["dir"] / "out" / ("%s-%s.plan.json" % (pg.HOSTNAME, TARGET))
    r = cli("compare", cutover["dir"] / "scan1/report.yaml", image, "--plan", plan, "--format", "json",
            check=False, timeout=600)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def test_resynced_image_compares_clean_with_the_first_scan_and_its_delta(cutover):
    rc, out = _compare(cutover, cutover["image"])
    bad = [d for d in out["differences"] if not d["explained"]]
    assert rc == 0 and not bad, json.dumps(bad, indent=1)
    assert out["resyncs"] == [cutover["scan2"]["scanned_at"]]


def test_a_file_changed_after_the_resync_is_unexplained(cutover):
    def mutate(mnt):
        (mnt / "srv/app/config.ini").write_text("[app]\nversion = 3\n")      # the delta laid version 2
        (mnt / "srv/app/obsolete.txt").write_text("back again\n")           # the delta deleted it
    copy = altered_copy(cutover["image"], cutover["dir"], mutate, name="after-resync.raw")
    record = cutover["dir"] / "out" / (cutover["image"].name + ".resync.json")
    shutil.copy(record, str(copy) + ".resync.json")
    try:
        rc, out = _compare(cutover, copy)
    finally:
        copy.unlink()
        os.unlink(str(copy) + ".resync.json")
    bad = {(d["area"], d["subject"]) for d in out["differences"] if not d["explained"]}
    assert rc == 1
    assert bad == {("files", "/srv/app/config.ini"), ("files", "/srv/app/obsolete.txt present")}, bad


@pytest.fixture(scope="module")
def booted(cutover, keypair, workdir):
    key, _pub = keypair
    vm = vmlib.VM(cutover["image"], workdir / "vm-cutover", user=pg.USER, key=key, guest_ports=(22,))
    with vm:
        vm.wait_ssh(timeout=BOOT_TIMEOUT)
        for _ in range(60):
            if vm.ssh("sudo -u postgres pg_isready -q", check=False).returncode == 0:
                break
            time.sleep(2)
        yield vm


def test_booted_image_has_every_committed_row_and_a_clean_cluster(cutover, booted):
    vm = booted
    sh = lambda cmd: vm.ssh(cmd, timeout=180).stdout.strip()   # noqa: E731
    count = int(sh("sudo -u postgres psql -XAtc 'SELECT count(*) FROM orders'"))
    top = int(sh("sudo -u postgres psql -XAtc 'SELECT max(id) FROM orders'"))
    below = int(sh("sudo -u postgres psql -XAtc 'SELECT count(*) FROM orders WHERE id <= %d'"
                   % cutover["committed_before_quiesce"]))
    amcheck = vm.ssh("sudo -u postgres %s --all --install-missing --heapallindexed 2>&1; echo rc=$?"
                     % AMCHECK, timeout=300)
    config = sh("cat /srv/app/config.ini")
    obsolete = vm.ssh("test -e /srv/app/obsolete.txt", check=False).returncode
    new = sh("cat /srv/app/new.txt")
    assert (count, top) == (cutover["source_count"], cutover["source_max"])
    assert top >= cutover["committed_before_quiesce"]
    assert below == cutover["committed_before_quiesce"]     # ids come from one sequence, no gaps
    assert amcheck.stdout.strip().endswith("rc=0"), amcheck.stdout
    assert config == "[app]\nversion = 2"
    # the account added at cutover is there, and those only the image's packages made stay
    accounts = sh("getent passwd cutover systemd-timesync | cut -d: -f1; getent group render kvm | cut -d: -f1")
    assert accounts.split() == ["cutover", "systemd-timesync", "render", "kvm"], accounts
    assert obsolete != 0
    assert new == "added at cutover"


# ---------------------------------------------------------------- --quiesce under a real systemd
def _put(vm, data, remote):
    argv = ["ssh", "-p", str(vm.ports[22]), "-i", vm.key] + vmlib.SSH_OPTS + [
        "%s@127.0.0.1" % vm.user, "cat > %s" % remote]
    subprocess.run(argv, input=data, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def guest_scanner(cutover, booted, workdir):
    """The single-file scanner in the guest, and the cutover scan it can take a delta from
    (the guest holds that scan's state plus what the resync and the boot changed)."""
    pyz = build_artifact(str(workdir))
    _put(booted, open(pyz, "rb").read(), "/tmp/scan.pyz")
    booted.ssh("mkdir -p /tmp/base")
    for name in ("report.yaml", "manifest.json.gz"):
        _put(booted, (cutover["dir"] / "scan2" / name).read_bytes(), "/tmp/base/" + name)
    return "python3 /tmp/scan.pyz --since /tmp/base/report.yaml"


def _pglog_mark(vm):
    return len(vm.ssh("sudo cat %s" % PGLOG).stdout.splitlines())


def _pglog_since(vm, mark):
    """PostgreSQL's log lines after ``mark`` as (epoch seconds, message)."""
    out = []
    for line in vm.ssh("sudo tail -n +%d %s" % (mark + 1, PGLOG)).stdout.splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC \[\d+\] (.*)", line)
        if m:
            at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
            out.append((at.timestamp(), m.group(2)))
    return out


def _assert_cluster_active(vm):
    state = vm.ssh("systemctl is-active %s" % INSTANCE, check=False).stdout.strip()
    if state != "active":
        why = vm.ssh("sudo journalctl --no-pager -n 60 -u postgresql.service -u %s; sudo tail -n 30 %s"
                     % (INSTANCE, PGLOG), check=False).stdout
        raise AssertionError("%s is %s after the quiesced scan:\n%s" % (INSTANCE, state, why))


def _first(lines, text):
    return next((at for at, msg in lines if text in msg), None)


def test_quiesce_stops_postgresql_under_systemd_while_the_archive_is_written(booted, guest_scanner):
    vm = booted
    mark = _pglog_mark(vm)
    # README's cutover command: auto finds the running cluster
    r = vm.ssh("sudo %s --quiesce auto -o /tmp/scan-q 2>&1; echo rc=$?" % guest_scanner, timeout=600)
    assert r.stdout.rstrip().endswith("rc=0"), r.stdout[-3000:]
    assert "quiesce: postgresql running again, down" in r.stdout
    report = yaml.safe_load(vm.ssh("sudo cat /tmp/scan-q/report.yaml").stdout)
    q = report["quiesce"]
    assert q["method"] == "stop" and [s["service"] for s in q["services"]] == ["postgresql"]
    assert q["services"][0]["was_running"] and q["services"][0]["downtime_s"] > 0
    assert not [p for p in report["live"]["changed"]["paths"] + report["live"]["vanished"]["paths"]
                if p.startswith("/var/lib/postgresql/")]
    _assert_cluster_active(vm)
    log = _pglog_since(vm, mark)
    print("postgresql log during the quiesced scan:\n" + "\n".join(msg for _, msg in log))
    down, up = _first(log, "database system is shut down"), _first(log, "starting PostgreSQL")
    assert _first(log, "checkpoint starting: shutdown") is not None, log
    assert down is not None and up is not None and down < up, log
    assert _first(log, "database system was shut down at") is not None, log     # a clean start, no recovery
    assert _first(log, "database system is ready to accept connections") is not None, log
    assert not [msg for _, msg in log if "interrupted" in msg or "crash" in msg or "redo starts" in msg], log
    # the archive was created and completed while the cluster was down
    archive = "/tmp/scan-q/" + report["overlay"]["archive"]
    born, done = map(float, vm.ssh("sudo stat -c '%%.9W %%.9Y' %s" % archive).stdout.split())
    assert down <= born <= done <= up, (down, born, done, up)


def test_a_scan_killed_while_postgresql_is_stopped_starts_it_again(booted, guest_scanner):
    vm = booted
    mark = _pglog_mark(vm)
    vm.ssh("sudo rm -rf /tmp/scan-k /tmp/scan-k.rc; sudo setsid sh -c '%s --quiesce postgresql -o /tmp/scan-k "
           "> /tmp/scan-k.log 2>&1 & "
           "echo $! > /tmp/scan-k.pid; wait $!; echo $? > /tmp/scan-k.rc' </dev/null >/dev/null 2>&1 &"
           % guest_scanner)
    # the kill lands within 0.1 s of the cluster leaving "active": while systemctl still waits for its
    # shutdown (the hardest moment: the stop was asked, its job runs on), or early in the walk
    state = vm.ssh("for i in $(seq 1800); do s=$(systemctl is-active %s); [ \"$s\" = active ] || break; "
                   "sleep 0.1; done; sudo kill -TERM $(cat /tmp/scan-k.pid); echo $s" % INSTANCE,
                   timeout=240).stdout.strip()
    assert state in ("deactivating", "inactive"), (state, vm.ssh("cat /tmp/scan-k.log", check=False).stdout)
    print("killed while %s was %s" % (INSTANCE, state))
    rc = vm.ssh("for i in $(seq 180); do [ -s /tmp/scan-k.rc ] && break; sleep 1; done; cat /tmp/scan-k.rc",
                timeout=240).stdout.strip()
    out = vm.ssh("cat /tmp/scan-k.log").stdout
    assert rc not in ("", "0"), out
    assert "interrupted" in out and "quiesce: postgresql running again" in out, out
    _assert_cluster_active(vm)
    assert vm.ssh("sudo test -e /tmp/scan-k/report.yaml", check=False).returncode != 0
    log = _pglog_since(vm, mark)
    down, ready = _first(log, "database system is shut down"), _first(log, "ready to accept connections")
    assert down is not None and ready is not None and down < ready, log
