"""What tests need to run dib-migrate and disk-image-create on this host.

The host settings themselves (shims for kernels without device-mapper/vfat, Debian
security mirror, debootstrap cache) live in the product, ``dib_migrate.hostshims``,
because `dib-migrate build` needs them too; tests only add the virtualenv's bin to PATH
so ``disk-image-create`` is found when pytest runs from an unactivated venv (tox).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from dib_migrate.hostshims import host_env  # noqa: F401  (re-exported for tests)

REPO = Path(__file__).resolve().parents[2]


def env():
    e = dict(os.environ)
    e["PATH"] = str(Path(sys.executable).parent) + os.pathsep + e.get("PATH", os.defpath)
    return e


def cli(*args, check=True, timeout=1800):
    """Run ``dib-migrate ARGS`` as a user does (the package's entry point)."""
    r = subprocess.run([sys.executable, "-m", "dib_migrate"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout, env=env(), cwd=str(REPO))
    if check and r.returncode != 0:
        raise AssertionError("dib-migrate %s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, args)), r.returncode, r.stdout[-4000:], r.stderr[-6000:]))
    return r


def compare_json(report, image, plan_path):
    """`dib-migrate compare --format json`: (exit code, its JSON); bad input (exit 2) fails the test."""
    r = cli("compare", report, image, "--plan", plan_path, "--format", "json", check=False, timeout=600)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)
