"""`dib-migrate compare REPORT IMAGE --plan PLAN.json`: the source against the built image.

The image's root is mounted read-only (verify's loop-device reader) and read with the
scanner's own readers (facts.py); the result is diffed against the scan report (diff.py):
host name, packages and versions, unit states, network devices, /etc/hosts, fstab,
accounts with their ids, sysctl settings, identity per the Plan's policy and the overlay's
files (content, type, owner, mode). Every difference carries the rule id of the Change that
explains it, or is **unexplained**.

REPORT is the full scan the image was built from. When `dib-migrate resync` laid delta scans
over the image (IMAGE.resync.json), the image is compared with the state they add up to
(resync/record.py): the facts of the last delta's report, the first overlay with each delta's
deletions and files laid over it.

API (for other stages)::

    from dib_migrate.compare import compare
    diffs = compare(report_path, image_path, plan)    # -> list of Difference
    unexplained = [d for d in diffs if not d.explained]
"""
from ..report import read_yaml
from ..resync.record import State, state
from ..verify import load_plan
from ..verify.image import open_image
from .diff import AREAS, Difference, differences  # noqa: F401
from .facts import dpkg_owners, root_facts
from .extras import extra_rows
from .overlay import absent_rows, compared_elsewhere, member_rows

__all__ = ["compare", "compare_root", "Difference", "AREAS"]


def compare_root(report, root, plan, overlay=None):
    """Differences between ``report`` (a report's path, or a resync.record.State: a report and
    the deltas laid over the image) and the root filesystem at ``root``."""
    if not isinstance(report, State):
        report = state(report)                 # validated (and the overlays' sha256 checked)
    source = read_yaml(report.report.path)
    if not hasattr(plan, "changes"):
        plan = load_plan(plan)
    image = root_facts(root)
    layers = report.layers(overlay)
    rows, sysctl, ident, seen = ([], None, None, set())
    if layers is not None:
        rows, sysctl, ident = member_rows(layers, root, seen)
        from .facts import resolv
        source = dict(source, resolv=resolv(ident.pop("resolv")))
        if plan.identity == "keep" and ident["machine_id"] is None and not ident["ssh_host_keys"]:
            ident = None     # the scan carried no identity (--exclude-secrets): nothing to compare
    rows = rows + absent_rows(source, root)
    from ..scan.scanner import Root
    owners = dpkg_owners(Root(str(root)), ("/etc/sysctl.d/", "/usr/lib/sysctl.d/", "/lib/sysctl.d/"))
    extra, context = extra_rows(source, root, seen, skip=compared_elsewhere) if layers is not None else ([], None)
    return differences(source, image, plan, rows, source_sysctl=sysctl, source_identity=ident,
                       image_owners=owners, extra_rows=extra, extra_context=context)


def compare(report_path, image_path, plan, overlay=None):
    """Differences between the report, with the deltas resync laid over the image, and the
    built image at ``image_path`` (mounted read-only)."""
    resynced = state(report_path, image_path)     # before mounting: bad input fails at once
    with open_image(image_path) as mounted:
        return compare_root(resynced, mounted.root, plan, overlay)
