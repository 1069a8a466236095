"""Network files in each manager's own format: no MAC bindings, names kept, addresses as planned."""
import configparser

import pytest
import yaml

from dib_migrate.network_files import _path, network_files
from dib_migrate.options import load_profile
from dib_migrate.plan.model import Change

from .helpers import FIXTURES, GOLDEN, check_golden, plan_of

MAC_WORDS = ("hwaddress", "HWADDR", "MACADDR", "mac-address", "macaddress", "MACAddress", "LLADDR")


def files_of(report, target="kvm", **options):
    return network_files(plan_of(report, target, **options))


def body(text):
    """The file without its comment lines (the header says which bindings were left out)."""
    return "".join(line for line in text.splitlines(True) if not line.lstrip().startswith("#"))


def assert_no_mac(files, report):
    for path, text in files.items():
        for word in MAC_WORDS:
            assert word.lower() not in body(text).lower(), (path, word)
        for i in report.interfaces:
            if i.mac:
                assert i.mac.lower() not in text.lower(), (path, i.mac)


@pytest.mark.parametrize("name", ["debian12-web", "centos6-xen-pv", "rocky9-vmware", "ubuntu2204-netplan",
                                  "sles15-wicked"])
def test_golden_network_files(example, name):
    files = files_of(example(name))
    text = "".join("=== %s\n%s" % (p, files[p]) for p in sorted(files))
    check_golden(GOLDEN / "network" / (name + ".txt"), text)
    assert_no_mac(files, example(name))


def test_ifupdown(example):
    r = example("debian12-web")
    files = files_of(r)
    assert sorted(files) == ["/etc/hosts", "/etc/network/interfaces", "/etc/resolv.conf",
                             "/etc/udev/rules.d/75-persistent-net-generator.rules"]
    assert files["/etc/udev/rules.d/75-persistent-net-generator.rules"] == ""
    text = files["/etc/network/interfaces"]
    assert "source /etc/network/interfaces.d/*" in text and "iface lo inet loopback" in text
    assert "auto eth0\niface eth0 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n" \
           "    dns-nameservers 192.0.2.53\n" in text
    assert "allow-hotplug eth1\niface eth1 inet dhcp\n" in text
    assert files["/etc/resolv.conf"].endswith("nameserver 192.0.2.53\n")
    assert files["/etc/hosts"] == r.hosts


def test_ifupdown_interfaces_d(derive):
    def m(d):
        d["network"]["interfaces"][1]["config_file"] = "/etc/network/interfaces.d/eth1"
    files = files_of(derive("debian12-web", m))
    assert "iface eth1 inet dhcp" in files["/etc/network/interfaces.d/eth1"]
    assert "eth1" not in files["/etc/network/interfaces"]
    assert "source /etc/network/interfaces.d/*" not in files["/etc/network/interfaces.d/eth1"]


def test_ifupdown_ipv6(derive):
    def m(d):
        d["network"]["interfaces"][0].update(addresses=["192.0.2.10/24", "2001:db8::10/64"])
    text = files_of(derive("debian12-web", m))["/etc/network/interfaces"]
    assert "iface eth0 inet6 static\n    address 2001:db8::10/64\n" in text


def test_network_scripts_without_hwaddr(example):
    files = files_of(example("centos6-xen-pv"))
    text = files["/etc/sysconfig/network-scripts/ifcfg-eth0"]
    lines = text.splitlines()
    for line in ("DEVICE=eth0", "ONBOOT=yes", "BOOTPROTO=none", "IPADDR=10.20.30.42", "PREFIX=24",
                 "GATEWAY=10.20.30.1", "DNS1=10.20.30.2", "DNS2=10.20.30.3"):
        assert line in lines
    assert not any(line.startswith(("HWADDR", "MACADDR")) for line in lines)


def test_network_scripts_dhcp_and_secondary(derive):
    def m(d):
        d["network"]["interfaces"][0]["addresses"] = ["10.20.30.42/24", "10.20.30.43/24"]
        d["network"]["interfaces"].append({"name": "eth1", "mode": "dhcp", "mac": "00:16:3e:5a:01:03"})
    files = files_of(derive("centos6-xen-pv", m))
    assert "IPADDR1=10.20.30.43\nPREFIX1=24\n" in files["/etc/sysconfig/network-scripts/ifcfg-eth0"]
    assert "BOOTPROTO=dhcp" in files["/etc/sysconfig/network-scripts/ifcfg-eth1"]
    assert "00:16:3e" not in files["/etc/sysconfig/network-scripts/ifcfg-eth1"]


def _keyfile(text):
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(text)
    return cp


def test_networkmanager_keyfile_without_mac(example):
    files = files_of(example("rocky9-vmware"))
    kf = _keyfile(files["/etc/NetworkManager/system-connections/ens192.nmconnection"])
    # the scanned file is rewritten in place; ens192 (a slot name) becomes eth0 (net-ifnames)
    assert dict(kf["connection"]) == {"id": "eth0", "type": "ethernet", "interface-name": "eth0",
                                      "autoconnect": "true"}
    assert "mac-address" not in kf["ethernet"]
    assert dict(kf["ipv4"]) == {"method": "manual", "address1": "10.0.5.20/24,10.0.5.1",
                                "dns": "10.0.5.2;"}
    assert dict(kf["ipv6"]) == {"method": "manual", "address1": "2001:db8:5::20/64",
                                "dns": "2001:db8:5::2;"}
    dhcp = _keyfile(files["/etc/NetworkManager/system-connections/ens224.nmconnection"])
    assert dhcp["ipv4"]["method"] == "auto" and dhcp["ipv6"]["method"] == "auto"


def test_networkmanager_v6_only(derive):
    def m(d):
        d["network"]["interfaces"][0].update(addresses=["2001:db8:5::20/64"], gateway="2001:db8:5::1",
                                             dns=["2001:db8:5::2"])
    files = files_of(derive("rocky9-vmware", m))
    kf = _keyfile(files["/etc/NetworkManager/system-connections/ens192.nmconnection"])
    assert kf["ipv4"]["method"] == "disabled"
    assert kf["ipv6"]["address1"] == "2001:db8:5::20/64,2001:db8:5::1"
    assert kf["ipv6"]["dns"] == "2001:db8:5::2;"


def test_netplan_valid_yaml_without_macaddress(example):
    files = files_of(example("ubuntu2204-netplan"))
    text = files["/etc/netplan/00-installer-config.yaml"]
    doc = yaml.safe_load(text)
    eths = doc["network"]["ethernets"]
    assert doc["network"]["version"] == 2 and sorted(eths) == ["eth0", "eth1"]
    assert eths["eth0"] == {"dhcp4": False, "addresses": ["198.51.100.7/24"],
                            "routes": [{"to": "default", "via": "198.51.100.1"}],
                            "nameservers": {"addresses": ["198.51.100.53", "2001:db8::53"]}}
    assert eths["eth1"] == {"dhcp4": True}
    for e in eths.values():
        assert "match" not in e and "macaddress" not in e and "set-name" not in e


def test_netplan_ipv6_gateway(derive):
    def m(d):
        d["network"]["interfaces"][0].update(addresses=["2001:db8::7/64"], gateway="2001:db8::1")
    doc = yaml.safe_load(files_of(derive("ubuntu2204-netplan", m))["/etc/netplan/00-installer-config.yaml"])
    assert doc["network"]["ethernets"]["eth0"]["routes"] == [{"to": "::/0", "via": "2001:db8::1"}]


def test_netplan_default_path(derive):
    def m(d):
        for i in d["network"]["interfaces"]:
            i["config_file"] = None
    files = files_of(derive("ubuntu2204-netplan", m))
    assert "/etc/netplan/50-dib-migrate.yaml" in files


def test_networkd(derive):
    def m(d):
        d["network"]["manager"] = "systemd-networkd"
        for i in d["network"]["interfaces"]:
            i["config_file"] = None
    r = derive("debian12-web", m)
    files = files_of(r)
    eth0 = files["/etc/systemd/network/10-eth0.network"]
    assert "[Match]\nName=eth0\n" in eth0 and "MACAddress" not in body(eth0)
    assert "Address=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n" in eth0
    assert "DHCP=yes" in files["/etc/systemd/network/10-eth1.network"]
    assert "/etc/resolv.conf" not in files
    assert_no_mac(files, r)


def test_wicked_with_route_file(example):
    files = files_of(example("sles15-wicked"))
    ifcfg = files["/etc/sysconfig/network/ifcfg-eth0"]
    assert "BOOTPROTO='static'" in ifcfg and "IPADDR='203.0.113.11/24'" in ifcfg
    assert "STARTMODE='auto'" in ifcfg and "LLADDR" not in body(ifcfg)
    # the gateway: wicked reads it from ifroute-<name>
    assert files["/etc/sysconfig/network/ifroute-eth0"].splitlines()[-1] == "default 203.0.113.1 - eth0"


def test_wicked_dhcp_has_no_route_file(derive):
    def m(d):
        d["network"]["interfaces"][0].update(mode="dhcp", addresses=[], gateway=None, dns=[])
    files = files_of(derive("sles15-wicked", m))
    assert "BOOTPROTO='dhcp'" in files["/etc/sysconfig/network/ifcfg-eth0"]
    assert "/etc/sysconfig/network/ifroute-eth0" not in files


@pytest.mark.parametrize("manager,scanned,expected", [
    ("network-scripts", "/etc/sysconfig/network-scripts/ifcfg-eth0",
     "/etc/sysconfig/network-scripts/ifcfg-eth0"),
    ("network-scripts", "/etc/sysconfig/network-scripts/ifcfg-System_eth0",
     "/etc/sysconfig/network-scripts/ifcfg-System_eth0"),
    ("network-scripts", "/etc/sysconfig/network-scripts/../../shadow",
     "/etc/sysconfig/network-scripts/ifcfg-eth0"),
    ("network-scripts", "/etc/rc.local", "/etc/sysconfig/network-scripts/ifcfg-eth0"),
    ("network-scripts", None, "/etc/sysconfig/network-scripts/ifcfg-eth0"),
    ("ifupdown", "/etc/network/interfaces.d/50-eth0", "/etc/network/interfaces.d/50-eth0"),
    ("ifupdown", "/etc/network/../passwd", "/etc/network/interfaces"),
    ("NetworkManager", "/etc/NetworkManager/system-connections/Wired 1.nmconnection",
     "/etc/NetworkManager/system-connections/Wired 1.nmconnection"),
    ("NetworkManager", "/etc/sysconfig/network-scripts/ifcfg-eth0",
     "/etc/NetworkManager/system-connections/eth0.nmconnection"),
])
def test_config_path(manager, scanned, expected):
    c = Change("set-network", "eth0", "net-static", "r",
               {"mode": "dhcp", "file": scanned, "manager": manager})
    assert _path(manager, c) == expected


def test_hosts_follows_profile(example):
    profile = load_profile(FIXTURES / "profiles" / "web01-readdress.yaml")
    files = files_of(example("debian12-web"), profile=profile)
    assert "10.1.2.10\tweb01.example.com web01" in files["/etc/hosts"]
    assert "address 10.1.2.10/24" in files["/etc/network/interfaces"]
    assert files["/etc/resolv.conf"].endswith("nameserver 10.1.2.53\n")
