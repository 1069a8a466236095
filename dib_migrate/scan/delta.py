"""``scan --since PREVIOUS_REPORT``: only what changed since an earlier scan.

Every scan writes ``manifest.json.gz`` beside its report: when it started, the overlay
paths the image has from it (cumulated over deltas), and the packages, services and
accounts it saw. A delta scan reads that, walks the tree and keeps every entry whose ctime
is not older than the previous scan's start: writing, chmod, chown, xattr and ACL changes,
renames and links all set the ctime to the current time and nothing sets it back (the same
argument as the dpkg fast path, docs/scan.md). Whatever the previous scan saw is older, and
the image already has it. Deleted files are the manifest's paths that are gone now.
Standard library only, Python 3.6 syntax.
"""
import gzip
import json
import os
import re
import time

MANIFEST = "manifest.json.gz"
MANIFEST_VERSION = 1
# kernel timestamps come from a coarse clock (a jiffy behind time.time()): take a margin,
# an entry kept for nothing costs its bytes only
MARGIN_NS = 2 * 10 ** 9


class DeltaRefused(ValueError):
    """The previous scan cannot serve as a base (exit 2)."""


def _scanned_at(report_text):
    m = re.search(r'^scanned_at: "?([0-9TZ:-]+)"?$', report_text, re.M)
    return m.group(1) if m else None


def load_previous(report_path):
    """The manifest of the scan whose report is ``report_path``."""
    try:
        with open(report_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except (OSError, IOError) as e:
        raise DeltaRefused("cannot read the previous report %s: %s" % (report_path, e.strerror))
    path = os.path.join(os.path.dirname(os.path.abspath(report_path)), MANIFEST)
    try:
        with gzip.open(path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8", "surrogateescape"))
    except (OSError, IOError, ValueError) as e:
        raise DeltaRefused("%s: no readable %s beside it (%s); it was written by an older scanner or "
                           "moved without it: run a full scan" % (report_path, MANIFEST, e))
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        raise DeltaRefused("%s: unknown manifest version %r" % (path, manifest.get("version")))
    if manifest.get("scanned_at") != _scanned_at(text):
        raise DeltaRefused("%s belongs to the scan of %s, not to %s (scanned_at %s)"
                           % (path, manifest.get("scanned_at"), report_path, _scanned_at(text)))
    return manifest


def since_ns(manifest):
    return int(manifest["started_ns"]) - MARGIN_NS


def is_new(st, threshold_ns):
    return st.st_ctime_ns >= threshold_ns


def deleted(manifest, exists, excluded):
    """The manifest's paths that are gone now (``exists(path)``), leaving out those the
    current scan does not look at (``excluded(path)``)."""
    return sorted(p for p in manifest["paths"] if not excluded(p) and not exists(p))


def _by_name(items, key):
    return dict((i[key], i) for i in items)


def changes(manifest, report):
    """Package, service and account differences between the previous scan and ``report``."""
    out = {}
    old = dict((p[0], (p[1], p[2])) for p in manifest["packages"])
    new = dict((p["name"], (p["version"], p["arch"])) for p in report["packages"])
    out["packages"] = {
        "added": sorted("%s=%s" % (n, new[n][0]) for n in set(new) - set(old)),
        "removed": sorted(n for n in set(old) - set(new)),
        "changed": sorted("%s %s -> %s" % (n, old[n][0], new[n][0]) for n in set(old) & set(new)
                          if old[n] != new[n]),
    }
    old_svc = dict(manifest["services"])
    out["services"] = sorted("%s %s -> %s" % (n, old_svc.get(n, "absent"), s["state"])
                             for n, s in _by_name(report["services"], "name").items()
                             if old_svc.get(n) != s["state"])
    out["services"] += sorted("%s %s -> absent" % (n, st) for n, st in old_svc.items()
                              if n not in _by_name(report["services"], "name"))
    for kind, idkey in (("users", "uid"), ("groups", "gid")):
        before = dict(manifest[kind])
        after = dict((a["name"], a[idkey]) for a in report[kind])
        out[kind] = {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                     "changed": sorted(n for n in set(after) & set(before) if after[n] != before[n])}
    return out


def needs_rebuild(delta_changes):
    """Why an image cannot take this delta in place (a package set that changed), or None."""
    p = delta_changes["packages"]
    parts = []
    for kind in ("added", "removed", "changed"):
        if p[kind]:
            parts.append("%s %s" % (kind, ", ".join(p[kind][:10]) + (" ..." if len(p[kind]) > 10 else "")))
    return "packages changed since the build (%s)" % "; ".join(parts) if parts else None


def write_manifest(outdir, report, started_ns, paths, private_tempfile):
    """Write OUTDIR/manifest.json.gz (under a temporary name, renamed into place)."""
    data = {"version": MANIFEST_VERSION, "scanned_at": report["scanned_at"], "started_ns": started_ns,
            "paths": sorted(paths),
            "packages": [[p["name"], p["version"], p["arch"]] for p in report["packages"]],
            "services": [[s["name"], s["state"]] for s in report["services"]],
            "users": [[u["name"], u["uid"]] for u in report["users"]],
            "groups": [[g["name"], g["gid"]] for g in report["groups"]]}
    fileobj, tmp = private_tempfile(outdir, "manifest")
    try:
        with fileobj:
            with gzip.GzipFile(fileobj=fileobj, mode="wb", mtime=0) as gz:
                gz.write(json.dumps(data, sort_keys=True).encode("utf-8", "surrogateescape"))
        os.rename(tmp, os.path.join(outdir, MANIFEST))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return MANIFEST


def now_ns():
    return int(time.time() * 1e9)
