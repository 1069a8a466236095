"""The fleet end to end (issue 14): three servers scanned over SSH, real builds on two real workers.

Two good servers and one without python3; the broken one fails alone, at its scan, with its reason.
Both good builds run side by side on this one host (the shared image cache must allow it), and one
worker is killed in the middle of its build: its (host, target) finishes on the other worker and
the killed attempt publishes nothing. Every image is compared with its source's report (no
unexplained difference) and app01's is booted (the boot smoke test).
"""
import json
import re
import time

import pytest
import yaml

from tests.support.broker import Redis, Worker, have_redis
from tests.support.fixture import ssh_keypair
from tests.support.sshhost import SshHost

pytestmark = [pytest.mark.functional,
              pytest.mark.skipif(not have_redis(), reason="needs redis-server (tools/setup-host installs it)")]

LEASE = "10"
BOOT_TIMEOUT = 300


def test_fleet_over_ssh_with_a_killed_worker(tmp_path):
    import subprocess
    import sys
    key = ssh_keypair(tmp_path)
    servers = [SshHost(tmp_path / n, n, key[1], addr, key[0], broken=(n == "broken03"))
               for n, addr in (("app01", "10.0.2.31/24"), ("app02", "10.0.2.32/24"), ("broken03", "10.0.2.33/24"))]
    env = {"DIB_MIGRATE_FLEET_LEASE_TTL": LEASE}
    with servers[0], servers[1], servers[2], Redis(tmp_path / "redis") as redis:
        inv = tmp_path / "inventory.yaml"
        inv.write_text(yaml.safe_dump({"inventory_version": 1, "defaults": {"targets": ["kvm"]}, "hosts": [
            {"name": s.name, "ssh": s.dest("migrate" if s.name == "app02" else "root"),
             "ssh_options": s.ssh_options, "options": {"boot": s.name == "app01", "boot_timeout": BOOT_TIMEOUT}}
            for s in servers]}))
        out = tmp_path / "out"
        with Worker(redis.url, "w1", tmp_path, env) as w1, Worker(redis.url, "w2", tmp_path, env):
            client = subprocess.Popen([sys.executable, "-m", "dib_migrate", "fleet", str(inv), "-o", str(out),
                                       "--broker", redis.url, "--no-compress"], stdout=subprocess.PIPE,
                                      stderr=open(tmp_path / "fleet.err", "w"), text=True,
                                      env=dict(w1.env))
            # wait until both builds are inside disk-image-create, then kill w1 with its build
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                err = (tmp_path / "fleet.err").read_text()
                # a DIB phase line of each build: both are past the start, inside disk-image-create
                if all(re.search(r"%s/kvm +build \((?!disk-image-create)[a-z-]+ on w" % h, err)
                       for h in ("app01", "app02")):
                    break
                assert client.poll() is None, err
                time.sleep(2)
            killed = [h for h in ("app01", "app02") if _last_worker(err, h) == "w1@fleet-test"]
            assert killed, err
            w1.kill()
            stdout, _ = client.communicate(timeout=1500)
        err = (tmp_path / "fleet.err").read_text()
    print(stdout)
    print(err)
    assert client.returncode == 1                           # one host failed
    res = {r["host"]: r for r in json.loads((out / "fleet-summary.json").read_text())["results"]}
    assert res["broken03"]["state"] == "failed"
    assert res["broken03"]["error"]["stage"] == "scan" and "python3" in res["broken03"]["error"]["message"]
    for h in ("app01", "app02"):
        r = res[h]
        assert r["state"] == "ok", r
        assert r["verify"]["failed"] == 0 and r["verify"]["checks"] > 10
        assert r["image_bytes"] > 100 << 20
        assert sorted(p.name for p in (out / h / "kvm").glob("*.qcow2")) == ["%s-kvm.qcow2" % h]
        assert not list((out / h / "kvm").glob(".*.dibm-tmp-*"))       # no staging left, killed or not
    victim = res[killed[0]]
    assert victim["attempt"] == 2 and victim["worker"] == "w2@fleet-test"
    assert "%s/kvm" % killed[0] in err and "worker lost" in err
    assert "FAILED broken03 kvm at scan" in stdout
    # compare: every image against its source, nothing unexplained; the boot smoke test on app01
    for h in ("app01", "app02"):
        c = res[h]["compare"]
        assert c["unexplained"] == 0 and c["differences"] == c["explained"] and res[h]["stages"]["compare"] > 0
        assert "0 unexplained" in (out / h / "kvm/compare.txt").read_text()
        assert re.search(r"%s/kvm +compare" % h, err)
    boot = res["app01"]["boot"]
    assert boot["reached"] in ("ssh", "login prompt") and 0 < boot["seconds"] <= BOOT_TIMEOUT, boot
    assert "login:" in (out / "app01/kvm/boot-console.log").read_text() or boot["reached"] == "ssh"
    assert res["app02"]["boot"] is None and "boot" not in res["app02"]["stages"]
    assert re.search(r"app01/kvm +boot \(qemu", err)
    header = stdout.splitlines()[0].split()
    assert header[3:9] == ["SCAN", "PLAN", "BUILD", "VERIFY", "COMPARE", "BOOT"] and "UNEXPLAINED" in header
    junit = (out / "fleet-junit.xml").read_text()
    assert 'failures="1"' in junit and "compare: 0 of" in junit


def _last_worker(err, host):
    worker = None
    for line in err.splitlines():
        if "%s/kvm " % host in line and " on " in line:
            worker = line.rsplit(" on ", 1)[1].rstrip(")")
    return worker
