"""`fleet --broker` on a real redis-server with two real workers (dry run: no image, seconds)."""
import json

import pytest

from tests.support.broker import Redis, Worker, have_redis
from tests.support.dibhost import cli
from tests.support.wave import wave

pytestmark = pytest.mark.skipif(not have_redis(), reason="needs redis-server (tools/setup-host installs it)")


def test_dry_run_wave_on_two_workers(tmp_path):
    inv = wave(tmp_path / "reports", 12)
    with Redis(tmp_path / "redis") as redis, Worker(redis.url, "w1", tmp_path), Worker(redis.url, "w2", tmp_path):
        r = cli("fleet", inv, "-o", tmp_path / "out", "--broker", redis.url, "--dry-run", timeout=300)
        again = cli("fleet", inv, "-o", tmp_path / "out", "--broker", redis.url, "--dry-run", timeout=300)
    assert "12 image(s): 12 dry-run" in r.stdout
    assert "12 image(s): 12 skipped" in again.stdout        # resumable: nothing changed
    results = json.loads((tmp_path / "out/fleet-summary.json").read_text())["results"]
    assert "web011/kvm" in r.stderr and "queued" in r.stderr
    workers = {x["worker"] for x in results}
    assert workers == {"w1@fleet-test", "w2@fleet-test"}, workers      # both workers took tasks
    command = (tmp_path / "out/web007/kvm/build-command.sh").read_text()
    assert "disk-image-create" in command and "migrate-host-web007" in command
    assert not list((tmp_path / "out").glob("*/kvm/*.qcow2"))


def test_unreachable_broker_is_a_clear_failure(tmp_path):
    inv = wave(tmp_path / "reports", 1)
    from tests.support.sshhost import free_port
    r = cli("fleet", inv, "-o", tmp_path / "out", "--broker", "redis://127.0.0.1:%d/0" % free_port(), check=False)
    assert r.returncode == 1 and "cannot reach the broker" in r.stderr
