"""NetworkManager keyfiles (system-connections)."""
import re

from ..keyvalue import parse_ini
from .interface import cidr, new_interface


def nm_keyfile_interfaces(root):
    out = []
    for path in root.glob("/etc/NetworkManager/system-connections", "*"):
        triples = parse_ini(root.read(path) or "")
        get = {}
        for sect, key, value in triples:
            get.setdefault((sect, key), value)
        kind = get.get(("connection", "type"), "")
        if kind not in ("ethernet", "802-3-ethernet", "bond", "bridge", "vlan"):
            continue
        name = get.get(("connection", "interface-name")) or get.get(("connection", "id"), "")
        iface = new_interface(name, path)
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
    return out
