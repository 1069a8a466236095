"""Rendered network files read by the real tools of their managers, on a real Debian 12 root.

netplan.io's `netplan generate --root-dir`, ifupdown's `ifquery`, systemd-networkd itself (it
logs every key it cannot parse) and NetworkManager 1.42 loading the keyfiles (nmcli lists what
it loaded). The same interfaces (static IPv4+IPv6 with gateway and DNS, and DHCP) in every
format, plus the shipped reports of those managers (Ubuntu's netplan, Rocky's keyfiles).
ifcfg (network-scripts) and wicked files have no parser on Debian: they stay golden tests
(tests/unit/test_network_files.py). Tools run in the root's chroot, in a private network
namespace, so the host's network is never touched.
"""
import subprocess
import time

import pytest
import yaml

from dib_migrate.network_files import network_files
from dib_migrate.plan import make_plan
from dib_migrate.report import load_report

from .hookrun import EXAMPLES, Chroot, debian_root, have_debootstrap

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

# libpam-systemd and polkitd named: debootstrap cannot pick providers of logind / polkitd's virtuals
TOOLS = ("systemd-sysv", "dbus", "libpam-systemd", "polkitd", "netplan.io", "network-manager", "ifupdown",
         "iproute2")
REPORTS = EXAMPLES.parent / "tests/unit/fixtures/reports"
INTERFACES = [
    {"name": "eth0", "mac": "52:54:00:12:34:56", "mode": "static", "addresses": ["10.0.5.20/24", "2001:db8:5::20/64"],
     "gateway": "10.0.5.1", "dns": ["10.0.5.2", "2001:db8:5::2"], "config_file": None},
    {"name": "eth1", "mac": "52:54:00:12:34:57", "mode": "dhcp", "addresses": [], "gateway": None, "dns": [],
     "config_file": None},
]
NM_DIR = "/etc/NetworkManager/system-connections"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return debian_root(tmp_path_factory.mktemp("nettools") / "root", include=TOOLS)


def _files(tmp_path, base, manager=None):
    data = yaml.safe_load((EXAMPLES / base / "report.yaml").read_text() if (EXAMPLES / base).is_dir()
                          else (REPORTS / (base + ".yaml")).read_text())
    data["overlay"] = None
    if manager:
        data["network"]["manager"] = manager
        data["network"]["interfaces"] = INTERFACES
    path = tmp_path / ("%s-%s.yaml" % (base, manager))
    path.write_text(yaml.safe_dump(data))
    plan = make_plan(load_report(str(path)), "kvm")
    nets = plan.by_action("set-network")
    return {p: c for p, c in network_files(plan).items() if p not in ("/etc/hosts", "/etc/resolv.conf")}, \
        [c.subject for c in nets]


class _Placed:
    """The files written into the root for one check, removed again after it."""

    def __init__(self, root, files, mode=0o600):
        self.root, self.files, self.mode = root, files, mode

    def __enter__(self):
        for path, content in self.files.items():
            p = self.root / path.lstrip("/")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
            p.chmod(self.mode)
        return self

    def __exit__(self, *exc):
        for path in self.files:
            (self.root / path.lstrip("/")).unlink()


def _in_netns(root, script, timeout=60):
    """``script`` (sh) in the root's chroot, in a new network and PID namespace (all its
    daemons end with it)."""
    return subprocess.run(["unshare", "--net", "--pid", "--fork", "--kill-child", "chroot", str(root),
                           "sh", "-c", script], capture_output=True, text=True, timeout=timeout)


def _networkd_complaints(root):
    """Start systemd-networkd on the root's .network files; the lines where it rejects a key."""
    r = _in_netns(root, "SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console timeout 5 "
                        "/lib/systemd/systemd-networkd 2>&1; true")
    bad = [ln for ln in r.stdout.splitlines()
           if any(w in ln for w in ("Unknown key", "Unknown section", "Failed to parse", "Invalid", "ignoring"))
           and ".network" in ln]
    return bad, r.stdout


@pytest.mark.parametrize("base,manager", [("debian12-web", "netplan"), ("ubuntu2204-netplan", None)])
def test_netplan_generate_accepts_it(root, tmp_path, base, manager):
    files, nics = _files(tmp_path, base, manager)
    assert any(p.startswith("/etc/netplan/") for p in files), files
    with Chroot(root) as ch, _Placed(root, files):
        r = ch.run("netplan", "generate", "--root-dir", "/", capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        generated = sorted(p.name for p in (root / "run/systemd/network").glob("10-netplan-*.network"))
        assert generated == sorted("10-netplan-%s.network" % n for n in nics), generated
        bad, log = _networkd_complaints(root)
        assert not bad, log
    subprocess.run(["rm", "-rf", str(root / "run/systemd/network")], check=True)


def test_netplan_keeps_the_sources_networkmanager_renderer(root, tmp_path):
    """A netplan source that hands its devices to NetworkManager: the image's netplan does too (netplan
    generate writes NetworkManager keyfiles, no networkd files), not to a networkd the image may not run."""
    data = yaml.safe_load((REPORTS / "ubuntu2204-netplan.yaml").read_text())
    data["overlay"] = None
    for iface in data["network"]["interfaces"]:
        iface["renderer"] = "NetworkManager"
    path = tmp_path / "nm-renderer.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = make_plan(load_report(str(path)), "kvm")
    nics = [c.subject for c in plan.by_action("set-network")]
    files = {p: c for p, c in network_files(plan).items() if p.startswith("/etc/netplan/")}
    assert all('renderer: "NetworkManager"' in c for c in files.values()), files
    with Chroot(root) as ch, _Placed(root, files):
        r = ch.run("netplan", "generate", "--root-dir", "/", capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        keyfiles = sorted(p.name for p in (root / "run/NetworkManager/system-connections").glob("netplan-*"))
        assert keyfiles == sorted("netplan-%s.nmconnection" % n for n in nics), keyfiles
        assert not list((root / "run/systemd/network").glob("10-netplan-*.network"))
    subprocess.run(["rm", "-rf", str(root / "run/NetworkManager"), str(root / "run/systemd/network")], check=True)


# networkd logs nothing for a file it parses cleanly: a file with a misspelt key shows that it
# does read /etc/systemd/network and says so when it cannot parse something
CONTROL = {"/etc/systemd/network/99-control.network": "[Match]\nName=ctl0\n\n[Network]\nAdres=192.0.2.9/24\n"}


def test_networkd_parses_it(root, tmp_path):
    files, nics = _files(tmp_path, "debian12-web", "systemd-networkd")
    assert ["/etc/systemd/network/10-%s.network" % n for n in nics] == sorted(p for p in files if
                                                                              p.endswith(".network"))
    with Chroot(root), _Placed(root, dict(files, **CONTROL), 0o644):
        bad, log = _networkd_complaints(root)
    assert [ln for ln in bad if "99-control.network" in ln and "Adres" in ln], log
    assert not [ln for ln in bad if "99-control.network" not in ln], log


@pytest.mark.parametrize("base,manager", [("debian12-web", "ifupdown"), ("debian12-web", None)])
def test_ifquery_reads_it(root, tmp_path, base, manager):
    files, nics = _files(tmp_path, base, manager)
    with Chroot(root) as ch, _Placed(root, files, 0o644):
        listed = set()
        for allow in ("auto", "hotplug"):
            r = ch.run("ifquery", "-i", "/etc/network/interfaces", "--list", "--allow", allow,
                       capture_output=True, text=True)
            listed |= set(r.stdout.split())
        assert set(nics) <= listed, listed
        for nic in nics:
            r = ch.run("ifquery", "-i", "/etc/network/interfaces", nic, capture_output=True, text=True, check=False)
            assert r.returncode == 0, (nic, r.stderr)
        if manager:
            r = ch.run("ifquery", "-i", "/etc/network/interfaces", "eth0", capture_output=True, text=True)
            assert "address: 10.0.5.20/24" in r.stdout or "address: 10.0.5.20" in r.stdout, r.stdout
            assert "gateway: 10.0.5.1" in r.stdout, r.stdout


@pytest.mark.parametrize("base,manager", [("debian12-web", "NetworkManager"), ("rocky9-vmware", None)])
def test_networkmanager_loads_the_keyfiles(root, tmp_path, base, manager):
    files, nics = _files(tmp_path, base, manager)
    files = {p: c for p, c in files.items() if p.startswith(NM_DIR)}
    assert len(files) == len(nics), files
    # the root is shared by the module's tests: no pid file or listing of an earlier run
    script = ("rm -f /run/dbus/pid /tmp/nm.list /tmp/nm.log; mkdir -p /run/dbus && dbus-daemon --system --fork && "
              "(NetworkManager --no-daemon --log-level=INFO >/tmp/nm.log 2>&1 &) && "
              "for i in $(seq 30); do nmcli -t -f NAME,TYPE,FILENAME connection show >/tmp/nm.list 2>&1 && "
              "[ -s /tmp/nm.list ] && break; sleep 1; done; cat /tmp/nm.list; echo ---; cat /tmp/nm.log")
    with Chroot(root), _Placed(root, files):
        start = time.monotonic()
        r = _in_netns(root, script, timeout=120)
    listed, _, log = r.stdout.partition("---")
    version = subprocess.run(["chroot", str(root), "NetworkManager", "--version"], capture_output=True,
                             text=True).stdout.strip()
    assert version.startswith("1.42"), version
    for path in files:
        assert path in listed, "NetworkManager %s did not load %s (%.0fs)\n%s\n%s" % (
            version, path, time.monotonic() - start, listed, log[-3000:])
    assert "error" not in " ".join(ln for ln in log.splitlines() if "keyfile" in ln).lower(), log


# ---- bonds, VLANs, bridges, routes, MTU: the fixture roots of tests/unit/test_network_devices.py,
# scanned, planned and rendered, then read by the real tools

def _device_files(tmp_path, manager):
    from tests.unit.test_network_devices import ROOTS, report_of, scan
    plan = make_plan(report_of(tmp_path, scan(ROOTS / manager, manager)), "kvm")
    return {p: c for p, c in network_files(plan).items() if p not in ("/etc/hosts", "/etc/resolv.conf")
            and "/udev/" not in p}


def test_netplan_generate_makes_the_bond_vlan_and_bridge(root, tmp_path):
    files = _device_files(tmp_path, "netplan")
    with Chroot(root) as ch, _Placed(root, files):
        r = ch.run("netplan", "generate", "--root-dir", "/", capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        out = root / "run/systemd/network"
        netdevs = {p.name: p.read_text() for p in out.glob("*.netdev")}
        networks = {p.name: p.read_text() for p in out.glob("*.network")}
        bad, log = _networkd_complaints(root)
    subprocess.run(["rm", "-rf", str(out)], check=True)
    bond_netdev = netdevs["10-netplan-bond0.netdev"]
    for line in ("Kind=bond", "Mode=active-backup", "MIIMonitorSec=200ms", "UpDelaySec=400ms", "DownDelaySec=200ms",
                 "PrimaryReselectPolicy=better", "FailOverMACPolicy=active", "GratuitousARP=3"):
        assert line in bond_netdev, (line, bond_netdev)
    assert "PrimarySlave=true" in networks["10-netplan-eth0.network"], networks["10-netplan-eth0.network"]
    assert "Id=100" in netdevs["10-netplan-bond0.100.netdev"] and "Kind=bridge" in netdevs["10-netplan-br0.netdev"]
    assert "Bond=bond0" in networks["10-netplan-eth0.network"] and "Bond=bond0" in networks["10-netplan-eth1.network"]
    assert "Bridge=br0" in networks["10-netplan-eth3.network"]
    bond = networks["10-netplan-bond0.network"]
    for line in ("VLAN=bond0.100", "MTUBytes=9000", "Domains=example.lan", "Destination=10.9.0.0/16",
                 "Gateway=10.0.0.254", "Address=2001:db8:5::5/64"):
        assert line in bond, (line, bond)
    assert not bad, log


def test_networkd_parses_the_netdevs(root, tmp_path):
    files = _device_files(tmp_path, "systemd-networkd")
    assert "/etc/systemd/network/10-bond0.netdev" in files and "/etc/systemd/network/10-eth0.network" in files
    with Chroot(root), _Placed(root, dict(files, **CONTROL), 0o644):
        r = _in_netns(root, "SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console timeout 5 "
                            "/lib/systemd/systemd-networkd 2>&1; true")
    bad = [ln for ln in r.stdout.splitlines()
           if any(w in ln for w in ("Unknown key", "Unknown section", "Failed to parse", "Invalid", "ignoring"))
           and (".network" in ln or ".netdev" in ln) and "99-control" not in ln]
    assert not bad, r.stdout
    # networkd loaded each .netdev as its kind (the VLAN is created once its bond has a carrier)
    for name, kind in (("bond0", "bond"), ("bond0.100", "vlan"), ("br0", "bridge")):
        assert '%s: loaded "%s"' % (name, kind) in r.stdout, (name, r.stdout[-3000:])


def test_ifquery_reads_the_bond_vlan_and_bridge(root, tmp_path):
    files = _device_files(tmp_path, "ifupdown")
    with Chroot(root) as ch, _Placed(root, files, 0o644):
        r = ch.run("ifquery", "-i", "/etc/network/interfaces", "--list", "--allow", "auto",
                   capture_output=True, text=True)
        assert {"bond0", "bond0.100", "br0"} <= set(r.stdout.split()), r.stdout
        got = {}
        for nic in ("bond0", "bond0.100", "br0"):
            q = ch.run("ifquery", "-i", "/etc/network/interfaces", nic, capture_output=True, text=True, check=False)
            assert q.returncode == 0, (nic, q.stderr)
            got[nic] = q.stdout
    for line in ("bond-slaves: eth0 eth1", "bond-mode: active-backup", "bond-miimon: 200", "bond-updelay: 400",
                 "bond-downdelay: 200", "bond-primary: eth0", "bond-primary-reselect: better",
                 "bond-fail-over-mac: active", "bond-num-grat-arp: 3", "mtu: 9000",
                 "dns-search: example.lan", "up: ip route add 10.9.0.0/16 via 10.0.0.254 dev bond0"):
        assert line in got["bond0"], (line, got["bond0"])
    assert "vlan-raw-device: bond0" in got["bond0.100"] and "bridge_ports: eth3" in got["br0"], got


def test_networkmanager_loads_the_bond_vlan_bridge_and_ports(root, tmp_path):
    files = {p: c for p, c in _device_files(tmp_path, "NetworkManager").items() if p.startswith(NM_DIR)}
    assert len(files) == 6, sorted(files)    # bond0, bond0.100, br0 and the ports eth0, eth1, eth3
    script = ("rm -f /run/dbus/pid /tmp/nm.list /tmp/nm.log; mkdir -p /run/dbus && dbus-daemon --system --fork && "
              "(NetworkManager --no-daemon --log-level=INFO >/tmp/nm.log 2>&1 &) && "
              "for i in $(seq 30); do nmcli -t -f NAME,TYPE,FILENAME connection show >/tmp/nm.list 2>&1 && "
              "[ $(wc -l </tmp/nm.list) -ge 6 ] && break; sleep 1; done; cat /tmp/nm.list; echo ---; "
              "nmcli -t -f connection.master,connection.slave-type connection show eth0; echo ---; "
              "nmcli -t -f bond.options,802-3-ethernet.mtu,ipv4.routes,ipv4.dns-search connection show bond0; "
              "echo ---; nmcli -t -f vlan.id,vlan.parent connection show bond0.100; echo ---; cat /tmp/nm.log")
    with Chroot(root), _Placed(root, files):
        r = _in_netns(root, script, timeout=120)
    listed, port, bond, vlan, log = r.stdout.split("---", 4)
    for path in files:
        assert path in listed, "NetworkManager did not load %s\n%s\n%s" % (path, listed, log[-3000:])
    assert "connection.master:bond0" in port and "connection.slave-type:bond" in port, port
    for option in ("mode=active-backup", "miimon=200", "updelay=400", "downdelay=200", "primary=eth0",
                   "primary_reselect=better", "fail_over_mac=active", "num_grat_arp=3"):
        assert option in bond, (option, bond)
    assert "9000" in bond, bond
    assert "10.9.0.0/16" in bond and "10.0.0.254" in bond and "example.lan" in bond, bond
    assert "vlan.id:100" in vlan and "vlan.parent:bond0" in vlan, vlan
    assert "error" not in " ".join(ln for ln in log.splitlines() if "keyfile" in ln).lower(), log


def _addressless_files(tmp_path, manager):
    from tests.unit.test_network_devices import ADDRESSLESS_BOND, report_of
    net = {"manager": manager, "interfaces": [dict(i, config_file=None) for i in ADDRESSLESS_BOND]}
    tmp_path.mkdir(parents=True, exist_ok=True)
    plan = make_plan(report_of(tmp_path, net), "kvm")
    return {p: c for p, c in network_files(plan).items() if p not in ("/etc/hosts", "/etc/resolv.conf")
            and "/udev/" not in p}


def test_a_bond_without_address_under_a_vlan_is_read_by_netplan_networkd_and_ifquery(root, tmp_path):
    """bond0 (802.3ad, no address) carrying VLAN 100 with IPv4+IPv6, two routes and two search domains."""
    netplan = _addressless_files(tmp_path / "netplan", "netplan")
    with Chroot(root) as ch, _Placed(root, netplan):
        r = ch.run("netplan", "generate", "--root-dir", "/", capture_output=True, text=True, check=False)
        out = root / "run/systemd/network"
        vlan = (out / "10-netplan-bond0.100.network").read_text() if r.returncode == 0 else ""
        bond = (out / "10-netplan-bond0.network").read_text() if r.returncode == 0 else ""
        netdev = (out / "10-netplan-bond0.netdev").read_text() if r.returncode == 0 else ""
    subprocess.run(["rm", "-rf", str(out)], check=True)
    assert r.returncode == 0, r.stderr
    for line in ("Address=2001:db8:100::5/64", "Destination=2001:db8:9::/48", "Gateway=2001:db8:100::1",
                 "Domains=example.lan corp.example"):
        assert line in vlan, (line, vlan)
    assert "VLAN=bond0.100" in bond and "MTUBytes=9000" in bond, bond
    # LACP's options, and the link monitor the Plan adds (the report sets none)
    for line in ("Mode=802.3ad", "LACPTransmitRate=fast", "TransmitHashPolicy=layer3+4", "AdSelect=bandwidth",
                 "MinLinks=1", "MIIMonitorSec=100ms"):
        assert line in netdev, (line, netdev)

    networkd = _addressless_files(tmp_path / "networkd", "systemd-networkd")
    assert "LACPTransmitRate=fast" in networkd["/etc/systemd/network/10-bond0.netdev"]
    with Chroot(root), _Placed(root, networkd, 0o644):
        r = _in_netns(root, "SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console timeout 5 "
                            "/lib/systemd/systemd-networkd 2>&1; true")
    bad = [ln for ln in r.stdout.splitlines()
           if any(w in ln for w in ("Unknown key", "Unknown section", "Failed to parse", "Invalid", "ignoring"))
           and (".network" in ln or ".netdev" in ln)]
    assert not bad and 'bond0: loaded "bond"' in r.stdout, r.stdout[-3000:]

    ifupdown = _addressless_files(tmp_path / "ifupdown", "ifupdown")
    with Chroot(root) as ch, _Placed(root, ifupdown, 0o644):
        q = {nic: ch.run("ifquery", "-i", "/etc/network/interfaces", nic, capture_output=True, text=True,
                         check=False) for nic in ("bond0", "bond0.100")}
    assert all(r.returncode == 0 for r in q.values()), {n: r.stderr for n, r in q.items()}
    assert "bond-mode: 802.3ad" in q["bond0"].stdout and "up: ip route add 2001:db8:9::/48 via 2001:db8:100::1 " \
        "dev bond0.100" in q["bond0.100"].stdout, (q["bond0"].stdout, q["bond0.100"].stdout)
    # ifenslave has no min_links: the Plan warns of it instead (tests/unit/test_network_devices.py)
    for line in ("bond-lacp-rate: fast", "bond-xmit-hash-policy: layer3+4", "bond-ad-select: bandwidth",
                 "bond-miimon: 100"):
        assert line in q["bond0"].stdout, (line, q["bond0"].stdout)


def test_networkmanager_loads_an_lacp_bond(root, tmp_path):
    """bond0 in 802.3ad with LACP's options (and the Plan's miimon): NetworkManager 1.42 accepts every one."""
    files = {p: c for p, c in _addressless_files(tmp_path, "NetworkManager").items() if p.startswith(NM_DIR)}
    script = ("rm -f /run/dbus/pid /tmp/nm.list /tmp/nm.log; mkdir -p /run/dbus && dbus-daemon --system --fork && "
              "(NetworkManager --no-daemon --log-level=INFO >/tmp/nm.log 2>&1 &) && "
              "for i in $(seq 30); do nmcli -t -f NAME connection show >/tmp/nm.list 2>&1 && "
              "grep -qx bond0 /tmp/nm.list && break; sleep 1; done; "
              "nmcli -t -f bond.options connection show bond0; echo ---; cat /tmp/nm.log")
    with Chroot(root), _Placed(root, files):
        r = _in_netns(root, script, timeout=120)
    bond, _, log = r.stdout.partition("---")
    for option in ("mode=802.3ad", "lacp_rate=fast", "xmit_hash_policy=layer3+4", "ad_select=bandwidth",
                   "min_links=1", "miimon=100"):
        assert option in bond, (option, bond, log[-3000:])
