"""The Action records: each complete, render's data and the docs come from them."""
import re

import pytest

from dib_migrate import actions, render
from dib_migrate.actions import ACTIONS, AREAS, BY_TARGET
from dib_migrate.targets import TARGETS

from .helpers import EXAMPLE_NAMES, FIXTURE_NAMES, ROOT, plan_of

DOC = ROOT / "docs" / "element-data.md"
GENERATED = re.compile(r"<!-- actions: generated [^\n]*-->\n(.*?)<!-- /actions -->", re.S)
NET_TREE = ("network/tree/…",)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_record_is_complete(name):
    a = ACTIONS[name]
    assert a.name == name and a.area in AREAS and a.verb and a.doc
    if a.element not in (None, BY_TARGET):
        assert (ROOT / "elements" / a.element / "README.rst").is_file(), "%s: no element %s" % (name, a.element)
    assert a.check is not None, "%s: verify has no check" % name
    # what the element reads comes from the record's writer, or from the shared network tree
    assert a.write is not None or a.files in (NET_TREE, ()), name
    if a.packages is not None:
        assert a.element in (None, "migrate-kernel"), "%s: packages go through package-installs" % name


def test_every_cloud_target_has_its_element():
    for t in TARGETS.values():
        if t.cloud_init or t.azure_agent:
            assert (ROOT / "elements" / t.cloud_element / "README.rst").is_file(), t.name


def _declared(action, key):
    for f in action.files:
        if key == f or f.endswith("…") and key.startswith(f[:-1]):
            return True
    return False


@pytest.mark.parametrize("name", EXAMPLE_NAMES + FIXTURE_NAMES)
def test_writers_write_what_their_records_declare(example, name, tmp_path):
    from dib_migrate.options import load_profile
    from .helpers import FIXTURES
    profile = load_profile(str(FIXTURES / "profiles" / "web01-dhcp.yaml")) if name == "debian12-web" else None
    seen = set()
    for target in TARGETS:
        plan = plan_of(example(name), target, profile=profile)
        for c in plan.changes:
            a = ACTIONS[c.action]
            if a.write:
                f = {}
                a.write(c, f, plan)
                assert f and all(_declared(a, k) for k in f), (c.action, sorted(f))
                seen.add(c.action)
        assert set(render.data_files(plan, example(name))) >= {"plan.json", "os/family"}
    assert seen


def test_element_data_doc_lists_the_records():
    m = GENERATED.search(DOC.read_text())
    assert m, "docs/element-data.md has no generated actions table"
    assert m.group(1) == actions.markdown(), \
        "docs/element-data.md's actions table differs from dib_migrate/actions.py: regenerate it with " \
        "`python -m dib_migrate.actions`"


def test_files_the_records_declare_are_documented():
    text = DOC.read_text().split("## Actions")[0]
    for a in ACTIONS.values():
        for f in a.files:
            assert "`%s" % f.rstrip("…").rstrip("/") in text, "%s writes %s, absent from the file table" % (a.name, f)
