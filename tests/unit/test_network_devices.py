"""Bonds, VLANs, bridges, static routes, MTU, DNS search and second files, for every manager.

Each manager has a source root under tests/unit/fixtures/network/<manager>/ (real files of that
manager: bond0 over eno1+eno2 in active-backup with a route, MTU 9000, a search domain and IPv6, a
VLAN 100 on the bond, a bridge br0, and a file that binds a MAC). The table runs each through
scan → report → Plan → rendered files, then scans the rendered files with the same scanner and
checks it reads back what the Plan's set-network Changes say (what `compare` relies on).
"""

import pytest

from dib_migrate.network_files import network_files
from dib_migrate.scan import scanner as S

from .helpers import FIXTURES, dump_yaml, plan_of, source_data

ROOTS = FIXTURES / "network"
MANAGERS = {   # manager -> (package names, enabled services) the detection needs
    "ifupdown": ({"ifupdown"}, []),
    "netplan": ({"netplan.io"}, []),
    "NetworkManager": ({"network-manager"}, [{"name": "NetworkManager", "state": "enabled"}]),
    "systemd-networkd": (set(), [{"name": "systemd-networkd", "state": "enabled"}]),
    "network-scripts": ({"initscripts"}, []),
    "wicked": ({"wicked"}, [{"name": "wicked", "state": "enabled"}]),
}
MAC_WORDS = ("hwaddress", "hwaddr", "macaddr", "mac-address", "macaddress", "lladdr")
FACTS = ("mode", "addresses", "gateway", "dns", "kind", "members", "bond_mode", "bond_options", "parent", "vlan_id",
         "mtu", "routes", "dns_search")
# bond0's options in every fixture, each in its manager's spelling (numeric aliases, time units, the primary
# named in a port's stanza or .network): the scan reads the same kernel-named form from all six
BOND_OPTIONS = {"miimon": "200", "updelay": "400", "downdelay": "200", "primary": "eno1", "primary_reselect": "better",
                "fail_over_mac": "active", "num_grat_arp": "3"}


def scan(root, manager):
    names, services = MANAGERS[manager]
    return S.detect_network(S.Root(str(root)), names, services, S.Progress(quiet=True))


def report_of(tmp_path, net):
    data = source_data("debian12-web")
    data["overlay"] = None
    data["network"] = net
    path = tmp_path / "report.yaml"
    path.write_text(dump_yaml(data))
    from dib_migrate.report import load_report
    return load_report(str(path))


def facts_of(iface):
    """An interface's facts as a scan reports them and a set-network Change carries them."""
    out = {}
    for k in FACTS:
        v = iface.get(k)
        if v not in (None, [], ""):
            out[k] = [dict(r) for r in v] if k == "routes" else v
    return out


class Case:
    def __init__(self, tmp_path, manager):
        self.manager = manager
        self.net = scan(ROOTS / manager, manager)
        self.plan = plan_of(report_of(tmp_path, self.net), "kvm")
        self.files = network_files(self.plan)
        self.nets = {c.subject: c for c in self.plan.by_action("set-network")}
        image = tmp_path / "image"
        # what the overlay brings back unchanged: resolv.conf (unless rendered), wicked's netconfig
        for path in ("/etc/resolv.conf", "/etc/sysconfig/network/config"):
            if (ROOTS / manager / path.lstrip("/")).is_file():
                (image / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                (image / path.lstrip("/")).write_text((ROOTS / manager / path.lstrip("/")).read_text())
        for path, text in self.files.items():
            p = image / path.lstrip("/")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        self.image = scan(image, manager)
        self.back = {i["name"]: i for i in self.image["interfaces"]}

    def text(self, name):
        """The rendered files that name ``name``."""
        return "\n".join(t for p, t in sorted(self.files.items()) if name in t or name in p)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    made = {}

    def get(manager):
        if manager not in made:
            made[manager] = Case(tmp_path_factory.mktemp(manager.replace("-", "")), manager)
        return made[manager]
    return get


def check_bond(case):
    bond = case.nets["bond0"].data
    # eno1/eno2 are slot names the new hardware changes: the Plan names them eth0/eth1
    assert (bond["kind"], bond["members"], bond["bond_mode"]) == ("bond", ["eth0", "eth1"], "active-backup")
    back = case.back["bond0"]
    assert (back["kind"], back["members"], back.get("bond_mode")) == ("bond", ["eth0", "eth1"], "active-backup")
    for member in ("eth0", "eth1"):
        assert member not in case.back, "member %s rendered with an address of its own" % member
    assert "10.0.0.5/24" in back["addresses"] and "2001:db8:5::5/64" in back["addresses"]


def check_bond_options(case):
    source = {i["name"]: i for i in case.net["interfaces"]}["bond0"]
    assert source["bond_options"] == BOND_OPTIONS
    # the primary port eno1 is eth0 in the image, like the member it names
    planned = dict(BOND_OPTIONS, primary="eth0")
    assert case.nets["bond0"].data["bond_options"] == planned
    assert "bond_defaults" not in case.nets["bond0"].data
    assert case.back["bond0"]["bond_options"] == planned
    assert "bond option primary eth0" in case.nets["bond0"].reason


def check_vlan(case):
    vlan = case.nets["bond0.100"].data
    assert (vlan["kind"], vlan["parent"], vlan["vlan_id"]) == ("vlan", "bond0", 100)
    back = case.back["bond0.100"]
    assert (back["kind"], back["parent"], back["vlan_id"], back["addresses"]) == ("vlan", "bond0", 100,
                                                                                  ["10.100.0.5/24"])


def check_bridge(case):
    br = case.nets["br0"].data
    assert (br["kind"], br["members"], br["mode"]) == ("bridge", ["eth3"], "dhcp")
    back = case.back["br0"]
    assert (back["kind"], back["members"], back["mode"]) == ("bridge", ["eth3"], "dhcp")


def check_route(case):
    assert case.nets["bond0"].data["routes"] == [{"to": "10.9.0.0/16", "via": "10.0.0.254"}]
    assert case.back["bond0"]["routes"] == [{"to": "10.9.0.0/16", "via": "10.0.0.254"}]
    assert case.back["bond0"]["gateway"] == "10.0.0.1"


def check_mtu(case):
    assert case.nets["bond0"].data["mtu"] == 9000 and case.back["bond0"]["mtu"] == 9000


def check_search(case):
    if case.manager == "wicked":
        # netconfig keeps wicked's search list globally (/etc/sysconfig/network/config): the overlay
        # carries that file as it is, the Plan neither rewrites nor removes it
        config = "/etc/sysconfig/network/config"
        assert config not in case.files and config not in {c.subject for c in case.plan.by_action("remove-file")}
        assert "/etc/sysconfig/network/ifcfg-bond0" in case.files
        return
    assert case.nets["bond0"].data["dns_search"] == ["example.lan"]
    assert case.back["bond0"]["dns_search"] == ["example.lan"]
    if case.manager == "ifupdown":
        assert "search example.lan\n" in case.files["/etc/resolv.conf"]


def check_second_file(case):
    """Every source file that configured the devices is rewritten or removed; no MAC survives."""
    source = case.net["config_files"]
    removed = {c.subject for c in case.plan.by_rule("net-files")}
    assert len(source) >= 2, source
    for path in source:
        assert path in case.files or path in removed, path
    for path, text in case.files.items():
        body = "".join(ln for ln in text.splitlines(True) if not ln.lstrip().startswith("#")).lower()
        assert not [w for w in MAC_WORDS if w in body], (path, text)
        assert "52:54:00:00:00:0" not in body, path


def check_round_trip(case):
    """The rendered files scan back to exactly the facts of the Plan's set-network Changes, which are the
    source's own (its slot-named members renamed as the Plan says)."""
    planned = {name: facts_of(dict(c.data)) for name, c in case.nets.items()}
    scanned = {name: facts_of(i) for name, i in case.back.items()}
    assert scanned == planned
    renamed = {"eno1": "eth0", "eno2": "eth1"}
    source = {}
    for i in case.net["interfaces"]:
        f = facts_of(i)
        if "members" in f:
            f["members"] = [renamed.get(m, m) for m in f["members"]]
        if "primary" in f.get("bond_options", {}):
            f["bond_options"] = dict(f["bond_options"], primary=renamed[f["bond_options"]["primary"]])
        source[i["name"]] = f
    assert scanned == source


CHECKS = {"bond": check_bond, "bond-options": check_bond_options, "vlan": check_vlan, "bridge": check_bridge,
          "route": check_route, "mtu": check_mtu, "search": check_search, "second-file": check_second_file,
          "round-trip": check_round_trip}
READY = tuple(MANAGERS)


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("manager", READY)
def test_device(cases, manager, check):
    CHECKS[check](cases(manager))


def test_no_warning_for_what_is_carried(cases):
    for manager in READY:
        if manager != "wicked":
            assert not [w for w in cases(manager).plan.warnings if w.rule == "preflight-network"], manager


ADDRESSLESS_BOND = [
    {"name": "bond0", "mode": "manual", "kind": "bond", "members": ["eth0", "eth1"], "bond_mode": "802.3ad",
     "mtu": 9000, "bond_options": {"lacp_rate": "fast", "xmit_hash_policy": "layer3+4", "ad_select": "bandwidth",
                                   "min_links": "1"}},
    {"name": "bond0.100", "mode": "static", "addresses": ["10.100.0.5/24", "2001:db8:100::5/64"],
     "gateway": "10.100.0.1", "dns": ["10.100.0.2"], "kind": "vlan", "parent": "bond0", "vlan_id": 100,
     "routes": [{"to": "10.9.0.0/16", "via": "10.100.0.254"}, {"to": "2001:db8:9::/48", "via": "2001:db8:100::1"}],
     "dns_search": ["example.lan", "corp.example"]},
]


@pytest.mark.parametrize("manager", READY)
def test_a_bond_without_address_carrying_a_vlan_scans_back(tmp_path, manager):
    """The bond has no address (mode manual), the VLAN on it has IPv4 and IPv6, two routes, two search domains."""
    ifaces = [dict(i, config_file=None) for i in ADDRESSLESS_BOND]
    if manager == "wicked":
        # wicked's name servers and search list live in netconfig's global file, which the overlay carries
        ifaces[1].pop("dns_search")
        ifaces[1]["dns"] = []
    plan = plan_of(report_of(tmp_path, {"manager": manager, "interfaces": ifaces}), "kvm")
    files = network_files(plan)
    for path, text in files.items():
        p = tmp_path / "image" / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    back = {i["name"]: facts_of(i) for i in scan(tmp_path / "image", manager)["interfaces"]}
    planned = {c.subject: facts_of(dict(c.data)) for c in plan.by_action("set-network")}
    assert planned["bond0"]["mode"] == "manual" and planned["bond0.100"]["routes"][1]["to"] == "2001:db8:9::/48"
    assert back == planned


@pytest.mark.parametrize("manager", READY)
def test_rendered_devices_golden(cases, manager):
    """The exact text each manager gets (reviewed once; the round trip above proves what it means)."""
    from .helpers import GOLDEN, check_golden
    files = cases(manager).files
    check_golden(GOLDEN / "network" / ("devices-%s.txt" % manager),
                 "".join("=== %s\n%s" % (p, files[p]) for p in sorted(files)))


def test_a_bond_without_link_monitor_gets_miimon_and_the_plan_says_why(tmp_path):
    """ADDRESSLESS_BOND sets neither miimon nor arp_interval: the Plan adds miimon, in its data and its reason."""
    ifaces = [dict(i, config_file=None) for i in ADDRESSLESS_BOND]
    plan = plan_of(report_of(tmp_path, {"manager": "ifupdown", "interfaces": ifaces}), "kvm")
    bond = [c for c in plan.by_action("set-network") if c.subject == "bond0"][0]
    assert bond.data["bond_defaults"] == {"miimon": "100"} and bond.data["bond_options"]["miimon"] == "100"
    assert "neither miimon nor arp_interval" in bond.reason and "never fails over" in bond.reason
    # an ARP monitor is a link monitor: no miimon beside it (the driver would drop ARP monitoring)
    ifaces[0]["bond_options"] = {"arp_interval": "200", "arp_ip_target": "10.100.0.1"}
    plan = plan_of(report_of(tmp_path, {"manager": "ifupdown", "interfaces": ifaces}), "kvm")
    bond = [c for c in plan.by_action("set-network") if c.subject == "bond0"][0]
    assert bond.data["bond_options"] == {"arp_interval": "200", "arp_ip_target": "10.100.0.1"}
    assert "bond_defaults" not in bond.data and "never fails over" not in bond.reason


# options some managers' files cannot say: each of those names it in a Plan warning, the others carry it
UNSAYABLE = {"min_links": ("ifupdown",), "use_carrier": ("netplan", "systemd-networkd"),
             "peer_notif_delay": ("ifupdown", "netplan", "systemd-networkd"), "active_slave": ("netplan",)}
OPTION_VALUES = {"min_links": "1", "use_carrier": "1", "peer_notif_delay": "200", "active_slave": "eth0"}


@pytest.mark.parametrize("manager", READY)
def test_an_option_the_manager_cannot_say_is_a_plan_warning(tmp_path, manager):
    ifaces = [dict(i, config_file=None) for i in ADDRESSLESS_BOND]
    ifaces[0]["bond_options"] = dict(OPTION_VALUES, miimon="100")
    if manager == "wicked":
        ifaces[1].pop("dns_search")
    plan = plan_of(report_of(tmp_path, {"manager": manager, "interfaces": ifaces}), "kvm")
    bond = [c for c in plan.by_action("set-network") if c.subject == "bond0"][0]
    warned = " ".join(w.message for w in plan.warnings if w.rule == "preflight-network")
    for option, value in OPTION_VALUES.items():
        if manager in UNSAYABLE[option]:
            assert "bond option %s %s" % (option, value) in warned, (option, warned)
            assert option not in bond.data["bond_options"] and option not in bond.reason
        else:
            assert bond.data["bond_options"][option] == value and option not in warned
    # what is carried scans back from the rendered files
    for path, text in network_files(plan).items():
        p = tmp_path / "image" / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    back = {i["name"]: i for i in scan(tmp_path / "image", manager)["interfaces"]}
    assert back["bond0"]["bond_options"] == bond.data["bond_options"]
