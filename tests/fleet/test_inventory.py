"""The inventory: merging of defaults, groups and hosts, and bad input named by file, field and value."""
import pytest
import yaml

from dib_migrate.errors import InputError
from dib_migrate.fleet.inventory import DEFAULT_QUEUE, load_inventory, to_options

REPORT = "examples/debian12-web/report.yaml"


def write(tmp_path, data):
    p = tmp_path / "inventory.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.fixture
def report(tmp_path):
    import shutil
    from pathlib import Path
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
