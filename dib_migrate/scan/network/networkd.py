"""systemd-networkd .network files."""
from ..keyvalue import parse_ini
from .interface import cidr, new_interface


def networkd_interfaces(root):
    out = []
    # only the admin's files: the vendor ones under /usr/lib (container host0, ...) are defaults
    for d in ("/etc/systemd/network",):
        for path in root.glob(d, "*.network"):
            triples = parse_ini(root.read(path) or "")
            names = [w for s, k, v in triples if s == "Match" and k == "Name" for w in v.split()]
            if len(names) != 1 or any(c in names[0] for c in "*?["):
                continue    # a pattern matches many links; no single interface to describe
            iface = new_interface(names[0], path)
            for sect, key, value in triples:
                if sect == "Match" and key in ("MACAddress", "PermanentMACAddress") and value:
                    iface["mac"] = value.split()[0]
                elif sect in ("Network", "Address") and key == "Address":
                    iface["addresses"].append(cidr(value))
                elif sect in ("Network", "Route") and key == "Gateway" and not iface["gateway"]:
                    iface["gateway"] = value
                elif sect == "Network" and key == "DNS":
                    iface["dns"].extend(value.split())
                elif sect == "Network" and key == "DHCP" and value in ("yes", "ipv4", "both", "true"):
                    iface["mode"] = "dhcp"
            if iface["addresses"] and iface["mode"] is None:
                iface["mode"] = "static"
            out.append(iface)
    return out
