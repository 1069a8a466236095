"""dib-migrate: scan a Linux server, plan its migration, build the image, verify it."""
import argparse
import json
import os
import sys

import yaml

from . import rule_registry as R
from .errors import BuildError, InputError, ToolMissing
from .targets import TARGETS

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2
PACKER_HELP = ("also write Packer templates: <host>-<target>.packer.json (null builder running dib-migrate build) "
               "and <host>-<target>.provision.packer.json (qemu boots this image, with a temporary root key that its "
               "last provisioner removes)")


def _plan_args(p):
    p.add_argument("report", help="scan report (report.yaml written by `dib-migrate scan`)")
    p.add_argument("--target", "-t", required=True, metavar="TARGET",
                   help="target cloud: %s" % ", ".join(sorted(TARGETS)))
    p.add_argument("--firewall", action="store_true",
                   help="keep the firewall (iptables/ip6tables) enabled in the image")
    p.add_argument("--install-profile", metavar="FILE",
                   help="white-box migration: root password hash, keyboard, timezone, NIC changes, boot scripts")
    p.add_argument("--strategy", choices=("packages", "rootfs"), default="packages",
                   help="packages: rebuild on DIB's <distro>-minimal base with the scanned package list, then lay "
                        "the overlay (default); rootfs: a full overlay is the root filesystem")
    p.add_argument("--pin-versions", action="store_true", help="install the exact scanned package versions")
    p.add_argument("--identity", choices=("keep", "reset"), default="keep",
                   help="keep machine-id, SSH host keys and cloud-init state (default) or reset them (template)")
    p.add_argument("--network", choices=("keep", "dhcp"), default="keep",
                   help="keep each interface's scanned addressing (default) or put every interface on DHCP "
                        "(/etc/hosts follows)")
    p.add_argument("--check-mirror", action="store_true",
                   help="read the target mirror's package index and block on packages (and pinned versions) it "
                        "lacks; build refuses to start on them (implied by --pin-versions on Debian/Ubuntu)")
    p.add_argument("--mirror", metavar="URL", help="distribution mirror for --check-mirror (default: DIB's)")
    p.add_argument("--element", action="append", default=[], metavar="NAME", help="add a site element (repeatable)")
    p.add_argument("--elements-path", action="append", default=[], metavar="DIR",
                   help="directory with site elements (repeatable)")


def _options(args):
    from .options import Options, load_profile
    profile = load_profile(args.install_profile) if args.install_profile else None
    import re
    for e in args.element:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", e):
            raise InputError("--element", "element", e, "not a valid element name")
    return Options(firewall=args.firewall, profile=profile, strategy=args.strategy, pin_versions=args.pin_versions,
                   identity=args.identity, network=args.network, extra_elements=tuple(args.element))


def _packer_key(args, report, plan):
    """--packer: a fresh key pair (placed beside the outputs once they are written); the Plan gains its
    packer-provision Change."""
    import dataclasses
    from . import packer
    from .plan import make_plan
    packer.check_paths(args)
    args.packer_key_tmp, public = packer.keygen()
    return make_plan(report, args.target, dataclasses.replace(_options(args), packer_key=public))


def _load(args):
    from .plan import make_plan
    from .report import load_report
    if args.target not in TARGETS:
        raise InputError("--target", "target", args.target, "unknown target (known: %s)" % ", ".join(sorted(TARGETS)))
    report = load_report(args.report)
    plan = make_plan(report, args.target, _options(args))
    if getattr(args, "packer", False):
        plan = _packer_key(args, report, plan)
    if args.check_mirror or args.pin_versions:
        plan = _check_mirror(args, plan)
    return report, plan


def _few(names, most=10):
    return ", ".join(names[:most]) + (" and %d more" % (len(names) - most) if len(names) > most else "")


def _check_mirror(args, plan):
    """Add preflight-mirror findings; the check reads the network, so it stays out of make_plan."""
    import dataclasses
    from . import mirror
    from .plan.model import Blocker, Warning
    if not mirror.supported(plan):
        if not args.check_mirror:
            return plan
        return dataclasses.replace(plan, warnings=plan.warnings + (
            Warning(R.PREFLIGHT_MIRROR, "no mirror check for %s; the build will tell" % plan.distro),))
    sys.stderr.write("checking %s %s packages against the mirror...\n" % (plan.distro, plan.build.release))
    index = mirror.fetch_index(plan.family, plan.distro, plan.build.release, plan.build.arch, args.mirror)
    names, pins = mirror.missing(plan, index)
    found = []
    if names:
        found.append(Blocker(R.PREFLIGHT_MIRROR, "the mirror lacks %d package(s): %s" % (len(names), _few(names)),
                             "drop them from the report's packages or point --mirror at a mirror that has them",
                             "packages", ", ".join(names)))
    if pins:
        found.append(Blocker(R.PREFLIGHT_MIRROR, "the mirror lacks %d pinned version(s): %s" % (
            len(pins), _few(pins)), "build without --pin-versions, or point --mirror at a mirror that keeps "
            "old versions", "packages[].version", ", ".join(pins)))
    return dataclasses.replace(plan, blockers=plan.blockers + tuple(found))


def cmd_plan(args):
    from .plan_table import table, terminal_width
    _report, plan = _load(args)
    if args.format == "json":
        print(json.dumps(plan.to_dict(), indent=2, sort_keys=True))
    elif args.format == "yaml":
        print(yaml.safe_dump(plan.to_dict(), default_flow_style=False, sort_keys=False), end="")
    else:
        print(table(plan, verbose=args.verbose, width=terminal_width()), end="")
    return EXIT_OK


def _refuse_delta(args, report):
    if report.delta is not None:
        raise InputError(args.report, "overlay.mode", "delta",
                         "a delta scan holds only what changed since %s: apply it to the image built from "
                         "that scan with `dib-migrate resync IMAGE %s`" % (report.delta.since, args.report))


def cmd_render(args):
    try:
        return _render(args)
    finally:
        _drop_key(args)


def _drop_key(args):
    import shutil
    if getattr(args, "packer_key_tmp", None):
        shutil.rmtree(args.packer_key_tmp, ignore_errors=True)


def _render(args):
    from .render import render
    report, plan = _load(args)
    _refuse_delta(args, report)
    render(plan, report, args.output, extra_paths=args.elements_path)
    print("element set for %s (%s) written to %s" % (plan.host, plan.target, args.output))
    print("build it with: diskimage-builder %s/image.yaml" % args.output)
    if args.packer:
        _write_packer(args, plan)
    return EXIT_OK


def _write_packer(args, plan):
    from pathlib import Path
    from . import outputs, packer
    from .build import output_names
    outdir = Path(args.output).resolve()
    if args.func is cmd_render:
        # the element set's image (`diskimage-builder DIR/image.yaml`) carries the key; pattern 1
        # builds afresh beside it, since a build's OUTDIR cannot be an element set
        source, build_dir = outdir / ("%s-%s.%s" % (plan.host, plan.target, plan.build.image_type)), \
            Path(str(outdir) + "-image")
    else:
        outputs.prepare_outdir(outdir, packer.files(plan))
        source, build_dir = outdir / output_names(plan)["image"], outdir
    first, second = packer.write_templates(plan, args.report, outdir, packer.build_options(args),
                                           args.packer_key_tmp, source, build_dir)
    if args.func is not cmd_render:
        outputs.record(outdir, packer.files(plan))
    out = sys.stdout if args.func is cmd_render else sys.stderr
    out.write("Packer pattern 1 (null builder runs dib-migrate build into %s): packer build %s\n" % (build_dir, first))
    out.write("Packer pattern 2 (qemu boots %s with its temporary key, provisioners run, the key goes): "
              "packer build %s\n" % (source, second))
    return first, second


def cmd_build(args):
    try:
        return _build(args)
    finally:
        _drop_key(args)


def _build(args):
    import time
    from pathlib import Path
    from .build import build, output_names, summary
    start = time.monotonic()
    report, plan = _load(args)
    if args.packer:
        # refuse an operator's file under a template's name before minutes of building, not after
        from . import outputs, packer
        outputs.prepare_outdir(Path(args.output).resolve(), packer.files(plan))
    image = build(report, plan, args.output, extra_paths=args.elements_path, dry_run=args.dry_run,
                  compress=not args.no_compress, image_size=args.image_size)
    if args.dry_run and args.packer:
        _write_packer(args, plan)     # the templates are data, like the element set a dry run renders
    if image:
        templates = _write_packer(args, plan) if args.packer else ()
        sys.stderr.write(summary(image, plan, time.monotonic() - start, packer_templates=templates[1:],
                                 plan_path=Path(image).parent / output_names(plan)["plan"]))
        print(image)
    return EXIT_OK


def cmd_targets(args):
    for name in sorted(TARGETS):
        t = TARGETS[name]
        print("%-10s %-6s %s" % (name, t.output_format, t.summary))
        print("%-10s %-6s rules: %s" % ("", "", ", ".join(t.all_rules)))
    return EXIT_OK


def cmd_rules(args):
    print(R.table(args.format), end="")
    return EXIT_OK


def cmd_scan(argv):
    if any(a == "--ssh" or a.startswith("--ssh=") for a in argv):
        from .fleet import ssh
        return ssh.main(argv)
    from .scan import scanner
    return scanner.main(argv)


def cmd_resync(args):
    from .resync import resync
    summary = resync(args.image, args.report, plan_path=args.plan, dry_run=args.dry_run)
    if not args.dry_run:
        print(summary["image"])
    return EXIT_OK


def cmd_verify(argv):
    from .verify import cli as verify_cli
    return verify_cli.main(argv)


def cmd_compare(argv):
    from .compare import cli as compare_cli
    return compare_cli.main(argv)


def parser():
    p = argparse.ArgumentParser(prog="dib-migrate", description=__doc__,
                                epilog="Exit codes: 0 success, 1 build or verify failure, 2 bad input or a "
                                       "missing host tool. --debug (any position) shows tracebacks.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("scan", help="scan a live server or a mounted root into a report + overlay", add_help=False)
    pp = sub.add_parser("plan", help="show every difference the image will have from the source")
    _plan_args(pp)
    pp.add_argument("--format", choices=("table", "json", "yaml"), default="table")
    pp.add_argument("--verbose", "-v", action="store_true", help="list services kept as scanned and each Change's data")
    pp.set_defaults(func=cmd_plan)
    pr = sub.add_parser("render", help="write the DIB element set (data only) and a diskimage-builder YAML")
    _plan_args(pr)
    pr.add_argument("-o", "--output", required=True, metavar="DIR")
    pr.add_argument("--packer", action="store_true", help=PACKER_HELP)
    pr.set_defaults(func=cmd_render)
    pb = sub.add_parser("build", help="render, run disk-image-create and convert to the target's format")
    _plan_args(pb)
    pb.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    pb.add_argument("--dry-run", action="store_true", help="print the disk-image-create command; build nothing")
    pb.add_argument("--no-compress", action="store_true", help="do not compress qcow2 (faster builds)")
    pb.add_argument("--image-size", type=float, metavar="GB", help="image size (default: fitted by DIB)")
    pb.add_argument("--packer", action="store_true", help=PACKER_HELP)
    pb.set_defaults(func=cmd_build)
    sub.add_parser("verify", help="check a built image against its Plan", add_help=False)
    px = sub.add_parser("resync", help="apply a delta scan (scan --since) to a built image in place, no rebuild",
                        epilog="The image is worked on as a copy beside it and replaced only on success.")
    px.add_argument("image", help="the image built from the earlier scan (raw, qcow2 or fixed VHD)")
    px.add_argument("report", help="the delta scan's report.yaml")
    px.add_argument("--plan", metavar="PLAN.json",
                    help="the image's Plan (default: plan.json beside the image, as build writes it)")
    px.add_argument("--dry-run", action="store_true", help="check and say what would be laid; change nothing")
    px.set_defaults(func=cmd_resync)
    sub.add_parser("compare", help="diff a built image against the source's report; name what explains each "
                   "difference", add_help=False)
    pt = sub.add_parser("targets", help="list targets, formats and the rules each adds")
    pt.set_defaults(func=cmd_targets)
    pu = sub.add_parser("rules", help="list the rules: id, area, what each does, where it comes from")
    pu.add_argument("--format", choices=("table", "markdown"), default="table",
                    help="markdown: the README's rule table")
    pu.set_defaults(func=cmd_rules)
    from .fleet.cli import add_parsers as fleet_parsers
    fleet_parsers(sub)
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug anywhere shows the traceback of an unexpected error instead of a one-line message
    debug = "--debug" in argv or bool(os.environ.get("DIB_MIGRATE_DEBUG"))
    argv = [a for a in argv if a != "--debug"]
    try:
        # scan and verify have their own parsers (scan must run alone on old servers)
        if argv and argv[0] == "scan":
            return cmd_scan(argv[1:])
        if argv and argv[0] == "verify":
            return cmd_verify(argv[1:])
        if argv and argv[0] == "compare":
            return cmd_compare(argv[1:])
        p = parser()
        args = p.parse_args(argv)
        if not getattr(args, "func", None):
            p.print_help()
            return EXIT_INPUT
        return args.func(args)
    except InputError as e:
        sys.stderr.write("dib-migrate: error: %s\n" % e)
        return EXIT_INPUT
    except ToolMissing as e:
        sys.stderr.write("dib-migrate: error: %s\n" % e)
        return EXIT_INPUT
    except BuildError as e:
        sys.stderr.write("dib-migrate: build failed: %s\n" % e)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        # the environment said no (disk full, read-only, permission): name the path, no traceback
        if debug:
            raise
        where = e.filename or "(no path)"
        sys.stderr.write("dib-migrate: error: %s: %s\n" % (where, e.strerror or e))
        return EXIT_INPUT
    except Exception as e:  # noqa: B902 -- the last line of defence: a user never sees a traceback
        if debug:
            raise
        sys.stderr.write("dib-migrate: internal error: %s: %s (run again with --debug for the traceback, and "
                         "please report it)\n" % (type(e).__name__, str(e)[:300]))
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
