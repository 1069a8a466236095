"""net-static, net-dhcp, net-hosts, net-mac, net-ifnames (+ the install profile's NIC changes)."""
import pytest

from dib_migrate.errors import InputError
from dib_migrate.options import load_profile

from ..helpers import FIXTURES, plan_of


def readdress():
    return load_profile(FIXTURES / "profiles" / "web01-readdress.yaml")


def test_static_kept(example):
    plan = plan_of(example("debian12-web"))
    c = plan.find("set-network", "eth0")
    assert c.rule == "net-static"
    assert c.data == {"mode": "static", "addresses": ["192.0.2.10/24"], "gateway": "192.0.2.1",
                      "dns": ["192.0.2.53"], "manager": "ifupdown", "file": "/etc/network/interfaces"}
    assert "192.0.2.10/24" in c.reason and "gateway 192.0.2.1" in c.reason


def test_dhcp_kept_without_lease(example):
    c = plan_of(example("debian12-web")).find("set-network", "eth1")
    assert c.rule == "net-dhcp" and c.data["mode"] == "dhcp" and c.data["addresses"] == []
    assert "nothing of the old lease" in c.reason


def test_hosts_kept_as_scanned(example):
    r = example("debian12-web")
    c = plan_of(r).find("write-hosts", "/etc/hosts")
    assert c.rule == "net-hosts" and c.data["content"] == r.hosts and "kept as scanned" in c.reason


def test_hosts_default_when_not_scanned(derive):
    r = derive("debian12-web", lambda d: d["network"].update(hosts=None))
    assert plan_of(r).find("write-hosts", "/etc/hosts").data["content"] == "127.0.0.1\tlocalhost\n"


def test_profile_changes_static_address(example):
    plan = plan_of(example("debian12-web"), profile=readdress())
    c = plan.find("set-network", "eth0")
    assert c.rule == "net-static"
    assert (c.data["addresses"], c.data["gateway"], c.data["dns"]) == (
        ["10.1.2.10/24"], "10.1.2.1", ["10.1.2.53"])
    assert "192.0.2.10/24" in c.reason and "10.1.2.10/24" in c.reason and "web01-readdress.yaml" in c.reason
    # eth1 is not in the profile: unchanged
    assert plan.find("set-network", "eth1").data["mode"] == "dhcp"
    # /etc/hosts rewritten for the new address, only on the line that held the old one
    hosts = plan.find("write-hosts", "/etc/hosts")
    assert "192.0.2.10 → 10.1.2.10" in hosts.reason
    assert hosts.data["content"] == "127.0.0.1\tlocalhost\n10.1.2.10\tweb01.example.com web01\n" \
                                    "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
    # pkg-whitebox: the first-boot configuration
    fb = plan.find("firstboot", "dib-migrate-firstboot")
    assert fb.rule == "pkg-whitebox"
    assert fb.data["nics"] == ["eth0"] and fb.data["keyboard"] == "de"
    assert fb.data["timezone"] == "Europe/Berlin"
    assert fb.data["boot_scripts"][0]["name"] == "10-register"
    for what in ("root password", "keyboard", "timezone", "NIC settings", "boot scripts"):
        assert what in fb.reason


def test_hosts_rewrite_matches_whole_address(derive):
    def m(d):
        d["network"]["hosts"] = "192.0.2.100\tother\n192.0.2.10\tweb01\n# 192.0.2.10 old\n"
    plan = plan_of(derive("debian12-web", m), profile=readdress())
    assert plan.find("write-hosts", "/etc/hosts").data["content"] == \
        "192.0.2.100\tother\n10.1.2.10\tweb01\n# 192.0.2.10 old\n"


def test_profile_static_to_dhcp(example):
    plan = plan_of(example("debian12-web"), profile=load_profile(FIXTURES / "profiles" / "web01-dhcp.yaml"))
    c = plan.find("set-network", "eth0")
    assert c.rule == "net-dhcp" and c.data["mode"] == "dhcp" and c.data["addresses"] == []
    assert "DHCP" in c.reason and "192.0.2.10/24" in c.reason
    fb = plan.find("firstboot", "dib-migrate-firstboot")
    assert fb.data["nics"] == ["eth0"] and "NIC settings" in fb.reason


def test_profile_nic_unknown_to_the_report(example, tmp_path):
    p = tmp_path / "profile.yaml"
    p.write_text("nics:\n- {name: eth7, addresses: [10.0.0.5/24]}\n")
    with pytest.raises(InputError) as e:
        plan_of(example("debian12-web"), profile=load_profile(p))
    assert e.value.field == "nics[0].name" and e.value.value == "eth7"


def test_no_profile_no_firstboot(example):
    assert not plan_of(example("debian12-web")).by_rule("pkg-whitebox")


def test_mac_bindings_removed(example):
    for name in ("debian12-web", "centos6-xen-pv", "rocky9-vmware"):
        c = plan_of(example(name)).find("remove-file", "/etc/udev/rules.d/70-persistent-net.rules")
        assert c.rule == "net-mac"
        for i in example(name).interfaces:
            assert "%s=%s" % (i.name, i.mac) in c.reason


def test_mac_bindings_rule_without_scanned_macs(derive):
    def m(d):
        for i in d["network"]["interfaces"]:
            i["mac"] = None
    c = plan_of(derive("debian12-web", m)).by_rule("net-mac")[0]
    assert "none scanned" in c.reason


def test_rendered_configs_carry_no_mac(example):
    # net-mac for the managers' own files: every set-network is rendered without the MAC (see
    # test_network_files); the Plan data carries no MAC to render
    for name in ("debian12-web", "centos6-xen-pv", "rocky9-vmware", "ubuntu2204-netplan", "sles15-wicked"):
        for c in plan_of(example(name)).by_action("set-network"):
            assert "mac" not in c.data


@pytest.mark.parametrize("names,expected", [
    (["eth0", "eth1"], True),
    (["eth0"], True),
    (["eth0", "ens3"], True),
    (["enp0s3"], True),
    (["eth0.100"], False),
    (["bond0"], False),
])
def test_ifnames_for_legacy_names(derive, names, expected):
    def m(d):
        ifs = d["network"]["interfaces"]
        d["network"]["interfaces"] = [dict(ifs[1], name=n) for n in names]
    plan = plan_of(derive("debian12-web", m))
    c = plan.by_rule("net-ifnames")
    assert bool(c) == expected
    if expected:
        assert c[0].action == "kernel-args" and c[0].data["args"] == ["net.ifnames=0", "biosdevname=0"]
        assert "net.ifnames=0" in plan.build.environment["DIB_BOOTLOADER_DEFAULT_CMDLINE"]


def test_predictable_names_become_eth(derive):
    def m(d):
        ifs = d["network"]["interfaces"]
        d["network"]["interfaces"] = [dict(ifs[0], name="eth1"), dict(ifs[1], name="ens192"),
                                      dict(ifs[1], name="bond0")]
    plan = plan_of(derive("debian12-web", m))
    assert [c.subject for c in plan.by_action("set-network")] == ["eth1", "eth0", "bond0"]
    renamed = plan.find("set-network", "eth0")
    assert renamed.data["source_name"] == "ens192" and "was ens192" in renamed.reason
    assert plan.by_rule("net-ifnames")[0].data["renamed"] == {"ens192": "eth0"}


def test_no_ifnames_without_interfaces(derive):
    r = derive("debian12-web", lambda d: d["network"].update(interfaces=[]))
    plan = plan_of(r)
    assert not plan.by_rule("net-ifnames") and not plan.by_action("set-network")


def test_manager_recorded_per_interface(example):
    for name, manager in (("rocky9-vmware", "NetworkManager"), ("ubuntu2204-netplan", "netplan"),
                          ("sles15-wicked", "wicked"), ("centos6-xen-pv", "network-scripts")):
        assert {c.data["manager"] for c in plan_of(example(name)).by_action("set-network")} == {manager}


def test_profile_to_dhcp_moves_the_hosts_line_off_the_old_address(example):
    plan = plan_of(example("debian12-web"), profile=load_profile(FIXTURES / "profiles" / "web01-dhcp.yaml"))
    hosts = plan.find("write-hosts", "/etc/hosts").data["content"]
    assert "192.0.2.10" not in hosts and "127.0.1.1\tweb01.example.com web01" in hosts


@pytest.mark.parametrize("target", ["openstack", "ec2"])
def test_network_dhcp_option_switches_every_interface(example, target):
    plan = plan_of(example("debian12-web"), target, network="dhcp")
    nets = plan.by_action("set-network")
    assert nets and all(c.data["mode"] == "dhcp" and c.rule == "net-dhcp" for c in nets)
    assert "--network dhcp" in plan.find("set-network", "eth0").reason
    assert "192.0.2.10" not in plan.find("write-hosts", "/etc/hosts").data["content"]
    assert not [w for w in plan.warnings if w.rule == "preflight-static"]


@pytest.mark.parametrize("target,warned", [("ec2", True), ("azure", True), ("openstack", False)])
def test_static_address_kept_on_ec2_azure_is_warned(example, target, warned):
    plan = plan_of(example("debian12-web"), target)
    w = [w for w in plan.warnings if w.rule == "preflight-static"]
    assert bool(w) == warned
    if warned:
        assert "192.0.2.10/24" in w[0].message and "--network dhcp" in w[0].message


def test_device_facts_travel_in_the_set_network_change(derive):
    def m(d):
        eth0 = d["network"]["interfaces"][0]
        eth0.update(name="bond0", kind="bond", members=["eno1", "eno2"], bond_mode="active-backup", mtu=9000,
                    routes=[{"to": "10.9.0.0/16", "via": "192.0.2.254"}], dns_search=["example.lan"])
    plan = plan_of(derive("debian12-web", m), "openstack")
    assert not [w for w in plan.warnings if w.rule == "preflight-network"]
    c = plan.find("set-network", "bond0")
    # the members' slot names change on the new hardware: they follow the interfaces' renaming
    assert {k: c.data[k] for k in ("kind", "members", "bond_mode", "mtu", "routes", "dns_search")} == {
        "kind": "bond", "members": ["eth0", "eth2"], "bond_mode": "active-backup", "mtu": 9000,
        "routes": [{"to": "10.9.0.0/16", "via": "192.0.2.254"}], "dns_search": ["example.lan"]}
    for text in ("bond (active-backup) over eth0, eth2", "eth0 was eno1", "route 10.9.0.0/16 via 192.0.2.254",
                 "MTU 9000", "DNS search example.lan"):
        assert text in c.reason, text
    assert plan.by_rule("net-ifnames")[0].data["renamed"] == {"eno1": "eth0", "eno2": "eth2"}


def test_vlan_named_after_a_renamed_parent_follows_it(derive):
    def m(d):
        d["network"]["interfaces"] = [dict(d["network"]["interfaces"][0], name="ens3.100", kind="vlan",
                                           parent="ens3", vlan_id=100)]
    c = plan_of(derive("debian12-web", m)).by_action("set-network")[0]
    assert (c.subject, c.data["parent"], c.data["vlan_id"], c.data["source_name"]) == ("eth0.100", "eth0", 100,
                                                                                       "ens3.100")


def test_a_bond_without_address_is_kept_manual_even_with_network_dhcp(derive):
    def m(d):
        ifs = d["network"]["interfaces"]
        d["network"]["interfaces"] = [
            {"name": "bond0", "mode": "manual", "kind": "bond", "members": ["eth0", "eth1"]},
            dict(ifs[0], name="bond0.100", kind="vlan", parent="bond0", vlan_id=100)]
    plan = plan_of(derive("debian12-web", m), network="dhcp")
    assert plan.find("set-network", "bond0").data["mode"] == "manual"
    assert plan.find("set-network", "bond0.100").data["mode"] == "dhcp"


def test_plain_interfaces_no_device_warning(example):
    assert not [w for w in plan_of(example("debian12-web")).warnings if w.rule == "preflight-network"]


def test_a_member_scanned_with_an_address_is_enslaved_without_it(derive):
    """An old report lists eth1 with its own DHCP and as a member of bond0: the image enslaves it, the Plan says
    what it drops."""
    def m(d):
        ifs = d["network"]["interfaces"]
        d["network"]["interfaces"] = [dict(ifs[0], name="bond0", kind="bond", members=["eth1"]), ifs[1]]
    plan = plan_of(derive("debian12-web", m))
    c = plan.find("set-network", "eth1")
    assert (c.data["mode"], c.data["addresses"]) == ("manual", [])
    assert "enslaved to bond0" in c.reason and "DHCP" in c.reason
    from dib_migrate.network_files import network_files
    text = network_files(plan)["/etc/network/interfaces"]
    assert "iface eth1" not in text and "bond-slaves eth1" in text
