"""The Plan as a sysadmin reads it before trusting a build."""
import textwrap

from . import rule_registry as R
from .actions import ACTIONS, AREAS

VERB = {a.name: a.verb for a in ACTIONS.values()}


def table(plan, verbose=False, width=110):
    b = plan.build
    out = [
        "Plan for %s (%s %s, %s) → %s [%s], strategy %s, identity %s" % (
            plan.host, plan.distro, plan.version, plan.init_system, plan.target, b.output_format, plan.strategy,
            plan.identity),
        "  build: disk-image-create -a %s -t %s %s (DIB_RELEASE=%s)" % (
            b.arch, b.image_type, " ".join(b.elements), b.release)]
    for area in AREAS:
        changes = [c for c in plan.changes if c.area == area]
        kept = [c for c in changes if c.rule == R.SVC_KEEP]
        if not verbose:
            changes = [c for c in changes if c.rule != R.SVC_KEEP]
        if not changes and not kept:
            continue
        out.append("")
        out.append("%s (%d)" % (area.upper(), len(changes)))
        for c in changes:
            head = "  %-10s %-28s %-19s " % (VERB[c.action], c.subject[:28], c.rule)
            body = textwrap.wrap(c.reason, max(30, width - len(head))) or [""]
            out.append(head + body[0])
            out += [" " * len(head) + line for line in body[1:]]
        if kept and not verbose:
            out.append("  %-10s %-28s %-19s %s" % ("keep", "%d services" % len(kept), R.SVC_KEEP,
                                                   "states as scanned (-v lists them)"))
    if plan.blockers:
        out.append("")
        out.append("BLOCKERS (%d): build refuses to start" % len(plan.blockers))
        for b in plan.blockers:
            body = textwrap.wrap("%s (%s = %s). Fix: %s" % (b.message, b.field, b.value, b.fix), width - 24)
            out.append("  %-20s %s" % (b.rule, body[0]))
            out += [" " * 23 + line for line in body[1:]]
    if plan.warnings:
        out.append("")
        out.append("WARNINGS (%d)" % len(plan.warnings))
        for w in plan.warnings:
            body = textwrap.wrap(w.message, width - 24)
            out.append("  %-20s %s" % (w.rule, body[0]))
            out += [" " * 23 + line for line in body[1:]]
    return "\n".join(out) + "\n"
