"""Shared, module-scoped artefacts of the end-to-end tests: the fixture server, its scan,
and one build per target (each build takes minutes: never build the same thing twice).

``DIB_MIGRATE_FUNCTIONAL_DIR`` keeps the work directory (default: a pytest temp dir), and
``DIB_MIGRATE_REUSE_BUILDS=1`` reuses images already built there (for iterating locally).
"""
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support import fixture as fx  # noqa: E402
from tests.support import richfixture as rf  # noqa: E402
from tests.support.dibhost import cli  # noqa: E402

EXT = {"openstack": "qcow2", "ec2": "raw", "azure": "vhd", "kvm": "qcow2"}


def _missing_tools():
    tools = ("debootstrap", "disk-image-create", "qemu-img", "qemu-system-x86_64", "genisoimage",
             "ssh", "ssh-keygen", "losetup", "partx")
    venv_bin = Path(sys.executable).parent
    return [t for t in tools if not shutil.which(t) and not (venv_bin / t).exists()]


def pytest_collection_modifyitems(config, items):
    # not root: skip. Root without the tools is a broken CI machine: fail (see workdir)
    if os.geteuid() != 0:
        for item in items:
            if "functional" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="functional tests need root"))


def _reuse():
    return os.environ.get("DIB_MIGRATE_REUSE_BUILDS") == "1"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    missing = _missing_tools()
    if missing:
        pytest.fail("functional tests need %s (.ci/run installs them)" % " ".join(missing))
    d = os.environ.get("DIB_MIGRATE_FUNCTIONAL_DIR")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        yield Path(d)
        return
    tmp = tmp_path_factory.mktemp("functional")
    yield tmp
    # images are GiBs each and pytest keeps three runs of temp dirs: keep only logs
    for image in list(tmp.glob("out-*/*.raw")) + list(tmp.glob("out-*/*.vhd")) + list(tmp.glob("out-*/*.qcow2")):
        image.unlink()
    for root in ("source", "rich-source"):
        shutil.rmtree(tmp / root, ignore_errors=True)


@pytest.fixture(scope="session")
def keypair(workdir):
    return fx.ssh_keypair(workdir)


@pytest.fixture(scope="session")
def source(workdir, keypair):
    root = workdir / "source"
    if _reuse() and (root / "srv/www/index.html").exists():
        return fx.load_fixture(root)
    if root.exists():
        shutil.rmtree(root)
    return fx.make_fixture(root, keypair[1])


def _scan(root, out):
    """The offline scan of the fixture root ``root`` into ``out``; its report.yaml."""
    if _reuse() and (out / "report.yaml").exists():
        return out / "report.yaml"
    shutil.rmtree(out, ignore_errors=True)
    cli("scan", "--root", root, "-o", out, "-q")
    return out / "report.yaml"


@pytest.fixture(scope="session")
def report(workdir, source):
    return _scan(source.root, workdir / "scan")


class Built:
    def __init__(self, target, image, plan_path, seconds):
        self.target, self.image, self.plan_path, self.seconds = target, image, plan_path, seconds
        self.plan = json.loads(Path(plan_path).read_text())

    def changes(self, action=None, rule=None):
        return [c for c in self.plan["changes"]
                if (action is None or c["action"] == action) and (rule is None or c["rule"] == rule)]


def _build(out, report, hostname, target, options=()):
    """Build ``report`` for ``target`` into ``out`` (reused with DIB_MIGRATE_REUSE_BUILDS=1)."""
    image = out / ("%s-%s.%s" % (hostname, target, EXT[target]))
    reuse = _reuse() and image.exists()
    start = time.monotonic()
    if not reuse:
        shutil.rmtree(out, ignore_errors=True)
        cli("build", report, "--target", target, "-o", out, *options)
    seconds = time.monotonic() - start
    assert image.is_file(), "build wrote no %s (found: %s)" % (image, sorted(p.name for p in out.iterdir()))
    plan = out / ("%s-%s.plan.json" % (hostname, target))
    assert plan.is_file()
    return Built(target, image, plan, seconds)


_BUILDS = {}


@pytest.fixture(scope="session")
def build(workdir, report, source):
    """build(target) -> Built; each target is built at most once per session."""
    def get(target):
        if target not in _BUILDS:
            _BUILDS[target] = _build(workdir / ("out-" + target), report, fx.HOSTNAME, target)
        return _BUILDS[target]
    return get


# --------------------------------------------------------------------------- the richer fixture (issue 11)
@pytest.fixture(scope="session")
def rich_source(workdir, keypair):
    root = workdir / "rich-source"
    if _reuse() and (root / rf.PAGE.lstrip("/")).exists():
        return rf.load_rich_fixture(root)
    if root.exists():
        shutil.rmtree(root)
    return rf.make_rich_fixture(root, keypair[1])


@pytest.fixture(scope="session")
def rich_report(workdir, rich_source):
    return _scan(rich_source.root, workdir / "rich-scan")


@pytest.fixture(scope="session")
def rich_openstack(workdir, rich_report):
    """The shop server built for OpenStack, uncompressed (the test's budget is minutes)."""
    return _build(workdir / "out-rich-openstack", rich_report, rf.HOSTNAME, "openstack", ["--no-compress"])
