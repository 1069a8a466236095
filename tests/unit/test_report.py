"""load_report: schema v1, the checks a schema cannot express, immutability, errors naming the field."""
import dataclasses
import hashlib

import pytest

from dib_migrate.errors import InputError
from dib_migrate.report import load_report

from .helpers import EXAMPLE_NAMES, FIXTURE_NAMES, FIXTURES, source_data, source_path


@pytest.mark.parametrize("name", EXAMPLE_NAMES + FIXTURE_NAMES)
def test_shipped_and_fixture_reports_load(example, name):
    r = example(name)
    assert r.path == source_path(name).resolve()
    assert r.hostname and r.family in ("debian", "redhat", "suse")


def test_debian_example_fields(example):
    r = example("debian12-web")
    assert (r.hostname, r.fqdn, r.family, r.distro, r.version, r.codename, r.arch) == (
        "web01", "web01.example.com", "debian", "debian", "12", "bookworm", "x86_64")
    assert (r.virtualization, r.firmware, r.init_system, r.bootloader) == (
        "xen-pv", "bios", "systemd", "none")
    assert r.kernel_packages == ()
    assert r.network_manager == "ifupdown"
    eth0, eth1 = r.interfaces
    assert eth0.addresses == ("192.0.2.10/24",) and eth0.gateway == "192.0.2.1"
    assert eth0.dns == ("192.0.2.53",)
    assert eth1.mode == "dhcp" and eth1.addresses == ()
    assert [e.index for e in r.fstab] == [1, 2, 3, 4]
    assert r.fstab[2].line() == "nas.example.com:/export/www /srv/shared nfs rw,hard,intr 0 0"
    assert r.firewall_active and r.firewall_tool == "iptables"
    assert r.selinux == "absent"          # optional field, absent in the example
    assert r.has_package("nginx") and not r.has_package("apache2")
    assert r.service_state("libvirtd") == "enabled" and r.service_state("nope") is None
    assert r.overlay.path == (source_path("debian12-web").parent / "overlay.tar.gz").resolve()
    assert (r.overlay.mode, r.overlay.compression, r.overlay.files) == ("changed", "gzip", 22)


def test_report_is_immutable(example):
    r = example("centos6-xen-pv")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.hostname = "other"
    assert isinstance(r.packages, tuple) and isinstance(r.services, tuple) and isinstance(r.fstab, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.interfaces[0].mode = "dhcp"


def test_optional_fields_default(derive):
    def strip(d):
        del d["platform"]["firmware"]
        d.pop("selinux", None)
        d["clock"] = {}
        d["network"].pop("hosts")
    r = derive("debian12-web", strip)
    assert r.firmware == "bios" and r.selinux == "absent" and r.adjtime is None and r.hosts is None
    assert r.overlay is None


def _set(path, value):
    def mutate(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


@pytest.mark.parametrize("path,value,field", [
    (("services", 12, "name"), "nginx;reboot", "services[12].name"),
    (("services", 0, "name"), "$(reboot)", "services[0].name"),
    (("services", 0, "state"), "running", "services[0].state"),
    (("packages", 3, "name"), "bash`id`", "packages[3].name"),
    (("packages", 3, "version"), "1.0 && reboot", "packages[3].version"),
    (("host", "hostname"), "web01;rm -rf /", "host.hostname"),
    (("host", "hostname"), "-web01", "host.hostname"),
    (("host", "fqdn"), "web01..example.com", "host.fqdn"),
    (("network", "interfaces", 0, "name"), "eth0 up", "network.interfaces[0].name"),
    (("network", "interfaces", 0, "name"), "averyveryverylongname0", "network.interfaces[0].name"),
    (("network", "interfaces", 0, "mac"), "52:54:00:12:34", "network.interfaces[0].mac"),
    (("network", "interfaces", 0, "config_file"), "/etc/net$(x)", "network.interfaces[0].config_file"),
    (("network", "manager"), "connman", "network.manager"),
    (("network", "config_files"), ["/etc/netplan/../shadow"], "network.config_files[0]"),
    (("network", "config_files"), ["/etc/net\nplan"], "network.config_files[0]"),
    (("network", "interfaces", 0, "mode"), "manual", "network.interfaces[0].mode"),
    (("users", 25, "name"), "deploy\nroot", "users[25].name"),
    (("users", 25, "uid"), -1, "users[25].uid"),
    (("groups", 0, "name"), "root group", "groups[0].name"),
    (("fstab", 0, "spec"), "/dev/xvda1 / ext4", "fstab[0].spec"),
    (("fstab", 0, "fstype"), "EXT4;", "fstab[0].fstype"),
    (("kernel", "packages"), ["linux-image amd64"], "kernel.packages[0]"),
    (("os", "family"), "arch", "os.family"),
    (("os", "distro"), "Debian GNU/Linux", "os.distro"),
    (("os", "version"), "12 (bookworm)", "os.version"),
    (("os", "arch"), "sparc", "os.arch"),
    (("platform", "virtualization"), "lxc", "platform.virtualization"),
    (("init_system",), "runit", "init_system"),
    (("bootloader",), "lilo", "bootloader"),
    (("firewall", "tool"), "pf", "firewall.tool"),
    (("firewall", "active"), "yes", "firewall.active"),
    (("selinux",), "on", "selinux"),
])
def test_bad_field_is_named(derive, path, value, field):
    with pytest.raises(InputError) as e:
        derive("debian12-web", _set(path, value))
    assert e.value.field == field
    assert e.value.value == (value[0] if isinstance(value, list) else value)
    assert e.value.file.endswith("report.yaml")
    assert field in str(e.value) and e.value.file in str(e.value)


@pytest.mark.parametrize("field,value,where", [
    ("addresses", ["192.0.2.300/24"], "network.interfaces[0].addresses[0]"),
    ("addresses", ["192.0.2.10/40"], "network.interfaces[0].addresses[0]"),
    ("gateway", "192.0.2.256", "network.interfaces[0].gateway"),
    ("dns", ["1.2.3"], "network.interfaces[0].dns"),
    ("addresses", [], "network.interfaces[0].addresses"),      # static without an address
])
def test_semantic_network_checks(derive, field, value, where):
    with pytest.raises(InputError) as e:
        derive("debian12-web", _set(("network", "interfaces", 0, field), value))
    assert e.value.field == where


def test_duplicate_interface_names_refused(derive):
    def m(d):
        second = dict(d["network"]["interfaces"][0], addresses=["192.0.2.99/24"])
        d["network"]["interfaces"].append(second)
    with pytest.raises(InputError) as e:
        derive("debian12-web", m)
    n = len(source_data("debian12-web")["network"]["interfaces"])
    assert e.value.field == "network.interfaces[%d].name" % n and "duplicate" in str(e.value)


def test_duplicate_interface_name_exits_2(derive, capsys):
    from dib_migrate.cli import main

    def m(d):
        d["network"]["interfaces"].append(dict(d["network"]["interfaces"][0]))
    report = derive("debian12-web", m, load=False)
    assert main(["plan", str(report), "--target", "kvm"]) == 2
    assert "network.interfaces[" in capsys.readouterr().err


def test_missing_required_section(derive):
    with pytest.raises(InputError) as e:
        derive("debian12-web", lambda d: d.pop("firewall"))
    assert "firewall" in str(e.value)


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_unknown_schema_version(derive, version):
    with pytest.raises(InputError) as e:
        derive("debian12-web", _set(("schema_version",), version))
    assert e.value.field == "schema_version" and e.value.value == version


def test_fixture_schema_v2():
    with pytest.raises(InputError) as e:
        load_report(FIXTURES / "bad" / "schema-v2.yaml")
    assert e.value.field == "schema_version" and "unknown schema version" in str(e.value)


def test_malformed_yaml():
    with pytest.raises(InputError) as e:
        load_report(FIXTURES / "bad" / "malformed.yaml")
    assert "not valid YAML" in str(e.value) and "malformed.yaml" in str(e.value)
    assert "line 4" in str(e.value)


@pytest.mark.parametrize("text", ["- a list\n- of things\n", "just a string\n", ""])
def test_report_must_be_a_mapping(tmp_path, text):
    p = tmp_path / "report.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as e:
        load_report(p)
    assert "mapping" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as e:
        load_report(tmp_path / "nope.yaml")
    assert "cannot read" in str(e.value)


def test_windows_fixture_refused():
    with pytest.raises(InputError) as e:
        load_report(FIXTURES / "bad" / "windows.yaml")
    assert e.value.field == "os.family" and "Linux images" in str(e.value)


def test_windows_distro_refused_even_with_linux_family(derive):
    def win(d):
        d["os"]["distro"] = "Windows"
    with pytest.raises(InputError) as e:
        derive("debian12-web", win)
    assert e.value.field == "os.distro" and "Linux images" in str(e.value)


def test_overlay_sha256_mismatch(derive):
    def bad_sha(d):
        d["overlay"]["sha256"] = "0" * 64
    with pytest.raises(InputError) as e:
        derive("debian12-web", bad_sha, overlay=True)
    assert e.value.field == "overlay.sha256" and e.value.value == "0" * 64
    assert hashlib.sha256((source_path("debian12-web").parent / "overlay.tar.gz").read_bytes()).hexdigest() \
        in str(e.value)


def test_overlay_archive_missing(derive):
    def no_archive(d):
        d["overlay"] = {"archive": "gone.tar.gz", "sha256": "0" * 64, "mode": "changed"}
    with pytest.raises(InputError) as e:
        derive("debian12-web", no_archive)
    assert e.value.field == "overlay.archive" and "not found" in str(e.value)


@pytest.mark.parametrize("name", ["../overlay.tar.gz", "/etc/shadow", "sub/overlay.tar.gz"])
def test_overlay_archive_name_is_a_plain_file_name(derive, name):
    def m(d):
        d["overlay"] = {"archive": name, "sha256": "0" * 64, "mode": "changed"}
    with pytest.raises(InputError) as e:
        derive("debian12-web", m)
    assert e.value.field == "overlay.archive"
