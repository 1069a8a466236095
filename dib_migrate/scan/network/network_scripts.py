"""ifcfg files: Red Hat's network-scripts and SUSE's wicked (/etc/sysconfig/network)."""
import os
import re

from ..keyvalue import parse_shell_vars
from . import bond
from .interface import cidr, new_interface


def parse_ifcfg(path, text, global_vars=None):
    """One ifcfg-* file (network-scripts or wicked) -> interface or None."""
    v = parse_shell_vars(text)
    name = v.get("DEVICE") or v.get("NAME") or os.path.basename(path)[len("ifcfg-"):]
    if name == "lo" or not name:
        return None
    iface = new_interface(name, path)
    iface["mac"] = v.get("HWADDR") or v.get("MACADDR") or v.get("LLADDR") or None
    proto = v.get("BOOTPROTO", "none").lower()
    keys = sorted(k for k in v if re.match(r"^IPADDR[0-9]*(_[A-Za-z0-9]+)?$", k))
    for key in keys:
        suffix = key[len("IPADDR"):]
        mask = v.get("PREFIX" + suffix) or v.get("NETMASK" + suffix)
        if not mask and not suffix:
            mask = v.get("PREFIX0") or v.get("NETMASK0")
        addr = cidr(v[key], mask)
        if addr:
            iface["addresses"].append(addr)
    for addr in (v.get("IPV6ADDR", "") + " " + v.get("IPV6ADDR_SECONDARIES", "")).split():
        iface["addresses"].append(cidr(addr))
    if proto in ("dhcp", "bootp", "dhcp4", "dhcp6"):
        iface["mode"] = "dhcp"
    elif iface["addresses"]:
        iface["mode"] = "static"
    iface["gateway"] = v.get("GATEWAY") or (global_vars or {}).get("GATEWAY") or None
    iface["dns"] = [v[k] for k in ("DNS1", "DNS2", "DNS3") if v.get(k)]
    if v.get("TYPE", "").lower() == "bond" or v.get("BONDING_OPTS") or v.get("BONDING_MASTER", "").lower() == "yes":
        iface["kind"] = "bond"
        bond.from_kernel_words(v.get("BONDING_OPTS", "") or v.get("BONDING_MODULE_OPTS", "")).into(iface)
    elif v.get("TYPE", "").lower() == "bridge" or v.get("BRIDGE", "").lower() == "yes":
        iface["kind"] = "bridge"
        if v.get("BRIDGE_PORTS"):
            iface["members"] = v["BRIDGE_PORTS"].split()
    elif v.get("VLAN", "").lower() == "yes" or v.get("ETHERDEVICE"):
        iface["kind"] = "vlan"
        iface["parent"] = v.get("PHYSDEV") or v.get("ETHERDEVICE") or name.rpartition(".")[0] or None
        vid = v.get("VLAN_ID") or name.rpartition(".")[2]
        if vid.isdigit():
            iface["vlan_id"] = int(vid)
    slaves = [v[k] for k in sorted(v, key=lambda k: int(re.sub(r"[^0-9]", "", k) or 0))
              if re.match(r"^BONDING_SLAVE_?[0-9]+$", k) and v[k]]
    if slaves:
        iface["members"] = slaves
    for key in ("MASTER", "BRIDGE"):
        if v.get(key) and v[key].lower() not in ("yes", "no"):
            iface["_master"] = v[key]      # a port: listed under its bond/bridge, not on its own
    if (v.get("MTU") or "").isdigit():
        iface["mtu"] = int(v["MTU"])
    search = (v.get("DOMAIN") or v.get("SEARCH") or "").split()
    if search:
        iface["dns_search"] = search
    return iface


def ifcfg_routes(text):
    """route-<if> lines: `10.9.0.0/16 via 10.0.0.254` and the ADDRESSn=/NETMASKn=/GATEWAYn= form."""
    routes = []
    v = parse_shell_vars(text)
    for key in sorted(k for k in v if re.match(r"^ADDRESS[0-9]+$", k)):
        n = key[len("ADDRESS"):]
        if v.get("GATEWAY" + n):
            routes.append({"to": cidr(v[key], v.get("NETMASK" + n)), "via": v["GATEWAY" + n]})
    for line in text.splitlines():
        m = re.match(r"^\s*(\S+/[0-9]+)\s+via\s+(\S+)", line)
        if m:
            routes.append({"to": m.group(1), "via": m.group(2)})
    return routes


def wicked_routes(text, iface):
    """ifroute-<if> lines `DESTINATION GATEWAY NETMASK INTERFACE`: the default one is the interface's gateway."""
    routes = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or words[1] == "-":
            continue
        if words[0] == "default":
            iface["gateway"] = iface["gateway"] or words[1]
        else:
            mask = words[2] if len(words) > 2 and words[2] != "-" else None
            routes.append({"to": cidr(words[0], mask), "via": words[1]})
    return routes


def network_scripts_interfaces(root):
    glob_vars = parse_shell_vars(root.read("/etc/sysconfig/network") or "")
    out = []
    for d in ("/etc/sysconfig/network-scripts", "/etc/sysconfig/network"):
        for path in root.glob(d, "ifcfg-*"):
            if re.search(r"(\.bak|\.orig|\.rpmnew|\.rpmsave|~|\.old)$", path):
                continue
            iface = parse_ifcfg(path, root.read(path) or "", glob_vars)
            if iface:
                iface["_files"] = [path]
                routes = []
                for prefix in ("route", "route6", "ifroute"):
                    rpath = "%s/%s-%s" % (d, prefix, iface["name"])
                    text = root.read(rpath)
                    if text is not None:
                        iface["_files"].append(rpath)
                        routes += ifcfg_routes(text) if prefix != "ifroute" else wicked_routes(text, iface)
                if routes:
                    iface["routes"] = routes
                out.append(iface)
    for port in [i for i in out if i.get("_master")]:
        for iface in out:
            if iface["name"] == port["_master"]:
                if port["name"] not in iface.get("members", []):
                    iface.setdefault("members", []).append(port["name"])
                iface["_files"] += port["_files"]
    out = [i for i in out if not i.get("_master")]
    routes = root.read("/etc/sysconfig/network/routes") or ""
    for line in routes.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "default":
            for iface in out:
                if iface["mode"] == "static" and not iface["gateway"]:
                    iface["gateway"] = words[1]
    return out
