"""Options and the white-box install profile (--install-profile)."""
import pytest

from dib_migrate.errors import InputError
from dib_migrate.options import Options, load_profile

from .helpers import FIXTURES


def test_defaults():
    o = Options()
    assert (o.firewall, o.profile, o.strategy, o.pin_versions, o.identity) == (
        False, None, "packages", False, "keep")
    assert o.extra_elements == () and dict(o.environment) == {}


def test_readdress_profile():
    p = load_profile(FIXTURES / "profiles" / "web01-readdress.yaml")
    assert p.keyboard == "de" and p.timezone == "Europe/Berlin" and p.root_password_hash.startswith("$6$")
    eth0 = p.nic("eth0")
    assert (eth0.mode, eth0.addresses, eth0.gateway, eth0.dns) == ("static", ("10.1.2.10/24",), "10.1.2.1",
                                                                   ("10.1.2.53",))
    assert p.nic("eth1") is None
    assert [s.name for s in p.boot_scripts] == ["10-register"]
    assert p.boot_scripts[0].content.startswith("#!/bin/sh\n")


def test_dhcp_profile():
    p = load_profile(FIXTURES / "profiles" / "web01-dhcp.yaml")
    assert p.nic("eth0").mode == "dhcp" and p.nic("eth0").addresses == ()
    assert p.root_password_hash is None and p.boot_scripts == ()


def _profile(tmp_path, text):
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,field", [
    ("keyboard: de;reboot\n", "keyboard"),
    ("timezone: ../../etc/shadow\n", "timezone"),
    ("timezone: Europe/Berlin $(id)\n", "timezone"),
    ("root_password_hash: hunter2\n", "root_password_hash"),
    ("root_password_hash: \"$6$abc$def'; reboot\"\n", "root_password_hash"),
    ("hostname: other\n", "hostname"),
    ("nics: [{name: 'eth0;x', mode: dhcp}]\n", "nics[0].name"),
    ("nics: [{name: eth0, mode: bootp}]\n", "nics[0].mode"),
    ("nics: [{name: eth0, mode: static}]\n", "nics[0].addresses"),
    ("nics: [{name: eth0, addresses: [10.0.0.1]}]\n", "nics[0].addresses[0]"),
    ("nics: [{name: eth0, addresses: [10.0.0.1/24], gateway: 10.0.0.300}]\n", "nics[0].gateway"),
    ("nics: [{name: eth0, addresses: [10.0.0.1/24], dns: [nameserver]}]\n", "nics[0].dns[0]"),
    ("nics: [eth0]\n", "nics[0]"),
    ("boot_scripts: [{name: register, content: 'x'}]\n", "boot_scripts[0].name"),
    ("boot_scripts: [{name: ../10-x, content: 'x'}]\n", "boot_scripts[0].name"),
    ("boot_scripts: [{name: 10-x}]\n", "boot_scripts[0]"),
])
def test_bad_profile_field(tmp_path, text, field):
    with pytest.raises(InputError) as e:
        load_profile(_profile(tmp_path, text))
    assert e.value.field == field
    assert "profile.yaml" in str(e.value)


@pytest.mark.parametrize("text", ["- a\n", "", "just text\n"])
def test_profile_must_be_a_mapping(tmp_path, text):
    with pytest.raises(InputError) as e:
        load_profile(_profile(tmp_path, text))
    assert "mapping" in str(e.value)


def test_profile_yaml_error(tmp_path):
    with pytest.raises(InputError) as e:
        load_profile(_profile(tmp_path, "nics: [\n"))
    assert "not valid YAML" in str(e.value)
