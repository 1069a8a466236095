"""systemd-networkd .network and .netdev files."""
import re

from ..keyvalue import parse_ini
from . import bond
from .interface import cidr, new_interface

NETDEV_KINDS = {"bond": "bond", "bridge": "bridge", "vlan": "vlan"}


def _sections(text):
    """[(section, [(key, value)])] in file order: each [Route] of a file is its own section."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            out.append((line[1:-1].strip(), []))
        elif "=" in line and out:
            key, value = line.split("=", 1)
            out[-1][1].append((key.strip(), value.strip()))
    return out


def _netdevs(root, d):
    """name -> (kind, {section.key: value}, path) of the .netdev files (bonds, bridges, VLANs)."""
    out = {}
    for path in root.glob(d, "*.netdev"):
        get = {}
        for sect, key, value in parse_ini(root.read(path) or ""):
            get.setdefault("%s.%s" % (sect, key), value)
        kind = NETDEV_KINDS.get(get.get("NetDev.Kind", ""))
        if kind and get.get("NetDev.Name"):
            out.setdefault(get["NetDev.Name"], (kind, get, path))
    return out


def _device(iface, netdev):
    kind, get, path = netdev
    iface["kind"] = kind
    iface["_files"].append(path)
    if kind == "bond":
        bond.from_networkd([(k[len("Bond."):], v) for k, v in get.items() if k.startswith("Bond.")]).into(iface)
    if kind == "vlan" and (get.get("VLAN.Id") or "").isdigit():
        iface["vlan_id"] = int(get["VLAN.Id"])
    if (get.get("NetDev.MTUBytes") or "").isdigit() and not iface.get("mtu"):
        iface["mtu"] = int(get["NetDev.MTUBytes"])


def networkd_interfaces(root):
    out, masters, vlans, flags = [], [], [], []
    # only the admin's files: the vendor ones under /usr/lib (container host0, ...) are defaults
    for d in ("/etc/systemd/network",):
        netdevs = _netdevs(root, d)
        for path in root.glob(d, "*.network"):
            sections = _sections(root.read(path) or "")
            names = [w for s, kv in sections if s == "Match" for k, v in kv if k == "Name" for w in v.split()]
            if len(names) != 1 or any(c in names[0] for c in "*?["):
                continue    # a pattern matches many links; no single interface to describe
            iface = new_interface(names[0], path)
            iface["_files"] = [path]
            for sect, kv in sections:
                if sect == "Route":
                    route = dict(kv)
                    if route.get("Gateway") and route.get("Destination") not in (None, "0.0.0.0/0", "::/0"):
                        iface.setdefault("routes", []).append({"to": cidr(route["Destination"]),
                                                               "via": route["Gateway"]})
                    elif route.get("Gateway") and not iface["gateway"]:
                        iface["gateway"] = route["Gateway"]
                    continue
                for key, value in kv:
                    if sect == "Match" and key in ("MACAddress", "PermanentMACAddress") and value:
                        iface["mac"] = value.split()[0]
                    elif sect in ("Network", "Address") and key == "Address":
                        iface["addresses"].append(cidr(value))
                    elif sect == "Network" and key == "Gateway" and not iface["gateway"]:
                        iface["gateway"] = value
                    elif sect == "Network" and key == "DNS":
                        iface["dns"].extend(value.split())
                    elif sect == "Network" and key == "Domains":
                        iface.setdefault("dns_search", []).extend(w.lstrip("~") for w in value.split()
                                                                  if w != "~.")
                    elif sect == "Network" and key in ("Bond", "Bridge"):
                        masters.append((value, iface["name"], path))
                    elif sect == "Network" and key in bond.NETWORKD_MEMBER and bond.flag(value) == "1":
                        flags.append((iface["name"], bond.NETWORKD_MEMBER[key]))   # PrimarySlave=yes
                    elif sect == "Network" and key == "VLAN":
                        vlans.append((value, iface["name"]))
                    elif sect == "Link" and key == "MTUBytes" and value.isdigit():
                        iface["mtu"] = int(value)
                    elif sect == "Network" and key == "DHCP" and value in ("yes", "ipv4", "both", "true"):
                        iface["mode"] = "dhcp"
            if iface["name"] in netdevs:
                _device(iface, netdevs[iface["name"]])
            if iface["addresses"] and iface["mode"] is None:
                iface["mode"] = "static"
            out.append(iface)
    by_name = {i["name"]: i for i in out}
    for master, member, path in masters:
        if master in by_name:
            by_name[master].setdefault("members", []).append(member)
    master_of = {member: master for master, member, _path in masters}
    for member, option in flags:
        if master_of.get(member) in by_name:
            by_name[master_of[member]].setdefault("bond_options", {})[option] = member
    for vlan, parent in vlans:
        if vlan in by_name:
            by_name[vlan]["parent"] = parent
    for iface in out:
        if iface.get("kind") == "vlan" and not iface.get("parent") and re.search(r"\.[0-9]+$", iface["name"]):
            iface["parent"] = iface["name"].rpartition(".")[0]
    return out
