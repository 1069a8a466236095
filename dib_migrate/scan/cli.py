"""The scanner's command line (dib-migrate scan, python3 -m dib_migrate.scan, the zipapp)."""
import argparse
import sys

from .errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, ScanRefused
from .progress import Progress
from .quiesce import Interrupted
from .scan_root import scan


def build_parser():
    parser = argparse.ArgumentParser(
        prog="dib-migrate scan",
        description="Capture a Linux root filesystem as a dib-migrate scan report plus overlay archive.")
    parser.add_argument("--root", default="/", help="root filesystem to scan (default: the live system /)")
    parser.add_argument("-o", "--output", dest="outdir", required=True,
                        help="output directory for report.yaml and overlay.tar.*")
    parser.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                        help="shell pattern of in-root paths to leave out of the overlay (repeatable)")
    parser.add_argument("--full", action="store_true",
                        help="archive the whole root filesystem instead of only changed and unowned files")
    parser.add_argument("--exclude-secrets", action="store_true",
                        help="leave out shadow files, SSH host private keys and private keys under /root "
                        "and /home")
    parser.add_argument("--thorough", action="store_true",
                        help="hash every dpkg package file, also those whose ctime shows they are unchanged "
                        "since their package was installed")
    parser.add_argument("--threads", type=int, default=None,
                        help="hashing threads (default: 2 x CPUs, max 8)")
    parser.add_argument("--quiesce", metavar="SERVICE[,SERVICE...]|auto",
                        help="stop these services while their data is captured and start them again right after "
                        "(a consistent copy; downtime printed and recorded); auto: the running databases found")
    parser.add_argument("--since", metavar="PREVIOUS_REPORT",
                        help="delta scan: only what changed since that scan (its manifest.json.gz must be beside "
                        "it), for `dib-migrate resync` at cutover")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    progress = Progress(quiet=args.quiet)
    try:
        scan(args.root, args.outdir, excludes=args.exclude, full=args.full,
             exclude_secrets=args.exclude_secrets, threads=args.threads, progress=progress,
             thorough=args.thorough, since=args.since, quiesce=args.quiesce)
    except ScanRefused as e:
        sys.stderr.write("dib-migrate scan: error: %s\n" % e)
        return EXIT_REFUSED
    except (KeyboardInterrupt, Interrupted):
        sys.stderr.write("dib-migrate scan: interrupted\n")
        return EXIT_FAILED
    except (OSError, RuntimeError) as e:
        sys.stderr.write("dib-migrate scan: failed: %s\n" % e)
        return EXIT_FAILED
    return EXIT_OK
