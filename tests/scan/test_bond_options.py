"""Bond options in every manager's spelling, read into the one kernel-named form (scan/network/bond.py).

The fixture roots of tests/unit/test_network_devices.py carry the common active-backup options through
scan → Plan → render → scan; here: the spellings those leave out (numeric aliases, time units, lists,
802.3ad options, a member's stanza, values that are not values) on small real files.
"""
import pytest

from dib_migrate.scan import scanner as S
from dib_migrate.scan.network import bond

from tests.scan.test_units import fake_root

NM = "/etc/NetworkManager/system-connections/"
NETWORKD = "/etc/systemd/network/"
LACP = {"miimon": "100", "lacp_rate": "fast", "xmit_hash_policy": "layer3+4", "ad_select": "bandwidth",
        "min_links": "1", "updelay": "1500"}
# manager -> (package names, enabled services, files): bond0 in 802.3ad over eno1/eno2 with LACP's options
SOURCES = {
    "ifupdown": ({"ifupdown"}, [], {"/etc/network/interfaces": (
        "auto bond0\niface bond0 inet static\n    address 10.0.0.5/24\n    bond-slaves eno1 eno2\n"
        "    bond_mode 4\n    bond-miimon 100\n    bond-lacp-rate 1\n    bond-xmit-hash-policy layer3+4\n"
        "    bond-ad-select bandwidth\n    bond-min-links 1\n    bond-updelay 1500\n")}),
    "netplan": ({"netplan.io"}, [], {"/etc/netplan/50-bond.yaml": (
        "network:\n  version: 2\n  ethernets:\n    eno1: {}\n    eno2: {}\n  bonds:\n    bond0:\n"
        "      interfaces: [eno1, eno2]\n      addresses: [10.0.0.5/24]\n      parameters:\n        mode: 802.3ad\n"
        "        mii-monitor-interval: 100ms\n        lacp-rate: fast\n        transmit-hash-policy: layer3+4\n"
        "        ad-select: bandwidth\n        min-links: 1\n        up-delay: 1.5s\n")}),
    "NetworkManager": ({"network-manager"}, [{"name": "NetworkManager", "state": "enabled"}], {
        NM + "bond0.nmconnection": (
            "[connection]\nid=bond0\nuuid=1111\ntype=bond\ninterface-name=bond0\n[bond]\nmode=802.3ad\n"
            "miimon=100\nlacp_rate=1\nxmit_hash_policy=1\nad_select=1\nmin_links=1\nupdelay=1500\n"
            "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n"),
        NM + "eno1.nmconnection": "[connection]\nid=eno1\ntype=ethernet\ninterface-name=eno1\nmaster=1111\n"
                                  "slave-type=bond\n",
        NM + "eno2.nmconnection": "[connection]\nid=eno2\ntype=ethernet\ninterface-name=eno2\nmaster=bond0\n"
                                  "slave-type=bond\n"}),
    "systemd-networkd": (set(), [{"name": "systemd-networkd", "state": "enabled"}], {
        NETWORKD + "10-bond0.netdev": ("[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=802.3ad\n"
                                       "MIIMonitorSec=0.1\nLACPTransmitRate=fast\nTransmitHashPolicy=layer3+4\n"
                                       "AdSelect=bandwidth\nMinLinks=1\nUpDelaySec=1s 500ms\n"),
        NETWORKD + "10-bond0.network": "[Match]\nName=bond0\n\n[Network]\nAddress=10.0.0.5/24\n",
        NETWORKD + "20-eno1.network": "[Match]\nName=eno1\n\n[Network]\nBond=bond0\n",
        NETWORKD + "20-eno2.network": "[Match]\nName=eno2\n\n[Network]\nBond=bond0\n"}),
    "network-scripts": ({"initscripts"}, [], {
        "/etc/sysconfig/network-scripts/ifcfg-bond0": (
            'DEVICE=bond0\nTYPE=Bond\nBONDING_MASTER=yes\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\n'
            'BONDING_OPTS="mode=802.3ad miimon=100 lacp_rate=fast xmit_hash_policy=layer3+4 ad_select=1 '
            'min_links=1 updelay=1500"\n'),
        "/etc/sysconfig/network-scripts/ifcfg-eno1": "DEVICE=eno1\nMASTER=bond0\nSLAVE=yes\n",
        "/etc/sysconfig/network-scripts/ifcfg-eno2": "DEVICE=eno2\nMASTER=bond0\nSLAVE=yes\n"}),
    "wicked": ({"wicked"}, [{"name": "wicked", "state": "enabled"}], {
        "/etc/sysconfig/network/ifcfg-bond0": (
            "STARTMODE='auto'\nBOOTPROTO='static'\nIPADDR='10.0.0.5/24'\nBONDING_MASTER='yes'\n"
            "BONDING_MODULE_OPTS='mode=4 miimon=100 lacp_rate=1 xmit_hash_policy=layer3+4 ad_select=bandwidth "
            "min_links=1 updelay=1500'\nBONDING_SLAVE_0='eno1'\nBONDING_SLAVE_1='eno2'\n")}),
}


def detect(tmp_path, manager, files=None, warned=None):
    names, services, default = SOURCES[manager]
    progress = S.Progress(quiet=True)
    if warned is not None:
        progress.warn = warned.append
    root = fake_root(tmp_path, default if files is None else files)
    return {i["name"]: i for i in S.detect_network(S.Root(str(root)), names, services, progress)["interfaces"]}


@pytest.mark.parametrize("manager", sorted(SOURCES))
def test_every_spelling_reads_the_same(tmp_path, manager):
    warned = []
    got = detect(tmp_path, manager, warned=warned)["bond0"]
    assert (got["kind"], got["bond_mode"], sorted(got["members"])) == ("bond", "802.3ad", ["eno1", "eno2"])
    assert got["bond_options"] == LACP
    assert not warned, warned


def test_ifupdown_options_in_a_ports_stanza_are_the_bonds(tmp_path):
    """Debian's ifenslave applies bond-* lines of a port's stanza to its master; the master's own win."""
    text = ("auto bond0\niface bond0 inet static\n    address 10.0.0.5/24\n    bond-slaves none\n"
            "    bond-mode active-backup\n    bond-miimon 100\n"
            "auto eno1\niface eno1 inet manual\n    bond-master bond0\n    bond-primary eno1 eno2\n"
            "    bond-miimon 300\n    bond-mode balance-rr\n"
            "auto eno2\niface eno2 inet manual\n    bond-master bond0\n")
    got = detect(tmp_path, "ifupdown", {"/etc/network/interfaces": text})
    assert set(got) == {"bond0"}
    assert got["bond0"]["bond_mode"] == "active-backup"
    # ifenslave's first listed primary that is a port is the one
    assert got["bond0"]["bond_options"] == {"miimon": "100", "primary": "eno1"}


def test_networkd_primary_is_the_ports(tmp_path):
    files = dict(SOURCES["systemd-networkd"][2])
    files[NETWORKD + "20-eno2.network"] = "[Match]\nName=eno2\n\n[Network]\nBond=bond0\nPrimarySlave=yes\n"
    got = detect(tmp_path, "systemd-networkd", files)
    assert got["bond0"]["bond_options"]["primary"] == "eno2"


def test_arp_monitor_targets_are_one_list(tmp_path):
    text = ("auto bond0\niface bond0 inet static\n    address 10.0.0.5/24\n    bond-slaves eno1 eno2\n"
            "    bond-mode active-backup\n    bond-arp-interval 250\n    bond-arp-ip-target 10.0.0.1 10.0.0.2\n"
            "    bond-arp-validate 3\n")
    got = detect(tmp_path, "ifupdown", {"/etc/network/interfaces": text})["bond0"]
    assert got["bond_options"] == {"arp_interval": "250", "arp_ip_target": "10.0.0.1,10.0.0.2", "arp_validate": "all"}
    ifcfg = dict(SOURCES["network-scripts"][2])
    ifcfg["/etc/sysconfig/network-scripts/ifcfg-bond0"] = (
        'DEVICE=bond0\nTYPE=Bond\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\n'
        'BONDING_OPTS="mode=1 arp_interval=250 arp_ip_target=+10.0.0.1,+10.0.0.2 arp_validate=all"\n')
    got = detect(tmp_path / "ifcfg", "network-scripts", ifcfg)["bond0"]
    assert got["bond_options"] == {"arp_interval": "250", "arp_ip_target": "10.0.0.1,10.0.0.2", "arp_validate": "all"}
    assert got["bond_mode"] == "active-backup"


@pytest.mark.parametrize("manager,files,named", [
    ("network-scripts", {"/etc/sysconfig/network-scripts/ifcfg-bond0":
                         'DEVICE=bond0\nTYPE=Bond\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\n'
                         'BONDING_OPTS="mode=1 miimon=often lacp_rate=9 primary=$(reboot) miimon=100"\n'},
     ["lacp_rate=9", "primary=$(reboot)"]),
    ("netplan", {"/etc/netplan/50-bond.yaml":
                 "network:\n  version: 2\n  bonds:\n    bond0:\n      interfaces: [eno1]\n"
                 "      addresses: [10.0.0.5/24]\n      parameters:\n        mode: active-backup\n"
                 "        mii-monitor-interval: 100\n        frobnicate: 3\n"}, ["frobnicate"]),
    ("systemd-networkd", {NETWORKD + "10-bond0.netdev": "[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\n"
                                                        "Mode=active-backup\nMIIMonitorSec=100ms\nFrobnicate=3\n",
                          NETWORKD + "10-bond0.network": "[Match]\nName=bond0\n\n[Network]\nAddress=10.0.0.5/24\n"},
     ["Frobnicate=3"]),
])
def test_an_option_not_understood_is_warned_not_dropped_silently(tmp_path, manager, files, named):
    warned = []
    got = detect(tmp_path, manager, files, warned)["bond0"]
    assert got["bond_options"]["miimon"] == "100"
    assert len(warned) == 1 and "bond0" in warned[0], warned
    for word in named:
        assert word in warned[0], warned
    assert all(bond.VALUE.match(v) for v in got["bond_options"].values())


@pytest.mark.parametrize("name,raw,unit,want", [
    ("miimon", "100", "ms", "100"), ("miimon", "1s", "ms", "1000"), ("miimon", "0.1", "s", "100"),
    ("miimon", "100", "s", "100000"), ("updelay", "250msec", "s", "250"), ("lp_interval", "2", "s", "2"),
    ("lacp_rate", "1", "ms", "fast"), ("lacp_rate", "SLOW", "ms", "slow"), ("lacp_rate", "7", "ms", None),
    ("xmit_hash_policy", "2", "ms", "layer2+3"), ("all_slaves_active", "true", "ms", "1"),
    ("all_slaves_active", "maybe", "ms", None), ("arp_ip_target", "+10.0.0.1 +10.0.0.2", "ms", "10.0.0.1,10.0.0.2"),
    ("ad_actor_system", "52:54:00:AA:BB:CC", "ms", "52:54:00:aa:bb:cc"), ("primary", "eth0;x", "ms", None),
    ("min_links", "two", "ms", None), ("some_new_option", "x1", "ms", "x1"),
])
def test_values_in_the_kernels_form(name, raw, unit, want):
    assert bond.value(name, raw, unit) == want


def test_modes_by_number_and_name():
    assert [bond.mode(n) for n in ("0", "1", "4", "6", "802.3ad", "Active-Backup")] == [
        "balance-rr", "active-backup", "802.3ad", "balance-alb", "802.3ad", "active-backup"]


def test_a_ports_own_settings_are_warned(tmp_path):
    """ifenslave's bond-queue-id and NetworkManager's [bond-port] belong to one port, not to the bond."""
    warned = []
    text = ("auto bond0\niface bond0 inet static\n    address 10.0.0.5/24\n    bond-slaves eno1 eno2\n"
            "    bond-mode active-backup\n    bond-miimon 100\n"
            "iface eno1 inet manual\n    bond-master bond0\n    bond-queue-id 2\n")
    got = detect(tmp_path, "ifupdown", {"/etc/network/interfaces": text}, warned)
    assert got["bond0"]["bond_options"] == {"miimon": "100"}
    assert len(warned) == 1 and "bond-queue-id 2 (in eno1's stanza)" in warned[0], warned
    files = dict(SOURCES["NetworkManager"][2])
    files[NM + "eno1.nmconnection"] += "[bond-port]\nqueue-id=3\n"
    warned = []
    got = detect(tmp_path / "nm", "NetworkManager", files, warned)
    assert got["bond0"]["bond_options"] == LACP
    assert len(warned) == 1 and "queue-id=3 (eno1's [bond-port])" in warned[0], warned
