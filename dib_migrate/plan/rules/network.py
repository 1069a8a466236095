"""net-static, net-dhcp, net-hosts, net-mac, net-ifnames."""
import re

from ..context import LEGACY_NAME
from ... import rule_registry as R
from ..model import Change
from ...network_files import interface_files
from ...scan.network import bond

# the link monitor a bond gets when the source set none: without one it never notices a dead port, never fails over
BOND_MIIMON = 100

# where /etc/hosts names the host once its address comes from DHCP (Debian's convention)
DHCP_HOSTS_ADDRESS = "127.0.1.1"
UDEV_NET_RULES = ("/etc/udev/rules.d/70-persistent-net.rules",)
# an empty file of the same name in /etc/udev/rules.d overrides the packaged rule
UDEV_NET_GENERATOR = "/etc/udev/rules.d/75-persistent-net-generator.rules"


def _describe(iface):
    if iface.mode == "dhcp":
        return "DHCP"
    if iface.mode == "manual":
        return "no address of its own"
    parts = [", ".join(iface.addresses)]
    if iface.gateway:
        parts.append("gateway " + iface.gateway)
    if iface.dns:
        parts.append("DNS " + ", ".join(iface.dns))
    return " ".join(parts)


def _paired(ctx):
    """(source interface, image interface) pairs."""
    return zip(ctx.report.interfaces, ctx.interfaces())


def interface_changes(ctx):
    r = ctx.report
    masters = ctx.masters(ctx.interfaces())
    for old, iface in _paired(ctx):
        data = {"mode": iface.mode, "addresses": list(iface.addresses), "gateway": iface.gateway,
                "dns": list(iface.dns), "manager": r.network_manager, "file": iface.config_file}
        data.update(device_data(iface, r.network_manager))
        if iface.name != old.name:
            data["source_name"] = old.name
        if iface.name in masters:
            rule = R.NET_STATIC
            reason = "%s is enslaved to %s: it has no address of its own in the image%s" % (
                iface.name, masters[iface.name], " (the source configured %s on it)" % _describe(old)
                if old.mode != "manual" else "")
        elif (iface.mode, iface.addresses, iface.gateway, iface.dns) != (old.mode, old.addresses, old.gateway, old.dns):
            nic = ctx.options.profile.nic(old.name) if ctx.options.profile else None
            who = ("the install profile %s changes this NIC" % ctx.options.profile.path if nic
                   else "--network dhcp puts every interface on DHCP")
            reason = "%s %s → %s: %s" % (iface.name, _describe(old), _describe(iface), who)
            rule = R.NET_STATIC if iface.mode == "static" else R.NET_DHCP
        elif iface.mode == "static":
            rule = R.NET_STATIC
            reason = "%s keeps its static %s (%s config)" % (iface.name, _describe(iface), r.network_manager)
        elif iface.mode == "manual":
            rule = R.NET_STATIC
            reason = "%s keeps %s (%s config)" % (iface.name, _describe(iface), r.network_manager)
        else:
            rule = R.NET_DHCP
            reason = "%s stays on DHCP; nothing of the old lease is kept" % iface.name
        if iface.name != old.name:
            reason = "%s (was %s, a slot-based name the new hardware changes); %s" % (iface.name, old.name, reason)
        lost = uncarried(iface, r.network_manager)
        facts = [f for f in iface.device_facts() if f not in lost]
        if facts:
            reason += "; %s%s" % ("; ".join(facts), _renamed_members(old, iface))
        if data.get("bond_defaults"):
            reason += ("; the source's bond sets no link monitor (neither miimon nor arp_interval): miimon %d "
                       "set, without a monitor the bond never notices a dead port and never fails over" % BOND_MIIMON)
        elif iface.kind == "bond" and not bond.monitored(data["bond_options"]):
            reason += "; the source turned the bond's link monitor off (miimon 0), kept: it never fails over"
        yield Change("set-network", iface.name, rule, reason, data)


def uncarried(iface, manager):
    """The device facts of ``iface`` the manager's rendered configuration cannot carry, as words (preflight warns
    of them)."""
    out = []
    if iface.kind == "vlan" and not (iface.parent and iface.vlan_id):
        out.append("VLAN %s on %s" % (iface.vlan_id, iface.parent))
    out += ["bond option %s %s" % kv for kv in iface.bond_options if not bond.says(manager, kv[0])]
    if iface.dns_search and manager == "wicked":
        # wicked takes search domains from netconfig's global list, not from an interface's ifcfg file
        out.append("DNS search %s" % " ".join(iface.dns_search))
    return out


def device_data(iface, manager):
    """The device facts a set-network Change carries (only those the source has): render and verify read them."""
    data = {}
    if iface.kind == "vlan" and not (iface.parent and iface.vlan_id):
        pass    # not rendered as a VLAN: see uncarried
    elif iface.kind:
        data["kind"] = iface.kind
    if iface.kind in ("bond", "bridge"):
        data["members"] = list(iface.members)
    if iface.kind == "bond":
        if iface.bond_mode:
            data["bond_mode"] = iface.bond_mode
        options = bond.carried(manager, dict(iface.bond_options))
        if "miimon" not in options and not bond.monitored(options):
            data["bond_defaults"] = {"miimon": str(BOND_MIIMON)}
            options.update(data["bond_defaults"])
        data["bond_options"] = options
    if iface.kind == "vlan":
        data["parent"] = iface.parent
        data["vlan_id"] = iface.vlan_id
    if iface.mtu:
        data["mtu"] = iface.mtu
    if iface.routes:
        data["routes"] = [{"to": to, "via": via} for to, via in iface.routes]
    if iface.dns_search and manager != "wicked":
        data["dns_search"] = list(iface.dns_search)
    if iface.renderer and manager == "netplan":
        data["renderer"] = iface.renderer
    return data


def _renamed_members(old, iface):
    was = ["%s was %s" % (b, a) for a, b in zip(old.members + (old.parent,), iface.members + (iface.parent,))
           if a != b and a and b]
    return " (%s)" % ", ".join(was) if was else ""


def hosts_change(ctx):
    r = ctx.report
    text = r.hosts if r.hosts is not None else "127.0.0.1\tlocalhost\n"
    renamed = []
    for old, iface in _paired(ctx):
        # an address that goes away (DHCP) leaves the host's names on the loopback alias Debian uses
        news = list(iface.addresses) + [DHCP_HOSTS_ADDRESS] * (len(old.addresses) - len(iface.addresses))
        for old_addr, new_addr in zip(old.addresses, news):
            a, b = old_addr.split("/")[0], new_addr.split("/")[0]
            if a != b:
                text = re.sub(r"(?m)^%s(?=\s)" % re.escape(a), b, text)
                renamed.append("%s → %s" % (a, b))
    if renamed:
        reason = "/etc/hosts regenerated for the changed address (%s)" % ", ".join(renamed)
    else:
        reason = "/etc/hosts kept as scanned (%d lines); it is rewritten only when an address changes" % (
            len(text.splitlines()))
    yield Change("write-hosts", "/etc/hosts", R.NET_HOSTS, reason, {"content": text})


def mac_bindings(ctx):
    bound = [i for i in ctx.report.interfaces if i.mac]
    for path in UDEV_NET_RULES:
        yield Change("remove-file", path, R.NET_MAC,
                     "udev persistent-net rules bind names to the old MACs (%s); the new NICs differ" % (
                         ", ".join("%s=%s" % (i.name, i.mac) for i in bound) or "none scanned"))
    yield Change("write-network-file", UDEV_NET_GENERATOR, R.NET_MAC,
                 "udev's persistent-net generator masked: it would bind the names to the new MACs at first "
                 "boot and break the next move", {"content": ""})


def ifnames(ctx):
    names = ctx.interface_names()
    eth = [new for new in names.values() if LEGACY_NAME.match(new)]
    if not eth:
        return
    renamed = ["%s → %s" % (old, new) for old, new in names.items() if old != new]
    reason = "interface names %s hold on the new NIC model (no predictable renaming)" % ", ".join(eth)
    if renamed:
        reason += "; renamed %s" % ", ".join(renamed)
    data = {"args": ["net.ifnames=0", "biosdevname=0"]}
    if renamed:
        data["renamed"] = {old: new for old, new in names.items() if old != new}
    yield Change("kernel-args", "net.ifnames=0 biosdevname=0", R.NET_IFNAMES, reason, data)


def superseded_files(ctx, nets):
    """The source's network files the rendered ones do not overwrite: each would come back from the overlay
    with its MAC binding or its old addressing, beside the rendered configuration."""
    rendered = interface_files(nets)
    names = ", ".join(c.subject for c in nets)
    for path in ctx.report.network_files:
        if path not in rendered:
            yield Change("remove-file", path, R.NET_FILES,
                         "a %s file of the source that configured %s or the NICs under them: the rendered files "
                         "configure them now; from the overlay it would come back beside them, with any MAC "
                         "binding or old address it holds" % (ctx.report.network_manager, names))


def rules(ctx):
    nets = list(interface_changes(ctx))
    yield from nets
    yield from superseded_files(ctx, nets)
    yield from hosts_change(ctx)
    yield from mac_bindings(ctx)
    yield from ifnames(ctx)
