"""Boot a built image with qemu-system-x86_64 and talk to it over SSH and HTTP.

Facts this module is built around (../shared/BUILD-NOTES.md):
- /dev/kvm may exist and still be unusable (``kvm_pvm``: guests abort or hang at "Loading
  Linux"), so KVM is used only when a probe passes, and a boot that never reaches SSH
  under KVM is retried once under TCG.
- Every wait has a time-out; the VM is always stopped by its own PID (never by name),
  also when a test fails (context manager).
- User networking with host forwards bound to 127.0.0.1 only; the guest sees 10.0.2.15,
  gateway 10.0.2.2, DNS 10.0.2.3.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

QEMU = "qemu-system-x86_64"
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
            "-o", "IdentitiesOnly=yes"]


def free_port():
    """A TCP port free on 127.0.0.1 now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kvm_modules():
    try:
        return {m for m in os.listdir("/sys/module") if m.startswith("kvm")}
    except OSError:
        return set()


def kvm_usable(timeout=10):
    """True only when KVM really runs a guest here.

    ``DIB_MIGRATE_QEMU_ACCEL=tcg|kvm`` overrides. ``kvm_pvm`` (a para-virtualised KVM
    for nested sandboxes) passes a BIOS probe but hangs real kernels, so a host whose
    only KVM backend is kvm_pvm counts as unusable. Otherwise SeaBIOS must reach "No
    bootable device" on its debug port under KVM within ``timeout`` seconds.
    """
    forced = os.environ.get("DIB_MIGRATE_QEMU_ACCEL")
    if forced:
        return forced == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    mods = _kvm_modules()
    if "kvm_pvm" in mods and not mods & {"kvm_intel", "kvm_amd"}:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "bios.log")
        proc = subprocess.Popen(
            [QEMU, "-accel", "kvm", "-m", "64", "-display", "none", "-monitor", "none",
             "-nodefaults", "-no-reboot", "-chardev", "file,id=d,path=" + log,
             "-device", "isa-debugcon,iobase=0x402,chardev=d"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if os.path.exists(log) and b"No bootable device" in Path(log).read_bytes():
                    return True
                time.sleep(0.2)
            return False
        finally:
            _stop(proc)


def _stop(proc, grace=10):
    """Stop one process by its PID: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


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


def image_format(image):
    """qemu-img's idea of the format; a fixed VHD is probed as raw, so trust the name."""
    if str(image).endswith(".vhd"):
        return "vpc"
    out = subprocess.run(["qemu-img", "info", "--output=json", str(image)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["format"]


class BootError(RuntimeError):
    pass


class VM:
    """One qemu guest. Use as a context manager; it is always stopped on exit.

    The image is opened with ``snapshot=on`` so booting never changes the artefact that
    ``verify`` reads.
    """

    def __init__(self, image, workdir, user, key, nic_model="virtio-net-pci",
                 mac="52:54:00:d1:b0:01", seed=None, memory=1024, smp=2, accel=None,
                 guest_ports=(22, 80), disk_bus="virtio", firmware="bios", extra_args=()):
        self.image = Path(image)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.user, self.key = user, str(key)
        self.nic_model, self.mac, self.seed = nic_model, mac, seed
        self.memory, self.smp = memory, smp
        self.accel = accel or ("kvm" if kvm_usable() else "tcg")
        self.guest_ports = guest_ports
        self.disk_bus, self.firmware, self.extra_args = disk_bus, firmware, list(extra_args)
        self.ports = {}
        self.proc = None
        self.console = self.workdir / "console.log"
        self.started = None
        self.boot_seconds = None

    # -- lifecycle -------------------------------------------------------------------
    def argv(self):
        self.ports = {g: free_port() for g in self.guest_ports}
        fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-:%d" % (h, g) for g, h in self.ports.items())
        argv = [QEMU, "-accel", self.accel, "-m", str(self.memory), "-smp", str(self.smp),
                "-display", "none", "-monitor", "none", "-serial", "file:%s" % self.console]
        argv += self.disk_args() + self.firmware_args()
        argv += ["-nic", "user,model=%s,mac=%s,%s" % (self.nic_model, self.mac, fwd)]
        if self.accel == "kvm":
            argv += ["-cpu", "host"]
        if self.seed:
            argv += ["-drive", "file=%s,format=raw,if=virtio,readonly=on" % self.seed]
        return argv + self.extra_args

    def disk_args(self):
        """The root disk on the bus the target's cloud presents it on."""
        drive = "file=%s,format=%s,snapshot=on" % (self.image, image_format(self.image))
        if self.disk_bus == "nvme":          # EC2 Nitro: every EBS volume is an NVMe namespace
            return ["-drive", drive + ",if=none,id=root", "-device", "nvme,drive=root,serial=vol0dibmigrate"]
        if self.disk_bus == "ide":           # Azure Gen1: the OS disk on the emulated ATA controller
            return ["-drive", drive + ",if=ide,index=0,media=disk"]
        return ["-drive", drive + ",if=virtio"]

    def firmware_args(self):
        if self.firmware != "uefi":
            return []
        code, vars_ = ovmf_files()
        own_vars = self.workdir / "OVMF_VARS.fd"
        shutil.copyfile(vars_, own_vars)     # the firmware writes its boot entries there
        return ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % code,
                "-drive", "if=pflash,format=raw,unit=1,file=%s" % own_vars]

    def start(self):
        if self.console.exists():
            self.console.unlink()
        argv = self.argv()
        (self.workdir / "qemu.argv").write_text(" ".join(argv) + "\n")
        self.stderr = open(self.workdir / "qemu.stderr", "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.started = time.monotonic()
        return self

    def stop(self):
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
            self.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def console_tail(self, n=60):
        try:
            lines = self.console.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    # -- waiting -----------------------------------------------------------------------
    def wait_ssh(self, timeout=300, fallback_tcg=True):
        """Wait until SSH as ``user`` works; seconds from start to SSH are kept.

        Under KVM a boot that does not get there within ``timeout`` is restarted under
        TCG once (the KVM probe cannot rule out every broken KVM)."""
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
            if self.proc.poll() is not None:
                raise BootError("qemu exited with %s\n%s\n--- console ---\n%s" % (
                    self.proc.returncode, (self.workdir / "qemu.stderr").read_text(errors="replace"),
                    self.console_tail()))
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

    def wait_console(self, pattern, timeout=300):
        """Wait until the serial console shows ``pattern`` (a regex); seconds from start."""
        rx = re.compile(pattern)
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BootError("qemu exited with %s\n%s" % (self.proc.returncode, self.console_tail()))
            try:
                if rx.search(self.console.read_text(errors="replace")):
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(1)
        raise BootError("console never showed %r within %ds\n%s" % (pattern, timeout, self.console_tail()))

    def wait_ssh_banner(self, timeout=300):
        """Wait until the guest's sshd answers with its banner (no key needed); seconds
        from start. Used to compare boot times of images without a shared login."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BootError("qemu exited with %s\n%s" % (self.proc.returncode, self.console_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.ports[22]), timeout=5) as s:
                    s.settimeout(10)
                    if s.recv(64).startswith(b"SSH-"):
                        return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(1)
        raise BootError("no SSH banner within %ds\n%s" % (timeout, self.console_tail()))

    # -- talking -----------------------------------------------------------------------
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


OVMF_PAIRS = (("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
              ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"))


def ovmf_files():
    """(code, vars template) of Debian's ``ovmf`` package."""
    for code, vars_ in OVMF_PAIRS:
        if os.path.exists(code) and os.path.exists(vars_):
            return code, vars_
    raise BootError("no OVMF firmware (install Debian's ovmf package)")


def have_qemu():
    return all(shutil.which(t) for t in (QEMU, "qemu-img", "ssh"))
