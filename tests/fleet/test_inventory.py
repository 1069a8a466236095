"""The inventory: merging of defaults, groups and hosts, and bad input named by file, field and value."""
import shutil
from pathlib import Path

import pytest
import yaml

from dib_migrate.errors import InputError
from dib_migrate.fleet.inventory import DEFAULT_QUEUE, load_inventory, scan_arguments, to_options, with_boot
from dib_migrate.plan import make_plan
from dib_migrate.report import load_report

REPORT = "examples/debian12-web/report.yaml"


def write(tmp_path, data):
    p = tmp_path / "inventory.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.fixture
def report(tmp_path):
    src = Path(__file__).resolve().parents[2] / REPORT
    for f in src.parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "report.yaml"


def test_merge_defaults_group_host(tmp_path, report):
    (tmp_path / "site").mkdir()
    inv = load_inventory(write(tmp_path, {
        "inventory_version": 1,
        "defaults": {"targets": ["kvm"], "options": {"identity": "reset", "firewall": False}},
        "groups": {"web": {"targets": ["openstack", "ec2"], "options": {"firewall": True}, "queue": "debian-12"}},
        "hosts": [
            {"name": "web01", "ssh": "admin@web01.example.test:2222", "group": "web",
             "options": {"elements_path": ["site"]}},
            {"name": "db01", "report": "report.yaml", "options": {"identity": "keep"}},
        ]}))
    web, db = inv.hosts
    assert web.targets == ("openstack", "ec2") and web.queue == "debian-12"
    assert web.options == {"identity": "reset", "firewall": True, "elements_path": [str(tmp_path / "site")]}
    assert db.targets == ("kvm",) and db.queue == DEFAULT_QUEUE and db.report == str(report)
    o = to_options(web)
    assert o.firewall and o.identity == "reset"
    assert to_options(db).identity == "keep" and not to_options(db).firewall


@pytest.mark.parametrize("hosts, field, value", [
    ([{"name": "a", "ssh": "x", "report": "report.yaml", "targets": ["kvm"]}], "hosts[0]", "a"),
    ([{"name": "a", "targets": ["kvm"]}], "hosts[0]", "a"),
    ([{"name": "a", "ssh": "root@h; rm -rf /", "targets": ["kvm"]}], "hosts[0].ssh", "root@h; rm -rf /"),
    ([{"name": "a", "ssh": "h", "targets": ["gce"]}], "hosts[0].targets[0]", "gce"),
    ([{"name": "a", "ssh": "h"}], "hosts[0].targets", None),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "group": "nope"}], "hosts[0].group", "nope"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"]}, {"name": "a", "ssh": "g", "targets": ["kvm"]}],
     "hosts[1].name", "a"),
    ([{"name": "a", "report": "missing.yaml", "targets": ["kvm"]}], "hosts[0].report", "missing.yaml"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"firewal": True}}], "hosts[0].options",
     {"firewal": True}),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"identity": "drop"}}], "hosts[0].options.identity",
     "drop"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"install_profile": "none.yaml"}}],
     "hosts[0].options.install_profile", "none.yaml"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "ssh_options": ["-oProxyCommand=x"]}],
     "hosts[0].ssh_options[0]", "-oProxyCommand=x"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"network": "static"}}],
     "hosts[0].options.network", "static"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"quiesce": "postgresql"}}],
     "hosts[0].options.quiesce", "postgresql"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"quiesce": ["postgresql", "my sql"]}}],
     "hosts[0].options.quiesce[1]", "my sql"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"quiesce": []}}], "hosts[0].options.quiesce", []),
    ([{"name": "a", "report": "report.yaml", "targets": ["kvm"], "options": {"quiesce": "auto"}}],
     "hosts[0].options.quiesce", "auto"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"boot": "yes"}}], "hosts[0].options.boot", "yes"),
    ([{"name": "a", "ssh": "h", "targets": ["kvm"], "options": {"boot_timeout": 5}}],
     "hosts[0].options.boot_timeout", 5),
])
def test_bad_input_names_field_and_value(tmp_path, report, hosts, field, value):
    p = write(tmp_path, {"inventory_version": 1, "hosts": hosts})
    with pytest.raises(InputError) as e:
        load_inventory(p)
    assert e.value.file == str(p)
    assert e.value.field == field
    assert e.value.value == value


def test_not_a_mapping_and_version(tmp_path):
    p = tmp_path / "i.yaml"
    p.write_text("- a\n")
    with pytest.raises(InputError, match="YAML mapping"):
        load_inventory(p)
    p.write_text("inventory_version: 2\nhosts: [{name: a, ssh: h, targets: [kvm]}]\n")
    with pytest.raises(InputError) as e:
        load_inventory(p)
    assert e.value.field == "inventory_version"


def test_cli_exit_2_and_nothing_written(tmp_path):
    from dib_migrate.cli import main
    p = write(tmp_path, {"inventory_version": 1, "hosts": [{"name": "a", "ssh": "h", "targets": ["gce"]}]})
    assert main(["fleet", str(p), "-o", str(tmp_path / "out"), "--local"]) == 2
    assert not (tmp_path / "out").exists()


PROFILE = Path(__file__).resolve().parents[1] / "unit/fixtures/profiles/web01-readdress.yaml"


def _rules(plan):
    return {(c.rule, c.action, c.subject) for c in plan.changes}


def test_options_reach_the_plan(tmp_path, report):
    """firewall, identity, network and the install profile, set in the inventory, change the real Plan."""
    shutil.copy(PROFILE, tmp_path / "web.yaml")
    inv = load_inventory(write(tmp_path, {
        "inventory_version": 1, "defaults": {"targets": ["kvm"]},
        "groups": {"web": {"options": {"firewall": True, "install_profile": "web.yaml"}}},
        "hosts": [{"name": "plain", "report": "report.yaml"},
                  {"name": "web01", "report": "report.yaml", "group": "web"},
                  {"name": "web02", "report": "report.yaml", "options": {"identity": "reset", "network": "dhcp"}}]}))
    rep = load_report(report)
    plain, web01, web02 = (_rules(make_plan(rep, "kvm", to_options(h))) for h in inv.hosts)
    assert ("svc-firewall", "enable-service", "netfilter-persistent") in web01 - plain
    assert ("svc-firewall", "disable-service", "netfilter-persistent") in plain - web01
    assert ("pkg-whitebox", "firstboot", "dib-migrate-firstboot") in web01 - plain
    assert ("net-dhcp", "set-network", "eth0") in web02 - plain
    assert ("identity", "identity", "reset") in web02 - plain
    assert inv.hosts[1].options["install_profile"] == str(tmp_path / "web.yaml")


def test_scan_options_reach_the_scanner(tmp_path):
    inv = load_inventory(write(tmp_path, {
        "inventory_version": 1, "defaults": {"targets": ["kvm"], "options": {"quiesce": "auto"}},
        "hosts": [{"name": "db01", "ssh": "root@db01"},
                  {"name": "db02", "ssh": "root@db02", "options": {
                      "quiesce": ["postgresql", "mariadb"], "scan_exclude": ["/srv/cache/*"],
                      "exclude_secrets": True}}]}))
    db01, db02 = inv.hosts
    assert scan_arguments(db01) == ["--quiesce", "auto"]
    assert scan_arguments(db02) == ["--quiesce", "postgresql,mariadb", "--exclude", "/srv/cache/*",
                                    "--exclude-secrets"]


def test_boot_from_inventory_and_command_line(tmp_path, report):
    inv = load_inventory(write(tmp_path, {
        "inventory_version": 1, "defaults": {"targets": ["kvm"]},
        "hosts": [{"name": "a", "report": "report.yaml", "options": {"boot": True, "boot_timeout": 200}},
                  {"name": "b", "report": "report.yaml"}]}))
    assert inv.hosts[0].options["boot"] and "boot" not in inv.hosts[1].options
    both = with_boot(inv, True, 150)
    assert [(h.options["boot"], h.options["boot_timeout"]) for h in both.hosts] == [(True, 150), (True, 150)]
    with pytest.raises(InputError) as e:
        with_boot(inv, True, 10)
    assert (e.value.file, e.value.field, e.value.value) == ("--boot-timeout", "boot_timeout", 10)
