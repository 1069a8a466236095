"""`dib-migrate verify IMAGE --plan PLAN`: check every Change of a Plan in a built image.

The image is opened read-only (loop device + partx, see image.py) and never booted. Each
Change is checked by its action (checks.py); a few whole-disk facts of the target (format,
Azure's MiB-aligned size) are checked too. One line per check:

    PASS <rule> <action> <subject> <detail>

Exit status: 0 all pass, 1 any failure, 2 bad input (no image, unreadable plan).
"""
import argparse
import json
import sys
from collections import namedtuple
from pathlib import Path

import yaml

from ..errors import InputError
from ..plan.model import ACTIONS, Plan
from ..resync import record
from . import checks
from .image import ImageError, open_image

# a whole-disk check shown like a Change
DiskCheck = namedtuple("DiskCheck", "rule action subject")

# every action the Plan model knows must have a check: fail at import, not in the field
_UNCHECKED = set(ACTIONS) - set(checks.CHECKS)
assert not _UNCHECKED, "verify has no check for %s" % sorted(_UNCHECKED)


class BadInput(ValueError):
    pass


def load_plan(path):
    """A Plan from the JSON (or YAML) that `dib-migrate plan --format json` writes."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise BadInput("%s: %s" % (path, e.strerror))
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise BadInput("%s: neither JSON nor YAML: %s" % (path, e))
    if isinstance(data, dict) and "plan" in data and "changes" not in data:
        data = data["plan"]
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput("%s: not a dib-migrate plan (%s: %s)" % (path, type(e).__name__, e))


def run_checks(ctx):
    rows = []
    for change in ctx.plan.changes:
        fn = checks.CHECKS.get(change.action)
        if fn is None:
            rows.append((change, False, "no check for action %r: verify is older than the plan"
                         % change.action))
            continue
        try:
            ok, detail = fn(ctx, change)
        except Exception as e:   # one broken check must not hide the others' results
            ok, detail = False, "check crashed: %s: %s" % (type(e).__name__, e)
        rows.append((change, bool(ok), detail))
    for name, ok, detail in checks.image_checks(ctx):
        rows.append((DiskCheck("image", name, ctx.plan.target), ok, detail))
    return rows


def verify(image_path, plan, plan_dir=None, overlay=None):
    """Check ``plan`` (a Plan, or a path to one) in the image; list of (change, ok, detail)."""
    if not isinstance(plan, Plan):
        plan_dir = plan_dir or Path(plan).parent
        plan = load_plan(plan)
    with open_image(image_path) as mounted:
        return run_checks(checks.Ctx(mounted, plan, plan_dir=plan_dir, overlay=overlay,
                                     resyncs=record.applied(image_path)))


def format_row(change, ok, detail):
    return "%s %s %s %s %s" % ("PASS" if ok else "FAIL", change.rule, change.action,
                               change.subject, detail)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="dib-migrate verify",
                                 description="check every Change of a Plan in a built image (read-only)")
    ap.add_argument("image")
    ap.add_argument("--plan", required=True, help="plan.json written by build (or plan --format json)")
    ap.add_argument("--overlay", help="the scan's overlay archive, to compare its files with the image's "
                    "(default: looked up beside the plan)")
    args = ap.parse_args(argv)
    try:
        if not Path(args.image).is_file():
            raise BadInput("%s: no such image" % args.image)
        rows = verify(args.image, args.plan, overlay=args.overlay)
    except (BadInput, ImageError, InputError) as e:
        print("dib-migrate verify: %s" % e, file=sys.stderr)
        return 2
    for row in rows:
        print(format_row(*row))
    failed = sum(1 for _, ok, _ in rows if not ok)
    print("%d checks, %d failed" % (len(rows), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
