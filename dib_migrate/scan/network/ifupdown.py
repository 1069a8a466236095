"""ifupdown: /etc/network/interfaces and the files it sources."""
import os
import re

from . import bond
from .interface import cidr, new_interface


def ifupdown_files(root):
    """/etc/network/interfaces and the files its source / source-directory lines pull in, in order."""
    out, queue, seen = [], ["/etc/network/interfaces"], set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        text = root.read(path)
        if text is None:
            continue
        out.append((path, text))
        for line in text.splitlines():
            words = line.split()
            if len(words) == 2 and words[0] in ("source", "source-directory"):
                target = words[1] if words[1].startswith("/") else "/etc/network/" + words[1]
                if words[0] == "source-directory" or root.isdir(target):
                    queue.extend(p for p in root.glob(target, "*") if re.match(r"^[A-Za-z0-9_-]+$",
                                                                               os.path.basename(p)))
                else:
                    d, pattern = os.path.split(target)
                    queue.extend(root.glob(d, pattern))
    return out


ROUTE_IP = re.compile(r"^ip\s+(?:-[46]\s+)?route\s+(?:add|replace)\s+(\S+)\s+via\s+(\S+)")
LINK_MTU = re.compile(r"^ip\s+link\s+set\s+(?:dev\s+)?\S+\s+mtu\s+([0-9]+)$")
ROUTE_NET = re.compile(r"^route\s+add\s+-net\s+(\S+)\s+netmask\s+(\S+)\s+gw\s+(\S+)")


def _device_option(iface, key, values, masters):
    """What ifupdown's bonding, vlan and bridge-utils options, mtu, dns-search and up-routes say."""
    if key in ("bond-slaves", "bond_slaves", "slaves") and values != ["none"]:
        iface["kind"] = "bond"
        iface["members"] = [v for v in values if v != "none"]
    elif key in ("bond-master", "bond_master"):
        masters[iface["name"]] = values[0]
    elif bond.ifupdown_name(key):
        # ifenslave's options (bond-mode, bond-miimon, bond_primary...): read once the whole file is
        # (a member's stanza may repeat them for its bond)
        iface.setdefault("_bond_words", []).append((bond.ifupdown_name(key), values))
    elif key == "vlan-raw-device":
        iface["kind"] = "vlan"
        iface["parent"] = values[0]
        digits = re.search(r"([0-9]+)$", iface["name"])
        if digits:
            iface["vlan_id"] = int(digits.group(1))
    elif key in ("bridge_ports", "bridge-ports"):
        iface["kind"] = "bridge"
        iface["members"] = [v for v in values if v != "none"]
    elif key == "mtu" and values[0].isdigit():
        iface["mtu"] = int(values[0])
    elif key == "pre-up" and LINK_MTU.match(" ".join(values)):
        iface["mtu"] = int(LINK_MTU.match(" ".join(values)).group(1))
    elif key in ("dns-search", "dns-domain"):
        iface.setdefault("dns_search", []).extend(v for v in values if v not in iface.get("dns_search", []))
    elif key in ("up", "post-up"):
        command = " ".join(values)
        m = ROUTE_IP.match(command)
        n = ROUTE_NET.match(command)
        if m and m.group(1) != "default":
            iface.setdefault("routes", []).append({"to": cidr(m.group(1)) or m.group(1), "via": m.group(2)})
        elif n:
            iface.setdefault("routes", []).append({"to": cidr(n.group(1), n.group(2)) or n.group(1),
                                                   "via": n.group(3)})


def parse_ifupdown(files):
    ifaces, order, masters = {}, [], {}
    for path, text in files:
        current, family = None, None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if words[0] == "iface" and len(words) >= 4:
                name, family, method = words[1], words[2], words[3]
                if name == "lo" or method in ("loopback",):
                    current = None
                    continue
                current = ifaces.get(name)
                if current is None:
                    current = ifaces[name] = new_interface(name, path)
                    current["_files"] = []
                    order.append(name)
                if path not in current["_files"]:
                    current["_files"].append(path)
                if method == "static":
                    current["mode"] = "static"
                elif method in ("dhcp", "auto") and current["mode"] != "static":
                    if family == "inet" or current["mode"] is None:
                        current["mode"] = "dhcp"
                current["_netmask"] = None
                continue
            if words[0] in ("auto", "allow-hotplug", "mapping", "source", "source-directory") \
                    or words[0].startswith("allow-"):
                current = None if words[0] == "mapping" else current
                continue
            if current is None or len(words) < 2:
                continue
            key, value = words[0], words[1]
            if key == "address":
                current["addresses"].append(value)
            elif key == "netmask" and current["addresses"]:
                fixed = cidr(current["addresses"][-1], value)
                if fixed:
                    current["addresses"][-1] = fixed
            elif key == "gateway" and (current["gateway"] is None or family == "inet"):
                current["gateway"] = value
            elif key == "dns-nameservers":
                current["dns"].extend(words[1:])
            elif key == "hwaddress":
                current["mac"] = words[-1]
            else:
                _device_option(current, key, words[1:], masters)
    out = []
    for member, master in masters.items():
        if master in ifaces and member not in ifaces[master].setdefault("members", []):
            ifaces[master]["members"].append(member)
            ifaces[master].setdefault("kind", "bond")
    _bond_options(ifaces, order, masters)
    for name in order:
        iface = ifaces[name]
        iface.pop("_netmask", None)
        if "." in name and "kind" not in iface:
            base, _, vid = name.rpartition(".")
            if vid.isdigit():
                iface.update(kind="vlan", parent=base, vlan_id=int(vid))
        iface["addresses"] = [cidr(a) for a in iface["addresses"] if cidr(a)]
        out.append(iface)
    return out


def _bond_options(ifaces, order, masters):
    """The bond-* options of each stanza onto its bond: its own, or (a member's stanza, ifenslave applies
    them to the master too) its master's where the master's stanza does not set them."""
    for name in sorted(order, key=lambda n: n in masters):   # the bonds' own stanzas first
        iface = ifaces[name]
        words = iface.pop("_bond_words", [])
        if not words:
            continue
        r = bond.Reader()
        for option, values in words:
            if option in bond.IFUPDOWN_PORT_SETTINGS:
                r.bad.append("bond-%s %s (in %s's stanza)" % (option.replace("_", "-"), " ".join(values), name))
            else:
                # ifenslave takes the first of several primaries that is a port; one is the bond's
                r.add(option, values[0] if bond.KINDS.get(option) == bond.DEVICE else " ".join(values))
        target = ifaces.get(masters.get(name), iface)
        if target is iface and r.mode:
            iface["kind"] = "bond"
        if target is not iface:
            r.options = {k: v for k, v in r.options.items() if k not in target.get("bond_options", {})}
            r.mode = None if target.get("bond_mode") else r.mode
        r.into(target)
