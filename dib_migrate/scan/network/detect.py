"""Which manager configures the network, and the interfaces it configures."""
import re

from ..command import run
from ..names import valid
from . import bond
from .ifupdown import ifupdown_files, parse_ifupdown
from .interface import new_interface
from .netplan import netplan_interfaces
from .network_scripts import network_scripts_interfaces
from .networkd import networkd_interfaces
from .networkmanager import nm_keyfile_interfaces


def udev_macs(root):
    """NAME -> MAC from persistent-net udev rules, the only record of a MAC on an offline disk."""
    macs = {}
    for path in root.glob("/etc/udev/rules.d", "*net*.rules"):
        for line in (root.read(path) or "").splitlines():
            mac = re.search(r'ATTR\{address\}=="([0-9A-Fa-f:]{17})"', line)
            name = re.search(r'NAME="([^"]+)"', line)
            if mac and name and not line.lstrip().startswith("#"):
                macs[name.group(1)] = mac.group(1).lower()
    return macs


def resolv_nameservers(root):
    out = []
    for line in (root.read("/etc/resolv.conf") or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and not words[1].startswith("127."):
            out.append(words[1])
    return out


def detect_network(root, names, services, progress):
    enabled = set(s["name"] for s in services if s["state"] == "enabled")
    sources = {
        "netplan": lambda: netplan_interfaces(root, progress),
        "NetworkManager": lambda: nm_keyfile_interfaces(root),
        "systemd-networkd": lambda: networkd_interfaces(root),
        "wicked": lambda: network_scripts_interfaces(root),
        "ifupdown": lambda: parse_ifupdown(ifupdown_files(root)),
        "network-scripts": lambda: network_scripts_interfaces(root),
    }
    if root.glob("/etc/netplan", "*.yaml") and ("netplan.io" in names or "netplan" in names):
        manager = "netplan"
    elif "NetworkManager" in enabled and ({"network-manager", "NetworkManager"} & names):
        manager = "NetworkManager"
    elif "systemd-networkd" in enabled and root.glob("/etc/systemd/network", "*.network"):
        manager = "systemd-networkd"
    elif "wicked" in names or "wicked" in enabled:
        manager = "wicked"
    elif root.exists("/etc/network/interfaces") and ("ifupdown" in names or "ifupdown2" in names
                                                     or not root.isdir("/etc/sysconfig/network-scripts")):
        manager = "ifupdown"
    elif root.isdir("/etc/sysconfig/network-scripts"):
        manager = "network-scripts"
    else:
        manager = "ifupdown" if "ifupdown" in names else "systemd-networkd"
    order = [manager] + [m for m in ("network-scripts", "NetworkManager", "netplan", "systemd-networkd",
                                     "ifupdown") if m != manager]
    if manager == "NetworkManager":
        order.insert(1, "network-scripts")   # NetworkManager's ifcfg-rh plugin reads those files
    interfaces, seen, origin, files_of, mac_bound = [], set(), {}, {}, []
    for source in order:
        if source != manager and interfaces and source not in ("network-scripts",):
            continue
        for iface in sources[source]():
            if source == manager:
                files_of.setdefault(iface["name"], []).extend(iface.get("_files") or [iface["config_file"]])
                if iface["mode"] is None and iface.get("mac") and not iface.get("kind"):
                    mac_bound.append(iface["name"])     # no address, but its file binds a MAC: the Plan drops it
            if iface["name"] in seen and origin.get(iface["name"]) == source and iface["mode"] is not None:
                progress.warn("interface %s is configured twice (%s); only the first is reported: check the "
                              "addresses of the second by hand" % (iface["name"], iface["config_file"]))
            base = iface["name"].split(":")[0]
            if ":" in iface["name"] and base in seen:
                # ifupdown/ifcfg alias (eth0:1): one more address of the real interface
                for known in interfaces:
                    if known["name"] == base:
                        known["addresses"].extend(a for a in iface["addresses"]
                                                  if a not in known["addresses"])
                continue
            if iface["mode"] is None and iface.get("kind") in ("bond", "bridge", "vlan"):
                iface["mode"] = "manual"    # a bond or bridge under a VLAN, a VLAN under a bridge: no address
            if iface["name"] in seen or iface["mode"] is None:
                continue
            seen.add(iface["name"])
            origin[iface["name"]] = source
            interfaces.append(iface)
    if not interfaces and root.live:
        interfaces = live_interfaces(run(["ip", "-o", "addr", "show"]) or "",
                                     run(["ip", "-o", "route", "show", "default"]) or "")
        for iface in interfaces:
            progress.warn("interface %s (%s) has no configuration file: reported from the running system (%s)"
                          % (iface["name"], ", ".join(iface["addresses"]) or "no address", iface["mode"]))
    config_files = []
    for iface in interfaces:
        # the files of a device and of the NICs under it: the Plan rewrites or removes each
        for name in [iface["name"]] + list(iface.get("members") or []) + [iface.get("parent")]:
            config_files += [p for p in files_of.get(name, ()) if p and p not in config_files]
    for name in mac_bound:
        config_files += [p for p in files_of.get(name, ()) if p and p not in config_files]
    macs = udev_macs(root)
    fallback_dns = resolv_nameservers(root)
    out = []
    for iface in interfaces:
        if iface["mac"] is None:
            iface["mac"] = live_mac(iface["name"]) if root.live else macs.get(iface["name"])
        if iface["mode"] == "static" and not iface["dns"]:
            iface["dns"] = list(fallback_dns)   # static configs often leave DNS to resolv.conf
        cleaned = clean_interface(iface)
        if cleaned is None:
            progress.warn("interface %r left out: its name or addresses are not valid" % iface["name"])
        else:
            out.append(cleaned)
            kept = (cleaned.get("bond_options") or {}).items()
            left = iface.get("_bond_bad", []) + ["%s=%s" % kv for kv in sorted((iface.get("bond_options") or {})
                                                                               .items()) if kv not in kept]
            if left:
                progress.warn("bond %s: %s left out of the report (%s; not understood, or a single port's setting): "
                              "set on the new instance by hand" % (iface["name"], ", ".join(left),
                                                                   iface["config_file"]))
    # NetworkManager names keyfiles after their connection ("Wired connection 1"): spaces allowed, no ".."
    config_files = [p for p in config_files if re.match(r"^/[A-Za-z0-9._+@/ -]*$", p) and "/../" not in p + "/"]
    return {"manager": manager, "interfaces": out, "hosts": root.read("/etc/hosts"), "config_files": config_files}


def live_interfaces(addr_text, route_text):
    """Interfaces of the running system from `ip -o addr` / `ip -o route show default` output."""
    gateways = {}
    for line in route_text.splitlines():
        words = line.split()
        if len(words) >= 5 and words[0] == "default" and words[1] == "via" and "dev" in words:
            gateways.setdefault(words[words.index("dev") + 1], words[2])
    out, by_name = [], {}
    for line in addr_text.splitlines():
        words = line.split()
        if len(words) < 4 or words[2] not in ("inet", "inet6"):
            continue
        name = words[1].split("@")[0]
        if name == "lo" or "scope" in words and words[words.index("scope") + 1] in ("host", "link"):
            continue
        iface = by_name.get(name)
        if iface is None:
            iface = by_name[name] = new_interface(name, None)
            iface["gateway"] = gateways.get(name)
            out.append(iface)
        dynamic = "dynamic" in words
        iface["mode"] = "dhcp" if dynamic or iface["mode"] == "dhcp" else "static"
        if not dynamic:
            iface["addresses"].append(words[3])
    return out


def live_mac(name):
    try:
        with open("/sys/class/net/%s/address" % name) as f:
            return f.read().strip()
    except (OSError, IOError):
        return None


def clean_interface(iface):
    if not valid("interface", iface["name"]):
        return None
    mac = (iface["mac"] or "").lower() or None
    addresses = [a for a in iface["addresses"] if valid("cidr", a or "")]
    if iface["mode"] == "static" and not addresses:
        return None
    path = iface["config_file"]
    out = {
        "name": iface["name"],
        "mac": mac if valid("mac", mac or "") else None,
        "mode": iface["mode"],
        "addresses": addresses,
        "gateway": iface["gateway"] if valid("ip", iface["gateway"] or "") else None,
        "dns": [d for d in iface["dns"] if valid("ip", d)],
        "config_file": path if valid("abspath", path or "") else None,
    }
    # device facts, only where the configuration has them (bond, vlan, bridge, routes, MTU, search)
    if iface.get("kind") in ("bond", "vlan", "bridge"):
        out["kind"] = iface["kind"]
    members = [m for m in iface.get("members") or [] if valid("interface", m)]
    if members:
        out["members"] = members
    if valid("service", iface.get("bond_mode") or ""):
        out["bond_mode"] = iface["bond_mode"]
    options = {k: v for k, v in (iface.get("bond_options") or {}).items()
               if bond.NAME.match(k) and k != "mode" and bond.VALUE.match(v)}
    if options and out.get("kind") == "bond":
        out["bond_options"] = options
    if valid("interface", iface.get("parent") or ""):
        out["parent"] = iface["parent"]
    if isinstance(iface.get("vlan_id"), int) and 0 < iface["vlan_id"] < 4095:
        out["vlan_id"] = iface["vlan_id"]
    if isinstance(iface.get("mtu"), int) and 68 <= iface["mtu"] <= 65535:
        out["mtu"] = iface["mtu"]
    if iface.get("renderer") in ("networkd", "NetworkManager"):
        out["renderer"] = iface["renderer"]
    routes = [r for r in iface.get("routes") or []
              if valid("cidr", r.get("to") or "") and valid("ip", r.get("via") or "")]
    if routes:
        out["routes"] = routes
    search = [d for d in iface.get("dns_search") or [] if valid("fqdn", d) or valid("hostname", d)]
    if search:
        out["dns_search"] = search
    return out
