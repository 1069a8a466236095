"""Boot a built image in qemu: the fleet's boot smoke test (and the tests' VM, tests/support/vm.py).

Facts this module is built around (BUILD-NOTES.md):
- /dev/kvm may exist and still be unusable (``kvm_pvm``: guests abort or hang at "Loading
  Linux"), so KVM is used only when a probe passes; otherwise TCG (35-120 s to a login).
- Every wait has a time-out; the guest is always stopped by its own PID (never by name).
- User networking with host forwards bound to 127.0.0.1 only; the guest sees 10.0.2.15.
- The image is opened with ``snapshot=on``: booting never changes the artefact.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

QEMU = "qemu-system-x86_64"
# a getty's prompt on the serial console ("web01 login: ")
LOGIN_PROMPT = r"(?m)^\S+ login: "
# the disk bus each target's cloud presents the root disk on (EC2 Nitro: NVMe; Azure Gen1: ATA)
DISK_BUS = {"ec2": "nvme", "azure": "ide"}
OVMF_PAIRS = (("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
              ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"))


class BootError(RuntimeError):
    pass


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

    ``DIB_MIGRATE_QEMU_ACCEL=tcg|kvm`` overrides. ``kvm_pvm`` (a para-virtualised KVM for
    nested sandboxes) passes a BIOS probe but hangs real kernels, so a host whose only KVM
    backend is kvm_pvm counts as unusable. Otherwise SeaBIOS must reach "No bootable device"
    on its debug port under KVM within ``timeout`` seconds.
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
            stop_process(proc)


def stop_process(proc, grace=10):
    """Stop one process by its PID: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


def image_format(image):
    """qemu-img's idea of the format; a fixed VHD is probed as raw, so trust the name."""
    if str(image).endswith(".vhd"):
        return "vpc"
    out = subprocess.run(["qemu-img", "info", "--output=json", str(image)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["format"]


def ovmf_files():
    """(code, vars template) of Debian's ``ovmf`` package."""
    for code, vars_ in OVMF_PAIRS:
        if os.path.exists(code) and os.path.exists(vars_):
            return code, vars_
    raise BootError("no OVMF firmware (install Debian's ovmf package)")


def have_qemu():
    return all(shutil.which(t) for t in (QEMU, "qemu-img"))


class Guest:
    """One qemu guest. Use as a context manager; it is always stopped on exit."""

    def __init__(self, image, workdir, nic_model="virtio-net-pci", mac="52:54:00:d1:b0:01", seed=None,
                 memory=1024, smp=2, accel=None, guest_ports=(22,), disk_bus="virtio", firmware="bios",
                 extra_args=()):
        self.image = Path(image)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nic_model, self.mac, self.seed = nic_model, mac, seed
        self.memory, self.smp = memory, smp
        self.accel = accel or ("kvm" if kvm_usable() else "tcg")
        self.guest_ports = guest_ports
        self.disk_bus, self.firmware, self.extra_args = disk_bus, firmware, list(extra_args)
        self.ports = {}
        self.proc = None
        self.console = self.workdir / "console.log"
        self.started = None

    def argv(self):
        self.ports = {g: free_port() for g in self.guest_ports}
        fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-:%d" % (h, g) for g, h in self.ports.items())
        argv = [QEMU, "-accel", self.accel, "-m", str(self.memory), "-smp", str(self.smp),
                "-display", "none", "-monitor", "none", "-serial", "file:%s" % self.console]
        argv += self.disk_args() + self.firmware_args()
        # restrict=on: the guest reaches only the forwarded ports, never the outside; on a build host that is
        # itself a cloud instance the outside includes the host's own metadata service at 169.254.169.254
        argv += ["-nic", "user,model=%s,mac=%s,restrict=on%s" % (self.nic_model, self.mac, ("," + fwd) if fwd else "")]
        if self.accel == "kvm":
            argv += ["-cpu", "host"]
        if self.seed:
            argv += ["-drive", "file=%s,format=raw,if=virtio,readonly=on" % self.seed]
        return argv + self.extra_args

    def disk_args(self):
        """The root disk on the bus the target's cloud presents it on."""
        drive = "file=%s,format=%s,snapshot=on" % (self.image, image_format(self.image))
        if self.disk_bus == "nvme":
            return ["-drive", drive + ",if=none,id=root", "-device", "nvme,drive=root,serial=vol0dibmigrate"]
        if self.disk_bus == "ide":
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
            stop_process(self.proc)
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

    def _check_running(self):
        if self.proc.poll() is not None:
            raise BootError("qemu exited with %s\n%s\n--- console ---\n%s" % (
                self.proc.returncode, (self.workdir / "qemu.stderr").read_text(errors="replace").strip(),
                self.console_tail()))

    def console_shows(self, rx):
        try:
            return bool(rx.search(self.console.read_text(errors="replace")))
        except OSError:
            return False

    def ssh_banner(self):
        """True when the guest's sshd answers on its forwarded port with its banner (no login needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.ports[22]), timeout=5) as s:
                s.settimeout(10)
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    def wait_console(self, pattern, timeout=300):
        """Wait until the serial console shows ``pattern`` (a regex); seconds from start."""
        rx = re.compile(pattern)
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            self._check_running()
            if self.console_shows(rx):
                return time.monotonic() - self.started
            time.sleep(1)
        raise BootError("console never showed %r within %ds\n%s" % (pattern, timeout, self.console_tail()))

    def wait_ssh_banner(self, timeout=300):
        """Wait until the guest's sshd answers with its banner; seconds from start."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            self._check_running()
            if self.ssh_banner():
                return time.monotonic() - self.started
            time.sleep(1)
        raise BootError("no SSH banner within %ds\n%s" % (timeout, self.console_tail()))

    def wait_up(self, timeout=300):
        """Wait for the first sign of a booted system: sshd's banner or a login prompt on the
        serial console. Returns (what, seconds from start)."""
        rx = re.compile(LOGIN_PROMPT)
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            self._check_running()
            if 22 in self.ports and self.ssh_banner():
                return "ssh", time.monotonic() - self.started
            if self.console_shows(rx):
                return "login prompt", time.monotonic() - self.started
            time.sleep(1)
        raise BootError("neither SSH nor a login prompt on the serial console within %ds (%s)\n--- console ---\n%s"
                        % (timeout, self.accel, self.console_tail(15)))


def smoke(image, workdir, target, uefi=False, timeout=300, accel=None):
    """Boot ``image`` as ``target``'s cloud would (disk bus, firmware) and wait for SSH or the
    login prompt; returns {'reached', 'seconds', 'accel'}. The console is kept in ``workdir``."""
    guest = Guest(image, workdir, disk_bus=DISK_BUS.get(target, "virtio"), firmware="uefi" if uefi else "bios",
                  nic_model="e1000" if target in DISK_BUS else "virtio-net-pci", accel=accel)
    with guest:
        reached, seconds = guest.wait_up(timeout)
    return {"reached": reached, "seconds": round(seconds, 1), "accel": guest.accel}
