"""Boot a built image with qemu-system-x86_64 and talk to it over SSH and HTTP.

The guest itself (KVM probe, disk bus, firmware, console, time-outs, stop by PID) is the
product's (dib_migrate/qemu.py, the fleet's boot smoke test); this adds what tests need on
top: a login over SSH with the test's key, HTTP, and cloud-init seeds. Under KVM a boot that
never reaches SSH is retried once under TCG (the KVM probe cannot rule out every broken KVM).
"""
import json
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from dib_migrate.qemu import BootError, Guest

SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
            "-o", "IdentitiesOnly=yes"]


def config_drive(path, hostname, public_keys, instance_id=None):
    """An OpenStack ConfigDrive ISO (label ``config-2``) at ``path``."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        latest = Path(tmp, "openstack", "latest")
        latest.mkdir(parents=True)
        meta = {
            "uuid": instance_id or str(uuid.uuid4()),
            "hostname": hostname,
            "name": hostname,
            "availability_zone": "nova",
            "launch_index": 0,
            "public_keys": {"key%d" % i: k.strip() for i, k in enumerate(public_keys)},
        }
        (latest / "meta_data.json").write_text(json.dumps(meta))
        subprocess.run(["genisoimage", "-quiet", "-o", str(path), "-V", "config-2",
                        "-r", "-J", tmp], check=True)
    return path


def nocloud_seed(path, hostname, public_keys, instance_id=None):
    """A NoCloud seed image made with ``cloud-localds``."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        meta = Path(tmp, "meta-data")
        meta.write_text("instance-id: %s\nlocal-hostname: %s\n"
                        % (instance_id or "iid-" + uuid.uuid4().hex[:8], hostname))
        user = Path(tmp, "user-data")
        user.write_text("#cloud-config\nssh_authorized_keys:\n"
                        + "".join("  - %s\n" % k.strip() for k in public_keys))
        subprocess.run(["cloud-localds", str(path), str(user), str(meta)], check=True)
    return path


class VM(Guest):
    """A guest the test logs in to as ``user`` with ``key``; always stopped on exit."""

    def __init__(self, image, workdir, user, key, guest_ports=(22, 80), **kw):
        super().__init__(image, workdir, guest_ports=guest_ports, **kw)
        self.user, self.key = user, str(key)
        self.boot_seconds = None

    def wait_ssh(self, timeout=300, fallback_tcg=True):
        """Wait until SSH as ``user`` works; seconds from start to SSH are kept."""
        try:
            return self._wait_ssh(timeout)
        except BootError:
            if self.accel != "kvm" or not fallback_tcg:
                raise
            self.stop()
            self.accel = "tcg"
            self.start()
            return self._wait_ssh(timeout)

    def _wait_ssh(self, timeout):
        deadline = self.started + timeout
        last = None
        while time.monotonic() < deadline:
            self._check_running()
            try:
                r = self.ssh("true", check=False, timeout=20)
                if r.returncode == 0:
                    self.boot_seconds = time.monotonic() - self.started
                    return self.boot_seconds
                last = r.stderr
            except subprocess.TimeoutExpired as e:
                last = str(e)
            time.sleep(2)
        raise BootError("no SSH within %ds (%s, last: %s)\n--- console ---\n%s"
                        % (timeout, self.accel, (last or "").strip(), self.console_tail()))

    def ssh(self, command, check=True, timeout=60):
        """Run ``command`` (a shell string, run by the guest's login shell) as the user."""
        argv = ["ssh", "-p", str(self.ports[22]), "-i", self.key] + SSH_OPTS + [
            "%s@127.0.0.1" % self.user, command]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("ssh %r failed (%d): %s" % (command, r.returncode, r.stderr))
        return r

    def http_get(self, path="/", guest_port=80, timeout=20):
        url = "http://127.0.0.1:%d%s" % (self.ports[guest_port], path)
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
