"""The cutover of a live database server (issue 12), end to end on real PostgreSQL 15.

1. The source (tests/support/pgfixture.py) runs its cluster in a chroot on this host while a
   load generator inserts rows; it is scanned and the image is built from that scan.
2. More rows are written, files are changed and one is deleted on the source.
3. ``scan --since --quiesce postgresql`` while the load still runs (the stop cuts it off),
   then ``resync`` lays the delta over the built image, ``verify`` checks it.
4. The image boots: every row committed before the quiesce is there, ``pg_amcheck`` is
   clean, the changed files have their new content and the deleted file is gone.
"""
import os
import shutil
import time

import pytest
import yaml

from tests.support import pgfixture as pg
from tests.support import vm as vmlib
from tests.support.dibhost import cli

pytestmark = pytest.mark.functional

TARGET = "ec2"                      # raw: resync works on a plain copy, no format conversion
AMCHECK = "/usr/lib/postgresql/15/bin/pg_amcheck"     # Debian's pg_wrapper does not cover it
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


def test_booted_image_has_every_committed_row_and_a_clean_cluster(cutover, keypair, workdir):
    key, _pub = keypair
    vm = vmlib.VM(cutover["image"], workdir / "vm-cutover", user=pg.USER, key=key, guest_ports=(22,))
    with vm:
        vm.wait_ssh(timeout=BOOT_TIMEOUT)
        sh = lambda cmd: vm.ssh(cmd, timeout=180).stdout.strip()   # noqa: E731
        for _ in range(60):
            if vm.ssh("sudo -u postgres pg_isready -q", check=False).returncode == 0:
                break
            time.sleep(2)
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
    assert obsolete != 0
    assert new == "added at cutover"
