"""The Plan as a sysadmin reads it before trusting a build."""
import json
import shutil
import textwrap

from . import rule_registry as R
from .actions import ACTIONS, AREAS

VERB = {a.name: a.verb for a in ACTIONS.values()}


def _chunks(text, width):
    """``text`` in pieces of at most ``width``, broken after a '/' or blank where one is near."""
    out = []
    while len(text) > width:
        cut = max(text.rfind("/", 0, width), text.rfind(" ", 0, width))
        cut = cut + 1 if cut >= width // 3 else width
        out.append(text[:cut])
        text = text[cut:]
    return out + [text]


def _data_lines(data, width):
    """-v: every data field of a Change, JSON-encoded, wrapped to ``width``."""
    lines = []
    for key in sorted(data):
        text = "%s: %s" % (key, json.dumps(data[key], sort_keys=True))
        lines += textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [key + ":"]
    return lines


def terminal_width(default=110):
    return max(80, shutil.get_terminal_size((default, 24)).columns)


def table(plan, verbose=False, width=110):
    """The Plan as text ``width`` columns wide: subjects and reasons whole, wrapped in their columns."""
    b = plan.build
    out = textwrap.wrap(
        "Plan for %s (%s %s, %s) → %s [%s], strategy %s, identity %s" % (
            plan.host, plan.distro, plan.version, plan.init_system, plan.target, b.output_format, plan.strategy,
            plan.identity), width, subsequent_indent="  ") + textwrap.wrap(
        "build: disk-image-create -a %s -t %s %s (DIB_RELEASE=%s)" % (
            b.arch, b.image_type, " ".join(b.elements), b.release), width, initial_indent="  ",
        subsequent_indent="    ", break_on_hyphens=False)
    shown = [c for c in plan.changes if verbose or c.rule != R.SVC_KEEP]
    rule_w = max([len(c.rule) for c in shown] + [8])
    # the subject column fits the longest subject up to a quarter of the line; longer ones wrap inside it
    subj_w = min(max([len(c.subject) for c in shown] + [12]), max(16, width // 4))
    for area in AREAS:
        changes = [c for c in plan.changes if c.area == area]
        kept = [c for c in changes if c.rule == R.SVC_KEEP]
        if not verbose:
            changes = [c for c in changes if c.rule != R.SVC_KEEP]
        if not changes and not kept:
            continue
        out.append("")
        out.append("%s (%d)" % (area.upper(), len(changes)))
        rows = [(VERB[c.action], c.subject, c.rule, c.reason, c.data if verbose else None) for c in changes]
        if kept and not verbose:
            rows.append(("keep", "%d services" % len(kept), R.SVC_KEEP, "states as scanned (-v lists them)", None))
        for verb, subject, rule, reason, data in rows:
            lead = 2 + 11 + subj_w + 1 + rule_w + 1
            subj = _chunks(subject, subj_w)
            body = textwrap.wrap(reason, max(24, width - lead), break_on_hyphens=False) or [""]
            for i in range(max(len(subj), len(body))):
                out.append(("  %-10s %-*s %-*s %s" % (
                    verb if i == 0 else "", subj_w, subj[i] if i < len(subj) else "", rule_w,
                    rule if i == 0 else "", body[i] if i < len(body) else "")).rstrip())
            if data:
                out += [" " * 13 + line for line in _data_lines(data, max(40, width - 13))]
    if plan.blockers:
        out.append("")
        out.append("BLOCKERS (%d): build refuses to start" % len(plan.blockers))
        rule_w = max(len(b.rule) for b in plan.blockers)
        for b in plan.blockers:
            body = textwrap.wrap("%s (%s = %s). Fix: %s" % (b.message, b.field, b.value, b.fix),
                                 max(30, width - rule_w - 3), break_on_hyphens=False)
            out.append("  %-*s %s" % (rule_w, b.rule, body[0]))
            out += [" " * (rule_w + 3) + line for line in body[1:]]
    if plan.warnings:
        out.append("")
        out.append("WARNINGS (%d)" % len(plan.warnings))
        rule_w = max(len(w.rule) for w in plan.warnings)
        for w in plan.warnings:
            body = textwrap.wrap(w.message, max(30, width - rule_w - 3), break_on_hyphens=False)
            out.append("  %-*s %s" % (rule_w, w.rule, body[0]))
            out += [" " * (rule_w + 3) + line for line in body[1:]]
    return "\n".join(out) + "\n"
