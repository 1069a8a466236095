"""The network configuration files a Plan asks for, in the source's own format.

Shared by render (writes them into the element data) and verify (finds and compares the image's).
"""
import ipaddress
import posixpath
from pathlib import Path

import jinja2

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
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                              autoescape=False)


def _view(change):
    d = change.data
    addrs = d.get("addresses") or []
    v4 = [a for a in addrs if ipaddress.ip_interface(a).version == 4]
    v6 = [a for a in addrs if ipaddress.ip_interface(a).version == 6]
    gw = d.get("gateway")
    gw_version = ipaddress.ip_address(gw).version if gw else None
    dns = d.get("dns") or []
    return {"name": change.subject, "mode": d["mode"], "v4": v4, "v6": v6,
            "gateway4": gw if gw_version == 4 else None, "gateway6": gw if gw_version == 6 else None,
            "dns": dns, "dns4": [x for x in dns if ipaddress.ip_address(x).version == 4],
            "dns6": [x for x in dns if ipaddress.ip_address(x).version == 6]}


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


def network_files(plan):
    """{absolute path in the image: content} for the Plan's set-network Changes (+ hosts, resolv.conf)."""
    nets = plan.by_action("set-network")
    env = environment()
    files = {}
    if nets:
        manager = nets[0].data["manager"]
        template = env.get_template(FORMATS[manager][0])
        rules = ", ".join(sorted({c.rule for c in nets}))
        if manager in PER_INTERFACE:
            for c in nets:
                files[_path(manager, c)] = template.render(i=_view(c), rules=rules)
                if manager == "wicked" and c.data.get("gateway"):
                    # wicked reads a NIC's routes from ifroute-<name>, not from its ifcfg file
                    files["/etc/sysconfig/network/ifroute-%s" % c.subject] = env.get_template(
                        "network/wicked-ifroute.j2").render(i=_view(c), rules=rules)
        else:
            groups = {}
            for c in nets:
                groups.setdefault(_path(manager, c), []).append(_view(c))
            main = FORMATS[manager][1]
            if manager == "ifupdown":
                groups.setdefault(main, [])
            for path, views in groups.items():
                files[path] = template.render(interfaces=views, rules=rules, main=(path == main))
        dns = []
        for c in nets:
            if c.data["mode"] == "static":
                dns += [d for d in c.data.get("dns") or [] if d not in dns]
        if dns and manager == "ifupdown":
            files["/etc/resolv.conf"] = env.get_template("network/resolv.conf.j2").render(dns=dns)
    for c in plan.by_action("write-network-file"):
        files[c.subject] = c.data["content"]
    for c in plan.by_action("write-hosts"):
        files[c.subject] = c.data["content"]
    return files
