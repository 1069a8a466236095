"""NetworkManager keyfiles (system-connections)."""
import re

from ..keyvalue import parse_ini
from . import bond
from .interface import cidr, new_interface


def _nm_device(iface, kind, get, triples):
    """Bond/bridge/VLAN facts, MTU, DNS search and static routes of one keyfile."""
    if kind in ("bond", "bridge"):
        iface["kind"] = kind
        if kind == "bond":
            # the [bond] keys are the kernel's option names
            reader = bond.Reader()
            for sect, key, value in triples:
                if sect == "bond":
                    reader.add(key, value)
            reader.into(iface)
    elif kind == "vlan":
        iface["kind"] = "vlan"
        iface["parent"] = get.get(("vlan", "parent"))
        if (get.get(("vlan", "id")) or "").isdigit():
            iface["vlan_id"] = int(get[("vlan", "id")])
    mtu = get.get(("ethernet", "mtu")) or get.get(("802-3-ethernet", "mtu")) or ""
    if mtu.isdigit() and int(mtu):
        iface["mtu"] = int(mtu)
    for family in ("ipv4", "ipv6"):
        iface.setdefault("dns_search", []).extend(d for d in get.get((family, "dns-search"), "").split(";") if d)
        for sect, key, value in triples:
            if sect == family and re.match(r"^route[0-9]+$", key):
                parts = value.split(",")
                if len(parts) > 1 and parts[1].strip():
                    iface.setdefault("routes", []).append({"to": cidr(parts[0].strip()), "via": parts[1].strip()})


def _nm_member(get):
    """(master, connection type) of a bond/bridge port keyfile, or None."""
    master = get.get(("connection", "master")) or get.get(("connection", "controller"))
    if master:
        return master, get.get(("connection", "slave-type")) or get.get(("connection", "port-type"))
    return None


def nm_keyfile_interfaces(root):
    out, ports = [], []
    for path in root.glob("/etc/NetworkManager/system-connections", "*"):
        triples = parse_ini(root.read(path) or "")
        get = {}
        for sect, key, value in triples:
            get.setdefault((sect, key), value)
        kind = get.get(("connection", "type"), "")
        if kind not in ("ethernet", "802-3-ethernet", "bond", "bridge", "vlan"):
            continue
        name = get.get(("connection", "interface-name")) or get.get(("connection", "id"), "")
        member = _nm_member(get)
        if member:
            # a port's own bond settings (queue-id, prio): not the bond's options, not reported
            settings = ["%s=%s (%s's [bond-port])" % (k, v, name) for s, k, v in triples if s == "bond-port"]
            ports.append((member[0], name, path, settings))
            continue
        iface = new_interface(name, path)
        iface["_uuid"] = get.get(("connection", "uuid"))
        _nm_device(iface, kind, get, triples)
        iface["mac"] = get.get(("ethernet", "mac-address")) or get.get(("802-3-ethernet", "mac-address"))
        for family in ("ipv4", "ipv6"):
            method = get.get((family, "method"), "")
            for sect, key, value in triples:
                if sect == family and re.match(r"^address(es)?[0-9]*$", key):
                    for item in value.split(";"):
                        parts = item.split(",")
                        if parts[0].strip():
                            iface["addresses"].append(cidr(parts[0].strip()))
                        if len(parts) > 1 and parts[1].strip() and not iface["gateway"]:
                            iface["gateway"] = parts[1].strip()
            if get.get((family, "gateway")) and not iface["gateway"]:
                iface["gateway"] = get[(family, "gateway")]
            iface["dns"].extend(d for d in get.get((family, "dns"), "").split(";") if d)
            if method == "manual" and iface["addresses"]:
                iface["mode"] = "static"
            elif method in ("auto", "dhcp") and iface["mode"] is None and family == "ipv4":
                iface["mode"] = "dhcp"
        out.append(iface)
    for master, name, path, settings in ports:
        for iface in out:
            if master in (iface["name"], iface.get("_uuid")):
                iface.setdefault("members", []).append(name)
                iface.setdefault("_files", [iface["config_file"]]).append(path)
                iface.setdefault("_bond_bad", []).extend(settings)
    return out
