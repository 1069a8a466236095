"""Run the migrate-* hooks on a real root the way diskimage-builder does.

Hooks and data are laid out as DIB's generate_hooks does (every element's
sub-directories merged under one hooks dir, the per-host ``migrate-data`` beside
them) at ROOT/tmp/in_target.d; in-target phases run as
``chroot ROOT /tmp/in_target.d/<phase>/<hook>``, outside phases with
TARGET_ROOT=ROOT and TMP_HOOKS_PATH=ROOT/tmp/in_target.d.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.rootfs import Chroot, debian_root, have_debootstrap  # noqa: E402

ELEMENTS = REPO / "elements"
EXAMPLES = REPO / "examples"
IN_TARGET = "/tmp/in_target.d"
OUTSIDE = ("root.d", "extra-data.d", "post-root.d", "block-device.d", "pre-finalise.d", "cleanup.d")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# the fixture server's package set: one cached debootstrap root for all suites
from tests.support.fixture import PACKAGES  # noqa: E402

__all__ = ["Chroot", "debian_root", "have_debootstrap", "Hooks", "render_data", "REPO", "ELEMENTS",
           "EXAMPLES", "PACKAGES"]


def render_data(report_path, target, dest):
    """Render the example report with the driver and return its migrate-data directory."""
    from dib_migrate.plan import make_plan
    from dib_migrate.render import render
    from dib_migrate.report import load_report

    report = load_report(str(report_path))
    plan = make_plan(report, target)
    render(plan, report, str(dest))
    (host,) = (Path(dest) / "elements").glob("migrate-host-*")
    return host / "migrate-data"


class Hooks:
    def __init__(self, root, data):
        self.root = Path(root)
        self.dir = self.root / IN_TARGET.lstrip("/")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.owner = {}     # (phase, hook) -> element, to run only the elements a build would have
        for element in sorted(ELEMENTS.iterdir()):
            for sub in element.iterdir():
                if sub.is_dir():
                    shutil.copytree(sub, self.dir / sub.name, dirs_exist_ok=True, symlinks=True)
                    for hook in sub.iterdir():
                        self.owner[(sub.name, hook.name)] = element.name
        shutil.copytree(data, self.dir / "migrate-data", symlinks=True)

    def run_phase(self, phase, elements, env=None):
        """The hooks ``elements`` have in ``phase``, in the order dib-run-parts uses (sorted names)."""
        for hook in sorted(p.name for p in (self.dir / phase).iterdir()):
            if self.owner.get((phase, hook)) in elements:
                self.run(phase, hook, env=env)

    def run_element(self, phase, element, env=None):
        """Every hook ``element`` has in ``phase``, in DIB's order; one result, the hooks' output joined."""
        hooks = sorted(p.name for p in (ELEMENTS / element / phase).iterdir())
        results = [self.run(phase, hook, env=env) for hook in hooks]
        return subprocess.CompletedProcess([r.args for r in results], 0, "".join(r.stdout for r in results),
                                           "".join(r.stderr for r in results))

    def run(self, phase, hook, env=None, check=True):
        full = {"PATH": PATH, "DIB_DEBUG_TRACE": "0", "HOME": "/root", "LC_ALL": "C"}
        full.update(env or {})
        if phase in OUTSIDE:
            full.update(TARGET_ROOT=str(self.root), TMP_HOOKS_PATH=str(self.dir),
                        PATH=os.environ.get("PATH", PATH))
            argv = [str(self.dir / phase / hook)]
        else:
            argv = ["chroot", str(self.root), "%s/%s/%s" % (IN_TARGET, phase, hook)]
        res = subprocess.run(argv, env=full, capture_output=True, text=True)
        if check and res.returncode != 0:
            raise AssertionError("%s/%s failed (%d)\n--- stdout\n%s\n--- stderr\n%s"
                                 % (phase, hook, res.returncode, res.stdout, res.stderr))
        return res


RECORDER = """#!/bin/sh
printf '%s\n' "$(basename "$0") $*" >>/tmp/calls.log
"""


def stand_in(root, name, body=""):
    """A recording stand-in for NAME at /usr/local/sbin (first on the hooks' PATH)."""
    p = Path(root) / "usr/local/sbin" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(RECORDER + body)
    p.chmod(0o755)


def calls(root):
    log = Path(root) / "tmp/calls.log"
    return [ln.rstrip() for ln in log.read_text().splitlines()] if log.exists() else []
