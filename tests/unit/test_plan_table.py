"""The Plan as a sysadmin reads it: grouped by area, every change with its rule, warnings last."""
import pytest

from dib_migrate.plan_table import VERB, table
from dib_migrate.plan.model import ACTIONS

from .helpers import plan_of


def test_every_action_has_a_verb():
    assert set(VERB) == set(ACTIONS)


def test_grouped_by_area(example):
    text = table(plan_of(example("centos6-xen-pv"), "ec2"))
    heads = [line.split(" (")[0] for line in text.splitlines()
             if line and line == line.lstrip() and "(" in line]
    assert heads[1:] == ["NETWORK", "PACKAGES", "FILES", "SERVICES", "BOOT", "BLOCKERS", "WARNINGS"]
    assert text.startswith("Plan for db02 (centos 6.10, sysv) → ec2 [raw]")
    assert "preflight-base" in text


def _rows(text):
    """(verb, subject as its column holds it, rule) of every Change row; continuation lines rejoined."""
    rows, lines = [], text.splitlines()
    for line in lines:
        if line.startswith("  ") and len(line) > 13 and line[2] != " ":
            rows.append([line[2:12].strip(), line[13:].split(" ")[0], line[13:].split()[1:2]])
        elif rows and line.startswith(" " * 13) and len(line) > 13 and line[13] != " " and ": " not in line:
            rows[-1][1] += line[13:].split(" ")[0]
    return rows


def test_every_subject_whole(example):
    plan = plan_of(example("debian12-web"), "openstack")
    text = table(plan, verbose=False, width=110)
    subjects = [r[1] for r in _rows(text)]
    for c in plan.changes:
        if c.rule != "svc-keep" and " " not in c.subject:
            assert c.subject in subjects, (c.subject, subjects)


def test_the_paths_operators_saw_cut_are_whole(example):
    # issue 15: the table showed `/etc/udev/rules.d/70-persist` and `/etc/cloud/cloud.cfg.d/90-di`
    text = table(plan_of(example("debian12-web"), "openstack"), width=110)
    lines = text.splitlines()
    i = next(n for n, ln in enumerate(lines) if "/etc/udev/rules.d/" in ln and "net-mac" in ln and "remove" in ln)
    assert lines[i + 1].split()[0] == "70-persistent-net.rules"
    i = next(n for n, ln in enumerate(lines) if "/etc/cloud/cloud.cfg.d/" in ln)
    assert lines[i + 1].split()[0] == "91-dib-migrate.cfg"


def test_wide_terminal_keeps_subjects_on_one_line(example):
    text = table(plan_of(example("debian12-web"), "openstack"), width=200)
    assert any("/etc/udev/rules.d/70-persistent-net.rules" in ln for ln in text.splitlines())


def test_verbose_adds_each_changes_data(example):
    plan = plan_of(example("debian12-web"), "openstack")
    short, full = table(plan, width=110), table(plan, verbose=True, width=110)
    assert 'addresses: ["192.0.2.10/24"]' in full and "addresses:" not in short
    assert 'gateway: "192.0.2.1"' in full
    assert "content: \"127.0.0.1\\tlocalhost" in full


def test_kept_services_collapsed_unless_verbose(example):
    plan = plan_of(example("debian12-web"), "kvm")
    kept = len(plan.by_rule("svc-keep"))
    short, full = table(plan), table(plan, verbose=True)
    assert "%d services" % kept in short and "nginx" not in short
    assert "nginx" in full and "%d services" % kept not in full


@pytest.mark.parametrize("width", [80, 110, 160])
def test_lines_fit(example, width):
    for verbose in (False, True):
        for line in table(plan_of(example("rocky9-vmware"), "azure"), verbose=verbose, width=width).splitlines():
            assert len(line) <= width, line
