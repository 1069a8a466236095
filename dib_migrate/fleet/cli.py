"""The `fleet` and `worker` subcommands (their arguments and what they run)."""
import sys


def add_parsers(sub):
    pf = sub.add_parser("fleet", help="scan, plan, build, verify and compare every server of an inventory (Celery "
                        "or local), optionally boot each image")
    pf.add_argument("inventory", help="inventory YAML (hosts, targets, options; see README)")
    pf.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                    help="output directory (with --broker: the same path on every build host)")
    how = pf.add_mutually_exclusive_group(required=True)
    how.add_argument("--broker", metavar="redis://HOST:PORT/N", help="Celery broker of the build workers")
    how.add_argument("--local", action="store_true", help="run the pipeline in this process, one image at a time")
    pf.add_argument("--dry-run", action="store_true", help="plan, render and the exact build command; no image")
    pf.add_argument("--no-compress", action="store_true", help="do not compress qcow2 (faster builds)")
    pf.add_argument("--force", action="store_true", help="rebuild even what is unchanged since the last run")
    pf.add_argument("--boot-smoke", action="store_true",
                    help="also boot every image in qemu and wait for SSH or a login prompt on its serial console "
                    "(as the inventory's options.boot: true does per host)")
    pf.add_argument("--boot-timeout", type=int, metavar="SECONDS",
                    help="how long a boot smoke test waits (default: options.boot_timeout, else 300; "
                    "qemu without KVM takes 35-120 s)")
    pf.set_defaults(func=cmd_fleet)
    pw = sub.add_parser("worker", help="run a fleet build worker (one per build host)")
    pw.add_argument("--broker", required=True, metavar="redis://HOST:PORT/N")
    pw.add_argument("--queues", default="dib-migrate", metavar="Q[,Q...]",
                    help="queues to take tasks from (default: dib-migrate; e.g. one per release for cache locality)")
    pw.add_argument("--concurrency", type=int, default=1,
                    help="builds at once on this host (default 1, as DIB advises: builds contend for loop "
                    "devices and CPU)")
    pw.add_argument("--name", metavar="NAME", help="worker name (default: celery@<hostname>)")
    pw.set_defaults(func=cmd_worker)


def _check_broker(url):
    from ..errors import InputError
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        raise InputError("--broker", "broker", url, "not a Redis URL (redis://HOST:PORT/N)")


def cmd_fleet(args):
    from .inventory import load_inventory, with_boot
    from .runner import run_fleet
    from .summary import PASSED
    if args.broker:
        _check_broker(args.broker)
    inventory = load_inventory(args.inventory)
    if args.boot_smoke or args.boot_timeout is not None:
        inventory = with_boot(inventory, args.boot_smoke, args.boot_timeout)
    results = run_fleet(inventory, args.output, broker=args.broker, dry_run=args.dry_run,
                        compress=not args.no_compress, force=args.force, stream=sys.stderr)
    return 0 if all(r["state"] in PASSED for r in results) else 1


def cmd_worker(args):
    from .tasks import run_worker
    _check_broker(args.broker)
    run_worker(args.broker, queues=tuple(q for q in args.queues.split(",") if q), concurrency=args.concurrency,
               hostname=args.name)
    return 0
