"""Cached Debian root filesystems (12 unless a suite is named) for tests that run real commands on a real root.

debootstrap takes about a minute; the result is kept as a tarball under
``$DIB_MIGRATE_TEST_CACHE`` (default /var/cache/dib-migrate-tests) keyed by the
package set, and every test gets its own fresh copy (a few seconds).
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

MIRROR = os.environ.get("DIB_MIGRATE_TEST_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("DIB_MIGRATE_TEST_CACHE", "/var/cache/dib-migrate-tests"))
SUITE = "bookworm"


def have_debootstrap():
    return os.geteuid() == 0 and shutil.which("debootstrap") is not None


def _cached_tarball(include, variant, suite=SUITE):
    key = hashlib.sha256(("%s|%s|%s" % (suite, variant, ",".join(sorted(include)))).encode()).hexdigest()[:12]
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / ("%s-%s-%s.tar" % (suite, variant, key))
    with open(CACHE / ".lock", "w") as lock:
        # several pytest workers or helpers may ask for the same root at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        work = CACHE / ("build-" + key)
        shutil.rmtree(work, ignore_errors=True)
        cmd = ["debootstrap", "--variant=" + variant]
        if include:
            cmd.append("--include=" + ",".join(sorted(include)))
        cmd += [suite, str(work), MIRROR]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        tmp = tarball.with_suffix(".tmp")
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "--acls", "-C", str(work),
                        "-cf", str(tmp), "."], check=True)
        os.replace(tmp, tarball)
        shutil.rmtree(work, ignore_errors=True)
        return tarball


def debian_root(dest, include=(), variant="minbase", suite=SUITE):
    """Make ``dest`` a fresh Debian root of ``suite`` (debootstrap ``variant`` plus ``include``)."""
    tarball = _cached_tarball(tuple(include), variant, suite)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "--acls", "-C", str(dest),
                    "-xpf", str(tarball)], check=True)
    return dest


class Chroot:
    """Bind-mount /proc, /sys and /dev into a root the way DIB's chroot phases see them."""

    def __init__(self, root):
        self.root = Path(root)
        self.mounts = []

    def __enter__(self):
        for src, fstype in (("/proc", "proc"), ("/sys", "sysfs"), ("/dev", None)):
            mp = self.root / src.lstrip("/")
            mp.mkdir(exist_ok=True)
            if fstype:
                subprocess.run(["mount", "-t", fstype, fstype, str(mp)], check=True)
            else:
                subprocess.run(["mount", "--bind", src, str(mp)], check=True)
            self.mounts.append(mp)
        return self

    def run(self, *argv, env=None, check=True, **kw):
        return subprocess.run(["chroot", str(self.root)] + list(argv), env=env, check=check, **kw)

    def __exit__(self, *exc):
        for mp in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(mp)], check=False)
        self.mounts = []
