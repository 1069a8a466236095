"""svc-libvirtd, svc-sshd, svc-network, svc-firewall, <target>-services, svc-keep.

Several rules may speak about one service; the strongest wins (user option > target rule >
common rule > the state as scanned) and the Change records the rules it overrode.
"""
import re
from dataclasses import dataclass

from ... import rule_registry as R
from ..model import Change
from .packages import removed_packages

KEEP, COMMON, TARGET, OPTION = range(4)
ACTION = {"enabled": "enable-service", "disabled": "disable-service", "masked": "mask-service"}


@dataclass(frozen=True)
class Decision:
    service: str
    state: str
    level: int
    rule: str
    why: str


def firewall_services(ctx):
    table = ctx.family.firewall_services
    names = list(table["iptables"])
    for n in table.get(ctx.report.firewall_tool, ()):
        if n not in names:
            names.append(n)
    return names


def _map_target_name(ctx, name):
    """The seed names services the Red Hat way; translate to the family's names."""
    if name in ("iptables", "ip6tables"):
        table = ctx.family.firewall_services["iptables"]
        return [name] if name in table else list(table)
    if name == "network":
        return [ctx.family.network_service()]
    return [name]


LIBVIRT_SOCKETS = re.compile(r"^(libvirtd|virtlockd|virtlogd)(-[a-z]+)?\.socket$")
# gettys on the Xen PV console (hvc0, xvc0): no such device off Xen
XEN_CONSOLE_GETTY = re.compile(r"^(serial-)?getty@(hvc|xvc)[0-9]+$")


def target_console(ctx):
    """The tty of the target's serial console (console=ttyS0,115200 -> ttyS0)."""
    for arg in ctx.target.kernel_args:
        if arg.startswith("console=ttyS"):
            return arg[len("console="):].split(",")[0]
    return "ttyS0"


def console_gettys(ctx):
    xen = [s.name for s in ctx.report.services if XEN_CONSOLE_GETTY.match(s.name) and s.state == "enabled"]
    if not xen:
        return
    tty = target_console(ctx)
    for name in xen:
        yield Decision(name, "disabled", TARGET, R.BOOT_CONSOLE,
                       "%s has no Xen console %s: a getty waiting for it stalls the boot 90 s"
                       % (ctx.target.name, name.split("@")[1]))
    yield Decision("serial-getty@" + tty, "enabled", TARGET, R.BOOT_CONSOLE,
                   "the login the source had on its Xen console (%s) moves to the serial console %s"
                   % (", ".join(xen), tty))


def decisions(ctx):
    fam, t, opts = ctx.family, ctx.target, ctx.options
    gone = {svc for pkg in removed_packages(ctx) for svc in fam.agent_services.get(pkg, ())}
    for s in ctx.report.services:
        if s.name not in gone:    # their package is removed (agent-remove)
            yield Decision(s.name, s.state, KEEP, R.SVC_KEEP, "as scanned")
    yield from console_gettys(ctx)
    yield Decision(fam.libvirt_service, "disabled", COMMON, R.SVC_LIBVIRTD,
                   "the image is not a hypervisor host on the new platform")
    # socket activation would start libvirtd anyway; disabling the service takes them (Also=)
    for s in ctx.report.services:
        if LIBVIRT_SOCKETS.match(s.name):
            yield Decision(s.name, "disabled", COMMON, R.SVC_LIBVIRTD,
                           "socket activation would start libvirtd; it goes with the service")
    if ctx.report.has_package(*fam.ssh_packages):
        yield Decision(fam.ssh_service, "enabled", COMMON, R.SVC_SSHD, "the migrated server must be reachable")
    net = fam.network_service()
    why = ("NetworkManager is installed" if net == "NetworkManager"
           else "%s brings up the kept %s config" % (net, ctx.report.network_manager))
    yield Decision(net, "enabled", COMMON, R.SVC_NETWORK, why)
    tool = ctx.report.firewall_tool
    active = ctx.family.firewall_services.get(tool, ())
    for name in firewall_services(ctx):
        if opts.firewall and name in active:
            yield Decision(name, "enabled", OPTION, R.SVC_FIREWALL,
                           "--firewall asked to keep the firewall (%s)" % tool)
        elif opts.firewall:
            yield Decision(name, "disabled", OPTION, R.SVC_FIREWALL,
                           "--firewall keeps only the tool the source ran (%s); a second one would load its "
                           "own rules over it" % tool)
        else:
            yield Decision(name, "disabled", COMMON, R.SVC_FIREWALL,
                           "no firewall asked for; the scanned rules could lock the new network out")
    if t.service_rule:
        for name in t.services_disabled:
            for mapped in _map_target_name(ctx, name):
                yield Decision(mapped, "disabled", TARGET, t.service_rule, "%s images disable %s" % (t.name, name))
        for mapped in _map_target_name(ctx, "network"):
            yield Decision(mapped, "enabled", TARGET, t.service_rule, "%s images enable network" % t.name)
    if t.azure_agent:
        yield Decision(fam.azure_agent_service, "enabled", TARGET, R.PKG_AZURE_AGENT,
                       "the Azure agent must run from the first boot")


def resolve(ctx):
    best, seen, order = {}, {}, []
    for d in decisions(ctx):
        if d.service not in best:
            order.append(d.service)
            seen[d.service] = []
        seen[d.service].append(d)
        if d.service not in best or d.level >= best[d.service].level:
            best[d.service] = d
    scanned = {s.name for s in ctx.report.services}
    for name in order:
        win = best[name]
        # a rule that spoke twice (iptables and ip6tables both map to netfilter-persistent) is cited once
        others = [d for d in seen[name] if d is not win and d.level > KEEP and d.rule != win.rule]
        overridden = sorted({d.rule for d in others if d.state != win.state})
        agreeing = sorted({d.rule for d in others if d.state == win.state})
        reason = "%s %s: %s" % (name, win.state, win.why)
        if overridden:
            reason += " (overrides %s)" % ", ".join(overridden)
        if name not in scanned:
            reason += "; not on the source, applied if the image has it"
        data = {"present": name in scanned}
        if agreeing:
            data["also"] = agreeing
        yield Change(ACTION[win.state], name, win.rule, reason, data)


def rules(ctx):
    yield from resolve(ctx)
