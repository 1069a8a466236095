"""The network configuration files a Plan asks for, in the source's own format.

Shared by render (writes them into the element data) and verify (finds and compares the image's).
"""
import ipaddress
import posixpath
from pathlib import Path

import jinja2

from .scan.network import bond

TEMPLATES = Path(__file__).resolve().parent / "templates"

# manager -> (template, default path for an interface, directory its config files may live in)
FORMATS = {
    "ifupdown": ("network/ifupdown.j2", "/etc/network/interfaces", "/etc/network"),
    "network-scripts": ("network/ifcfg.j2", "/etc/sysconfig/network-scripts/ifcfg-{name}",
                        "/etc/sysconfig/network-scripts"),
    "NetworkManager": ("network/nmconnection.j2", "/etc/NetworkManager/system-connections/{name}.nmconnection",
                       "/etc/NetworkManager/system-connections"),
    "netplan": ("network/netplan.j2", "/etc/netplan/50-dib-migrate.yaml", "/etc/netplan"),
    "systemd-networkd": ("network/networkd.j2", "/etc/systemd/network/10-{name}.network", "/etc/systemd/network"),
    "wicked": ("network/wicked-ifcfg.j2", "/etc/sysconfig/network/ifcfg-{name}", "/etc/sysconfig/network"),
}
# formats with one file per interface (the others group interfaces by file)
PER_INTERFACE = ("network-scripts", "NetworkManager", "systemd-networkd", "wicked")


def environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             autoescape=False)
    # a bond's options in each manager's spelling (scan/network/bond.py reads the same spellings back)
    env.globals.update(bond_ordered=bond.ordered, bond_ifupdown=bond.ifupdown_words, bond_netplan=bond.netplan_params,
                       bond_networkd=bond.networkd_keys)
    return env


def _family(address):
    return ipaddress.ip_interface(address).version


def _view(change):
    d = change.data
    addrs = d.get("addresses") or []
    gw = d.get("gateway")
    gw_version = ipaddress.ip_address(gw).version if gw else None
    dns = d.get("dns") or []
    routes = [dict(r) for r in d.get("routes") or []]
    return {"name": change.subject, "mode": d["mode"],
            "v4": [a for a in addrs if _family(a) == 4], "v6": [a for a in addrs if _family(a) == 6],
            "gateway4": gw if gw_version == 4 else None, "gateway6": gw if gw_version == 6 else None,
            "dns": dns, "dns4": [x for x in dns if ipaddress.ip_address(x).version == 4],
            "dns6": [x for x in dns if ipaddress.ip_address(x).version == 6],
            # device facts (a plain NIC has kind "ethernet", no members)
            "kind": d.get("kind") or "ethernet", "members": list(d.get("members") or []),
            "bond_mode": d.get("bond_mode"), "bond_options": dict(d.get("bond_options") or {}),
            "parent": d.get("parent"),
            "vlan_id": d.get("vlan_id"), "mtu": d.get("mtu"), "routes": routes,
            "routes4": [r for r in routes if _family(r["to"]) == 4],
            "routes6": [r for r in routes if _family(r["to"]) == 6],
            "search": list(d.get("dns_search") or []), "renderer": d.get("renderer"),
            "master": None, "port_type": None, "port_flags": [], "vlans": []}


def _bare(name):
    """A device the Plan names only as a member or a VLAN parent: no address of its own."""
    return {"name": name, "mode": "manual", "v4": [], "v6": [], "gateway4": None, "gateway6": None, "dns": [],
            "dns4": [], "dns6": [], "kind": "ethernet", "members": [], "bond_mode": None, "bond_options": {},
            "parent": None, "vlan_id": None, "mtu": None, "routes": [], "routes4": [], "routes6": [], "search": [],
            "renderer": None, "master": None, "port_type": None, "port_flags": [], "vlans": []}


def devices(nets):
    """[(view, the Change it belongs to)]: each set-network Change's interface, then the NICs its
    bond or bridge enslaves and its VLAN's parent when no Change configures them (rendered bare)."""
    views = [(_view(c), c) for c in nets]
    by_name = {v["name"]: v for v, _c in views}
    for view, c in list(views):
        for m in view["members"]:
            if m not in by_name:
                by_name[m] = _bare(m)
                views.append((by_name[m], c))
            by_name[m].update(master=view["name"], port_type=view["kind"])
            # systemd-networkd names a bond's primary (active) port in the port's own file
            by_name[m]["port_flags"] = [key for key, option in bond.NETWORKD_MEMBER.items()
                                        if view["bond_options"].get(option) == m]
    for view, c in list(views):
        parent = view["parent"] if view["kind"] == "vlan" else None
        if parent:
            if parent not in by_name:
                by_name[parent] = _bare(parent)
                views.append((by_name[parent], c))
            by_name[parent]["vlans"].append(view["name"])
    return _ordered(views)


def _ordered(views):
    """Each device after those it is built on (a VLAN after its parent, a bond after its members): ifupdown
    brings its `auto` devices up in the order of the file."""
    by_name = {v["name"]: (v, c) for v, c in views}
    out, done = [], set()

    def visit(name, path):
        if name in done or name in path or name not in by_name:
            return
        view = by_name[name][0]
        for below in view["members"] + ([view["parent"]] if view["kind"] == "vlan" and view["parent"] else []):
            visit(below, path | {name})
        done.add(name)
        out.append(by_name[name])

    for view, _c in views:
        visit(view["name"], frozenset())
    return out


def config_path(change):
    """Where a set-network Change's config goes: the scanned file when it lies where the manager reads."""
    return _path(change.data["manager"], change)


def config_texts_paths(path):
    """Glob patterns of the files the config at ``path`` is read together with (ifupdown's source dir)."""
    return ["/etc/network/interfaces.d/*"] if path == FORMATS["ifupdown"][1] else []


def _path(manager, change):
    _tpl, default, directory = FORMATS[manager]
    default = default.format(name=change.subject)
    scanned = change.data.get("file")
    if scanned:
        norm = posixpath.normpath(scanned)
        if norm == scanned and (norm == default or posixpath.dirname(norm) == directory
                                or (manager == "ifupdown" and posixpath.dirname(norm) == "/etc/network/interfaces.d")):
            return norm
    return default


def _per_interface(manager, env, views, rules):
    """One file per device (and the .netdev, route files its manager reads beside it): {path: (text, owner)}."""
    files = {}
    template = env.get_template(FORMATS[manager][0])
    for view, c in views:
        path = _path(manager, c) if view["name"] == c.subject else \
            FORMATS[manager][1].format(name=view["name"])
        files[path] = (template.render(i=view, rules=rules), {c.subject})
        if manager == "systemd-networkd" and view["kind"] != "ethernet":
            files[posixpath.splitext(path)[0] + ".netdev"] = (env.get_template("network/networkd-netdev.j2").render(
                i=view, rules=rules), {c.subject})
        elif manager == "wicked" and (view["gateway4"] or view["gateway6"] or view["routes"]):
            # wicked reads a NIC's routes from ifroute-<name>, not from its ifcfg file
            files["/etc/sysconfig/network/ifroute-%s" % view["name"]] = (env.get_template(
                "network/wicked-ifroute.j2").render(i=view, rules=rules), {c.subject})
        elif manager == "network-scripts":
            for suffix, routes in (("route", view["routes4"]), ("route6", view["routes6"])):
                if routes:
                    files["%s/%s-%s" % (posixpath.dirname(path), suffix, view["name"])] = (env.get_template(
                        "network/ifcfg-route.j2").render(i=view, routes=routes, rules=rules), {c.subject})
    return files


def _grouped(manager, env, views, rules):
    """ifupdown and netplan: the devices grouped by the file their Change names."""
    template = env.get_template(FORMATS[manager][0])
    groups, owners = {}, {}
    for view, c in views:
        groups.setdefault(_path(manager, c), []).append(view)
        owners.setdefault(_path(manager, c), set()).add(c.subject)
    main = FORMATS[manager][1]
    if manager == "ifupdown":
        groups.setdefault(main, [])
    return {path: (template.render(interfaces=group, rules=rules, main=(path == main)), owners.get(path, set()))
            for path, group in groups.items()}


def network_files(plan):
    """{absolute path in the image: content} for the Plan's set-network Changes (+ hosts, resolv.conf)."""
    files = interface_files(plan.by_action("set-network"))
    for c in plan.by_action("write-network-file"):
        files[c.subject] = c.data["content"]
    for c in plan.by_action("write-hosts"):
        files[c.subject] = c.data["content"]
    return files


def interface_files(nets):
    """{path: content} the set-network Changes ``nets`` render to (with resolv.conf for ifupdown)."""
    return {path: text for path, (text, _owners) in owned_files(nets).items()}


def owned_files(nets):
    """{path: (content, {subjects of the Changes it configures})} of the set-network Changes ``nets``."""
    env = environment()
    files = {}
    if nets:
        manager = nets[0].data["manager"]
        rules = ", ".join(sorted({c.rule for c in nets}))
        views = devices(nets)
        render = _per_interface if manager in PER_INTERFACE else _grouped
        files.update(render(manager, env, views, rules))
        dns, search = [], []
        for c in nets:
            if c.data["mode"] == "static":
                dns += [d for d in c.data.get("dns") or [] if d not in dns]
            search += [d for d in c.data.get("dns_search") or [] if d not in search]
        if (dns or search) and manager == "ifupdown":
            files["/etc/resolv.conf"] = (env.get_template("network/resolv.conf.j2").render(dns=dns, search=search),
                                         set())
    return files
