"""Boot a built image with qemu-system-x86_64 and talk to it over SSH and HTTP.

The guest itself (KVM probe, disk bus, firmware, console, time-outs, stop by PID) is the
product's (dib_migrate/qemu.py, the fleet's boot smoke test); this adds what tests need on
top: a login over SSH with the test's key, HTTP, and cloud-init seeds. Under KVM a boot that
never reaches SSH is retried once under TCG (the KVM probe cannot rule out every broken KVM).
Each further NIC (``more_macs``) is a user network of its own with its own forwards; QMP's
``set_link`` unplugs one (a bond's failover).
"""
import json
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from dib_migrate.qemu import BootError, Guest, free_port

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

    def __init__(self, image, workdir, user, key, guest_ports=(22, 80), more_macs=(), **kw):
        super().__init__(image, workdir, guest_ports=guest_ports, **kw)
        self.user, self.key = user, str(key)
        self.boot_seconds = None
        self.more_macs = list(more_macs)
        self.nic_ports = []                  # guest port -> host port, per NIC in order (the first: ports)
        self.qmp_path = self.workdir / "qmp.sock"

    def argv(self):
        argv = super().argv()
        self.nic_ports = [self.ports]
        argv += ["-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        for i, mac in enumerate(self.more_macs, 1):
            ports = {g: free_port() for g in self.guest_ports}
            self.nic_ports.append(ports)
            fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-:%d" % (h, g) for g, h in ports.items())
            argv += ["-nic", "user,id=net%d,model=%s,mac=%s,%s" % (i, self.nic_model, mac, fwd)]
        # the first NIC's -nic gets an id too, for set_link
        i = next(n for n, a in enumerate(argv) if a.startswith("user,model="))
        argv[i] = "user,id=net0," + argv[i][len("user,"):]
        return argv

    def set_link(self, nic, up):
        """Plug (``up``) or unplug NIC number ``nic``'s cable, as the guest sees it (QMP ``set_link``)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(self.qmp_path))
            f = s.makefile("rw")
            json.loads(f.readline())                    # the greeting
            for cmd in ({"execute": "qmp_capabilities"},
                        {"execute": "set_link", "arguments": {"name": "net%d" % nic, "up": bool(up)}}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:                             # events may come before the answer
                    answer = json.loads(f.readline())
                    if "return" in answer or "error" in answer:
                        break
                if "error" in answer:
                    raise BootError("QMP %s: %s" % (cmd["execute"], answer["error"]))

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

    def ssh(self, command, check=True, timeout=60, nic=0):
        """Run ``command`` (a shell string, run by the guest's login shell) as the user,
        through the forward of NIC number ``nic``."""
        argv = ["ssh", "-p", str(self.nic_ports[nic][22]), "-i", self.key] + SSH_OPTS + [
            "%s@127.0.0.1" % self.user, command]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("ssh %r failed (%d): %s" % (command, r.returncode, r.stderr))
        return r

    def http_get(self, path="/", guest_port=80, timeout=20):
        url = "http://127.0.0.1:%d%s" % (self.ports[guest_port], path)
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
