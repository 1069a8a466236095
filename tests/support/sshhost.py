"""Source servers for the SSH scan and fleet tests: Debian 12 roots with sshd on a loopback port.

Each server is a copy of one cached debootstrap root (rootfs.py) with its own hostname and
address, /proc, /sys and /dev mounted, and the root's own sshd started in a chroot listening
on 127.0.0.1:PORT. Logins: root and ``migrate`` (passwordless sudo), both with the test's key;
the client trusts exactly the server's host key through a known_hosts file of its own.
"""
import socket
import subprocess
import time
from pathlib import Path

from .rootfs import Chroot, debian_root

PACKAGES = ("systemd-sysv", "openssh-server", "python3", "sudo", "ifupdown", "isc-dhcp-client")
USER = "migrate"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)


class SshHost:
    """A source server: ``with SshHost(dir, name, pubkey) as h: h.dest, h.ssh_options``."""

    def __init__(self, directory, name, public_key, address, key_path, broken=False):
        self.dir, self.name, self.public_key, self.address = Path(directory), name, public_key, address
        self.key_path, self.broken = key_path, broken
        self.root = self.dir / "root"
        self.port = None
        self.proc = None
        self.chroot = None

    def _write(self, path, text, mode=0o644):
        p = self.root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists() or p.is_symlink():
            p.unlink()
        p.write_text(text)
        p.chmod(mode)

    def make(self):
        debian_root(self.root, include=PACKAGES)
        self._write("/etc/hostname", self.name + "\n")
        self._write("/etc/hosts", "127.0.0.1 localhost\n%s %s.example.test %s\n" % (
            self.address.split("/")[0], self.name, self.name))
        # what the installer writes (debootstrap leaves "# UNCONFIGURED FSTAB"): a server mounts its root
        self._write("/etc/fstab", "UUID=6f1c2d4e-0b8a-4c1e-9d7f-3a5b2c1d0e9f / ext4 errors=remount-ro 0 1\n")
        self._write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n\nauto eth0\n"
                    "iface eth0 inet static\n    address %s\n    gateway 10.0.2.2\n" % self.address)
        for home, uid in (("/root", 0), ("/home/" + USER, 1001)):
            if uid:
                # password '*', not useradd's locked '!': sshd without PAM refuses locked accounts
                subprocess.run(["chroot", str(self.root), "useradd", "-m", "-u", str(uid), "-s", "/bin/bash",
                                "-p", "*", USER], check=True, env=ENV)
            self._write(home + "/.ssh/authorized_keys", self.public_key.strip() + "\n", 0o600)
            subprocess.run(["chroot", str(self.root), "chown", "-R", "%d:%d" % (uid, uid), home + "/.ssh"],
                           check=True, env=ENV)
        self._write("/etc/sudoers.d/migrate", "%s ALL=(ALL) NOPASSWD: ALL\n" % USER, 0o440)
        if self.broken:
            # the server has no python3: the scan must fail at its first step, naming it
            for p in self.root.glob("usr/bin/python3*"):
                p.unlink()
        return self

    def __enter__(self):
        if not (self.root / "etc/hostname").exists():
            self.make()
        self.chroot = Chroot(self.root).__enter__()
        (self.root / "run/sshd").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["chroot", str(self.root), "/usr/sbin/sshd", "-D", "-e", "-p", str(self.port),
             "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none", "-o", "UsePAM=no"],
            env=ENV, stdout=subprocess.DEVNULL, stderr=open(self.dir / "sshd.log", "w"), start_new_session=True)
        wait_port(self.port)
        key = (self.root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text("[127.0.0.1]:%d %s %s\n" % (self.port, key[0], key[1]))
        return self

    def dest(self, user="root"):
        return "%s@127.0.0.1:%d" % (user, self.port)

    @property
    def ssh_options(self):
        return ["UserKnownHostsFile=%s" % self.known_hosts, "IdentityFile=%s" % self.key_path,
                "IdentitiesOnly=yes", "StrictHostKeyChecking=yes"]

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.chroot:
            self.chroot.__exit__(*exc)
