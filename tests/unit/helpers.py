"""Helpers of the driver's unit tests: example reports, goldens, plan lookups.

Goldens live under tests/unit/golden/; run with DIB_MIGRATE_REGEN_GOLDEN=1 to rewrite them
(then review the diff). Without it every golden is compared exactly.
"""
import copy
import functools
import os
import shutil
from pathlib import Path

import yaml

from dib_migrate.options import Options
from dib_migrate.plan import make_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
UNIT = Path(__file__).resolve().parent
FIXTURES = UNIT / "fixtures"
GOLDEN = UNIT / "golden"
REGEN = os.environ.get("DIB_MIGRATE_REGEN_GOLDEN", "") not in ("", "0")

EXAMPLE_NAMES = ("debian12-web", "centos6-xen-pv")
FIXTURE_NAMES = ("rocky9-vmware", "ubuntu2204-netplan", "sles15-wicked")
TARGET_NAMES = ("openstack", "ec2", "azure", "kvm")


def source_path(name):
    """report.yaml of a shipped example, or of a fixture report."""
    if name in EXAMPLE_NAMES:
        return EXAMPLES / name / "report.yaml"
    return FIXTURES / "reports" / (name + ".yaml")


@functools.lru_cache(maxsize=None)
def _parsed(name):
    with open(source_path(name)) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def source_data(name):
    """The parsed YAML of a report (a fresh copy each call)."""
    return copy.deepcopy(_parsed(name))


def dump_yaml(data):
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


def check_golden(path, text):
    """Compare ``text`` with the golden file exactly (or rewrite it under the regen switch)."""
    path = Path(path)
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), "golden %s missing: run with DIB_MIGRATE_REGEN_GOLDEN=1" % path
    assert text == path.read_text(), "%s differs (DIB_MIGRATE_REGEN_GOLDEN=1 rewrites it)" % path


def check_golden_tree(path, files):
    """Compare {relative path: text} with the golden directory ``path`` exactly: same files, same text."""
    path = Path(path)
    if REGEN:
        if path.exists():
            shutil.rmtree(str(path))
        for rel, text in files.items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
        return
    assert path.is_dir(), "golden tree %s missing: run with DIB_MIGRATE_REGEN_GOLDEN=1" % path
    have = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    assert sorted(files) == have, "%s: files differ (DIB_MIGRATE_REGEN_GOLDEN=1 rewrites it)" % path
    for rel, text in files.items():
        assert text == (path / rel).read_text(), "%s/%s differs (DIB_MIGRATE_REGEN_GOLDEN=1 rewrites it)" % (
            path, rel)


def plan_of(report, target="kvm", **options):
    return make_plan(report, target, Options(**options))


def services(plan):
    """{service: (action, rule)} of a plan."""
    return {c.subject: (c.action, c.rule) for c in plan.changes if c.area == "services"}


def package(name, version="1.0", arch="amd64"):
    return {"name": name, "version": version, "arch": arch}


def dib_resolve(elements, elements_path):
    """Names DIB's element_dependencies expands ``elements`` to, as disk-image-create calls it:
    DIB's own elements after ELEMENTS_PATH, ``base`` first, block-device-mbr when vm has no layout."""
    import diskimage_builder
    from diskimage_builder.element_dependencies import get_elements
    elements = list(elements)
    if "vm" in elements and not any(e.startswith("block-device-") for e in elements):
        elements.append("block-device-mbr")
    search = list(elements_path) + [os.path.join(os.path.dirname(diskimage_builder.__file__), "elements")]
    return {name for name, _path in get_elements(["base"] + elements, ":".join(str(p) for p in search))}
