"""netplan YAML files."""
from ..yamlread import SimpleYAMLError, parse_simple_yaml
from . import bond
from .interface import cidr, new_interface


SECTIONS = ("ethernets", "bonds", "bridges", "vlans")


def _merge(old, new):
    """netplan's merge of one device defined in several files: mappings merge key by key, sequences
    (addresses, routes) are appended to, the later file's scalars win (as `netplan generate` does)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for k, v in new.items():
            out[k] = _merge(old.get(k), v)
        return out
    if isinstance(old, list) and isinstance(new, list):
        return old + [v for v in new if v not in old]
    return new


def merged_devices(root, progress):
    """{(section, id): (merged settings, [files defining it])} over /etc/netplan/*.yaml in netplan's order
    (by file name: a later file adds keys to a device or overrides them)."""
    devices = {}
    paths = sorted(root.glob("/etc/netplan", "*.yaml"), key=lambda p: p.rsplit("/", 1)[-1])
    for path in paths:
        try:
            doc = parse_simple_yaml(root.read(path) or "") or {}
            network = doc.get("network") or {}
            sections = [(kind, sorted((network.get(kind) or {}).items())) for kind in SECTIONS]
        except (SimpleYAMLError, AttributeError, IndexError) as e:
            progress.warn("%s: not understood, its interfaces are left out (%s)" % (path, e))
            continue
        for kind, items in sections:
            for key, conf in items:
                conf = conf if isinstance(conf, dict) else {}
                old, files = devices.get((kind, key), ({}, []))
                devices[(kind, key)] = (_merge(old, conf), files + [path])
    return devices


RENDERERS = ("networkd", "NetworkManager")


def global_renderer(root):
    """The backend netplan hands the devices to: the last file's ``network: renderer:`` (netplan's order)."""
    renderer = None
    for path in sorted(root.glob("/etc/netplan", "*.yaml"), key=lambda p: p.rsplit("/", 1)[-1]):
        try:
            network = (parse_simple_yaml(root.read(path) or "") or {}).get("network") or {}
            renderer = network.get("renderer") or renderer
        except (SimpleYAMLError, AttributeError, IndexError):
            continue
    return renderer


def netplan_interfaces(root, progress):
    out = []
    default = global_renderer(root)
    for (kind, name), (conf, files) in merged_devices(root, progress).items():
        name = conf.get("set-name") or name
        iface = new_interface(str(name), files[-1])
        iface["_files"] = files
        renderer = conf.get("renderer") or default
        if renderer in RENDERERS:
            iface["renderer"] = renderer
        elif renderer:
            progress.warn("%s: netplan renderer %r not understood; the image's netplan uses networkd"
                          % (name, renderer))
        match = conf.get("match") if isinstance(conf.get("match"), dict) else {}
        iface["mac"] = match.get("macaddress") or conf.get("macaddress")
        iface["addresses"] = [cidr(a) for a in (conf.get("addresses") or []) if isinstance(a, str)]
        iface["gateway"] = conf.get("gateway4") or conf.get("gateway6")
        for route in conf.get("routes") or []:
            if isinstance(route, dict) and route.get("to") in ("default", "0.0.0.0/0", "::/0") \
                    and not iface["gateway"]:
                iface["gateway"] = route.get("via")
            elif isinstance(route, dict) and route.get("to") and route.get("via"):
                iface.setdefault("routes", []).append({"to": cidr(str(route["to"])),
                                                       "via": str(route["via"])})
        ns = conf.get("nameservers") if isinstance(conf.get("nameservers"), dict) else {}
        iface["dns"] = [str(a) for a in (ns.get("addresses") or [])]
        if ns.get("search"):
            iface["dns_search"] = [str(a) for a in ns["search"]]
        if str(conf.get("mtu", "")).isdigit():
            iface["mtu"] = int(conf["mtu"])
        if kind == "bonds":
            params = conf.get("parameters") if isinstance(conf.get("parameters"), dict) else {}
            iface.update(kind="bond", members=[str(m) for m in conf.get("interfaces") or []])
            bond.from_netplan(params).into(iface)
        elif kind == "bridges":
            iface.update(kind="bridge", members=[str(m) for m in conf.get("interfaces") or []])
        elif kind == "vlans":
            iface.update(kind="vlan", parent=str(conf.get("link") or ""))
            if str(conf.get("id", "")).isdigit():
                iface["vlan_id"] = int(conf["id"])
        if conf.get("dhcp4") is True or (conf.get("dhcp6") is True and not iface["addresses"]):
            iface["mode"] = "dhcp"
        elif iface["addresses"]:
            iface["mode"] = "static"
        out.append(iface)
    return out
