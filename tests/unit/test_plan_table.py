"""The Plan as a sysadmin reads it: grouped by area, every change with its rule, warnings last."""
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


def test_every_change_listed_with_its_rule(example):
    plan = plan_of(example("debian12-web"), "openstack")
    text = table(plan, verbose=True)
    for c in plan.changes:
        assert any(c.rule in line and c.subject[:28] in line for line in text.splitlines()), c


def test_kept_services_collapsed_unless_verbose(example):
    plan = plan_of(example("debian12-web"), "kvm")
    kept = len(plan.by_rule("svc-keep"))
    short, full = table(plan), table(plan, verbose=True)
    assert "%d services" % kept in short and "nginx" not in short
    assert "nginx" in full and "%d services" % kept not in full


def test_lines_fit(example):
    for line in table(plan_of(example("rocky9-vmware"), "azure"), width=110).splitlines():
        assert len(line) <= 110, line
