"""ifupdown: /etc/network/interfaces and the files it sources."""
import os
import re

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


def parse_ifupdown(files):
    ifaces, order = {}, []
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
                    order.append(name)
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
    out = []
    for name in order:
        iface = ifaces[name]
        iface.pop("_netmask", None)
        iface["addresses"] = [cidr(a) for a in iface["addresses"] if cidr(a)]
        out.append(iface)
    return out
