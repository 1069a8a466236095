"""The command line of `dib-migrate compare`; exit 0: every difference explained, 1: some are not, 2: bad input."""
import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import InputError
from ..resync import record
from ..verify import BadInput
from ..verify.image import ImageError
from . import AREAS, compare


def format_row(d):
    src = "-" if d.source is None else d.source
    img = "-" if d.image is None else d.image
    head = "%-11s %-8s %s: %s -> %s" % (
        "explained" if d.explained else "UNEXPLAINED", d.area, d.subject, _short(src), _short(img))
    if d.explained:
        return head + "  [%s] %s" % (d.rule, d.reason)
    return head + ("  (%s)" % d.reason if d.reason else "")


def _item(v):
    # a route is a dict: to=... via=...
    return " ".join("%s=%s" % kv for kv in v.items()) if isinstance(v, dict) else str(v)


def _short(v):
    if isinstance(v, list):
        text = (", " if any(isinstance(i, dict) for i in v) else " ").join(map(_item, v))
    else:
        text = _item(v)
    return text if len(text) <= 80 else text[:77] + "..."


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="dib-migrate compare",
        description="diff a built image (mounted read-only) against the source's scan report; every "
                    "difference is shown with the Plan's rule that explains it, or as UNEXPLAINED",
        epilog="Exit codes: 0 every difference explained, 1 some unexplained, 2 bad input.")
    ap.add_argument("report", help="the source's report.yaml the image was built from (its overlay archive beside "
                    "it); deltas `dib-migrate resync` laid over the image are read from IMAGE.resync.json")
    ap.add_argument("image", help="the built image (qcow2, raw, VHD)")
    ap.add_argument("--plan", required=True, help="plan.json written by build (or plan --format json)")
    ap.add_argument("--overlay", help="the first overlay archive (default: the report's)")
    ap.add_argument("--format", choices=("text", "json"), default="text")
    ap.add_argument("--all", action="store_true", help="list explained differences too (text format)")
    args = ap.parse_args(argv)
    started = time.monotonic()
    try:
        if not Path(args.image).is_file():
            raise BadInput("%s: no such image" % args.image)
        diffs = compare(args.report, args.image, args.plan, overlay=args.overlay)
        resyncs = [d.get("scanned_at") for d in record.applied(args.image)]
    except (BadInput, ImageError, InputError) as e:
        print("dib-migrate compare: %s" % e, file=sys.stderr)
        return 2
    diffs.sort(key=lambda d: (AREAS.index(d.area), d.subject))
    bad = [d for d in diffs if not d.explained]
    seconds = time.monotonic() - started
    if args.format == "json":
        print(json.dumps({"differences": [d.to_dict() for d in diffs], "unexplained": len(bad),
                          "explained": len(diffs) - len(bad), "seconds": round(seconds, 1),
                          "resyncs": resyncs},
                         indent=2, sort_keys=True, default=str))
    else:
        if resyncs:
            print("%s: with %d delta(s) laid by resync (scans of %s; %s%s)"
                  % (Path(args.image).name, len(resyncs), ", ".join(map(str, resyncs)), Path(args.image).name,
                     record.SUFFIX))
        for d in diffs:
            if args.all or not d.explained:
                print(format_row(d))
        print("%d differences: %d explained by the Plan, %d unexplained (%.1fs)"
              % (len(diffs), len(diffs) - len(bad), len(bad), seconds))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
