"""The fleet summary: a table for people, JSON for scripts, JUnit XML for CI systems."""
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from .pipeline import STAGES

PASSED = ("ok", "skipped", "dry-run")


def _size(n):
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def secs(s):
    if s is None:
        return "-"
    s = int(round(s))
    return "%dm%02ds" % (s // 60, s % 60)


def _verify(r):
    v = r.get("verify")
    if not v:
        return "-"
    return "%d/%d pass" % (v["checks"] - v["failed"], v["checks"])


def _compare(r):
    c = r.get("compare")
    if not c:
        return "-"
    return "%d of %d" % (c["unexplained"], c["differences"])


def _boot(r):
    b = r.get("boot")
    if not b:
        return "-"
    return "%s %s" % ("ssh" if b["reached"] == "ssh" else "login", secs(b["seconds"]))


def table(results, outdir=None):
    """The summary as text: one row per (host, target), then the errors in full.

    The stage columns are times; CHECKS is verify's passed/all, UNEXPLAINED compare's unexplained
    of all differences, UP what the boot smoke test reached (ssh or the console's login prompt) and when."""
    head = (["HOST", "TARGET", "STATE"] + [s.upper() for s in STAGES]
            + ["IMAGE", "SIZE", "CHECKS", "UNEXPLAINED", "UP"])
    rows = []
    for r in results:
        image = r.get("image") or r.get("command") or "-"
        if outdir and image != "-":
            try:
                image = os.path.relpath(image, outdir)
            except ValueError:
                pass
        stages = r.get("stages") or {}
        rows.append([r["host"], r["target"], r["state"]] + [secs(stages.get(s)) for s in STAGES]
                    + [image, _size(r.get("image_bytes")), _verify(r), _compare(r), _boot(r)])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [head] + rows]
    failed = [r for r in results if r["state"] not in PASSED]
    counts = {}
    for r in results:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    lines.append("")
    lines.append("%d image(s): %s" % (len(results), ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items()))))
    for r in failed:
        err = r.get("error") or {}
        lines.append("FAILED %s %s at %s: %s"
                     % (r["host"], r["target"], err.get("stage", "?"), err.get("message", "no error recorded")))
    return "\n".join(lines) + "\n"


def junit(results, name="dib-migrate fleet"):
    """JUnit XML: a testsuite per host, a testcase per target; a failed stage is a <failure>."""
    root = ET.Element("testsuites", name=name, tests=str(len(results)),
                      failures=str(sum(1 for r in results if r["state"] not in PASSED)))
    by_host = {}
    for r in results:
        by_host.setdefault(r["host"], []).append(r)
    for host, rs in by_host.items():
        suite = ET.SubElement(root, "testsuite", name=host, tests=str(len(rs)),
                              failures=str(sum(1 for r in rs if r["state"] not in PASSED)),
                              skipped=str(sum(1 for r in rs if r["state"] == "skipped")),
                              time="%.2f" % sum(sum((r.get("stages") or {}).values()) for r in rs))
        for r in rs:
            case = ET.SubElement(suite, "testcase", classname=host, name=r["target"],
                                 time="%.2f" % sum((r.get("stages") or {}).values()))
            if r["state"] not in PASSED:
                err = r.get("error") or {}
                f = ET.SubElement(case, "failure", type=err.get("stage", "error"),
                                  message=(err.get("message") or "")[:500])
                f.text = err.get("message") or ""
            elif r["state"] == "skipped":
                ET.SubElement(case, "skipped", message=r.get("skipped_reason", "unchanged"))
            out = "image: %s\nverify: %s\ncompare: %s unexplained\nboot: %s\nstages: %s\n" % (
                r.get("image") or "-", _verify(r), _compare(r), _boot(r),
                ", ".join("%s %s" % (s, secs((r.get("stages") or {}).get(s))) for s in STAGES))
            ET.SubElement(case, "system-out").text = out
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(results, outdir, wall_seconds=None):
    """Write fleet-summary.json and fleet-junit.xml into OUTDIR (by rename); returns their paths."""
    outdir = Path(outdir)
    paths = []
    doc = {"wall_seconds": wall_seconds, "results": results,
           "counts": {s: sum(1 for r in results if r["state"] == s) for s in sorted({r["state"] for r in results})}}
    for name, text in (("fleet-summary.json", json.dumps(doc, indent=2, sort_keys=True) + "\n"),
                       ("fleet-junit.xml", junit(results))):
        tmp = outdir / (".%s.tmp" % name)
        tmp.write_text(text)
        os.replace(tmp, outdir / name)
        paths.append(outdir / name)
    return paths
