"""A live database server for the cutover test (issue 12): Debian 12 with PostgreSQL 15.

The root is debootstrapped with PostgreSQL (rootfs.py, cached as a tarball like the other
roots). The cluster then runs
*on this host* inside a chroot of that root (its own /proc, /dev, /dev/shm), so the scanner
sees it running (a process whose root is the scanned root) and ``--quiesce`` stops and
starts it with the root's own init script. A load generator inserts committed rows from
the host through the cluster's Unix socket.
"""
import os
import subprocess
import threading
import time
from pathlib import Path

from .fixture import DNS, _write
from .rootfs import debian_root

BASE = ("systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "ifupdown", "isc-dhcp-client", "sudo",
        "ca-certificates")
EXTRA = ("postgresql", "postgresql-contrib")
HOSTNAME = "db-fx"
USER, UID, GID = "dbadmin", 1235, 1235
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}

INTERFACES = """\
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
    address 10.0.2.15/24
    gateway 10.0.2.2
    dns-nameservers 10.0.2.3
"""


def _chroot(root, *argv, check=True, **kw):
    return subprocess.run(["chroot", str(root)] + list(argv), check=check, env=ENV, **kw)


def _root(dest):
    # debootstrap installs PostgreSQL and its postinst creates the cluster 15/main (one cached
    # tarball with the base: 2.5 min on a fresh machine, seconds afterwards)
    return debian_root(dest, include=BASE + EXTRA)


class _mounted:
    """/proc, /dev (with /dev/shm and /dev/pts) inside the root, as a running system has them."""

    def __init__(self, root):
        self.root = Path(root)
        self.points = []

    def __enter__(self):
        for target, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"]),
                             ("dev/pts", ["--bind", "/dev/pts"]), ("dev/shm", ["-t", "tmpfs", "shm"]),
                             ("run", ["-t", "tmpfs", "run"])):
            mp = self.root / target
            mp.mkdir(exist_ok=True)
            subprocess.run(["mount"] + args + [str(mp)], check=True)
            self.points.append(mp)
        return self

    def __exit__(self, *exc):
        for mp in reversed(self.points):
            subprocess.run(["umount", "-l", str(mp)], check=False)
        self.points = []


class PgServer:
    """The fixture root with its cluster running in a chroot (a context manager)."""

    def __init__(self, dest, public_key):
        self.root = _root(dest)
        self.mounts = _mounted(self.root)
        self._setup(public_key)

    def _setup(self, public_key):
        root = self.root
        _write(root, "/etc/hostname", HOSTNAME + "\n")
        _write(root, "/etc/hosts", "127.0.0.1\tlocalhost\n10.0.2.15\t%s.example.test %s\n" % (HOSTNAME, HOSTNAME))
        _write(root, "/etc/network/interfaces", INTERFACES)
        _write(root, "/etc/resolv.conf", "nameserver %s\n" % DNS)
        _write(root, "/etc/fstab", "/dev/vda1 / ext4 errors=remount-ro 0 1\n")
        _write(root, "/etc/machine-id", "5f2a0c7e9b3d4e1f8a6b2c4d6e8f0a1b\n", 0o444)
        _chroot(root, "groupadd", "-g", str(GID), USER)
        _chroot(root, "useradd", "-m", "-u", str(UID), "-g", str(GID), "-s", "/bin/bash", "-G", "sudo", USER)
        _write(root, "/etc/sudoers.d/dbadmin", "%s ALL=(ALL) NOPASSWD: ALL\n" % USER, 0o440)
        home = "/home/" + USER
        _write(root, home + "/.ssh/authorized_keys", public_key.strip() + "\n", 0o600, UID, GID)
        os.chown(root / home.lstrip("/") / ".ssh", UID, GID)
        os.chmod(root / home.lstrip("/") / ".ssh", 0o700)
        _write(root, "/srv/app/config.ini", "[app]\nversion = 1\n", 0o640, UID, GID)
        _write(root, "/srv/app/obsolete.txt", "removed before cutover\n", 0o644, UID, GID)
        _write(root, "/srv/app/static.txt", "never changes\n", 0o644, UID, GID)
        subprocess.run(["systemctl", "--root", str(root), "enable", "ssh", "networking", "postgresql"],
                       check=True, capture_output=True)

    def __enter__(self):
        self.mounts.__enter__()
        self.service("start")
        self.psql("CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, note text NOT NULL, "
                  "at timestamptz DEFAULT now())")
        return self

    def __exit__(self, *exc):
        self.service("stop", check=False)
        self.mounts.__exit__(*exc)

    def service(self, verb, check=True):
        return _chroot(self.root, "/etc/init.d/postgresql", verb, check=check, capture_output=True)

    def running(self):
        return self.service("status", check=False).returncode == 0

    def psql(self, sql, check=True):
        r = _chroot(self.root, "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                    "-c", sql, check=check, capture_output=True, text=True)
        return r.stdout.strip()


class Load:
    """Inserts rows in a loop (each its own transaction) until stopped; ``committed`` is the
    highest id whose INSERT returned, i.e. was committed."""

    def __init__(self, server, note="load"):
        self.server, self.note = server, note
        self.committed = 0
        self.rows = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        # one psql reading a stream of INSERTs: each statement commits on its own
        proc = subprocess.Popen(["chroot", str(self.server.root), "runuser", "-u", "postgres", "--", "psql",
                                 "-XAtq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True, bufsize=1)
        try:
            while not self._stop.is_set():
                proc.stdin.write("INSERT INTO orders (note) SELECT '%s ' || repeat('x', 200) "
                                 "FROM generate_series(1, 50) RETURNING id;\n" % self.note)
                proc.stdin.flush()
                ids = [int(proc.stdout.readline()) for _ in range(50)]
                self.committed = max(self.committed, max(ids))
                self.rows += len(ids)
        except (ValueError, OSError, BrokenPipeError) as e:
            self.errors.append(repr(e))
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass
            proc.wait(timeout=30)

    def __enter__(self):
        self._thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)
