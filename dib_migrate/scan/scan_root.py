"""The scan: every part run in order, the report and the overlay written to OUTDIR."""
import os
import time

from .cutover import LiveScan
from .boot import detect_bootloader, detect_init_system, kernel_packages, running_kernel
from .command import run
from .errors import ScanRefused
from .etc_symlinks import etc_symlinks
from .fstab import fstab_ok, parse_fstab, swap_files
from .host import detect_host
from .mounts import mounted_excludes
from .names import valid
from .network.detect import detect_network
from .osinfo import detect_arch, detect_os
from .outdir import prepare_outdir, private_tempfile, unlink_quietly
from .overlay.archive import sha256_file, write_archive
from .overlay.selection import ALWAYS_EXCLUDED, PACKAGE_CACHES, PACKAGE_DATABASES, select_overlay
from .packages.database import package_format, sort_packages
from .packages.dpkg import dpkg_packages, parse_dpkg_status
from .packages.dpkg_verify import dpkg_owned_files, dpkg_package_files
from .packages.rpm import RPM_QUERY_FORMAT, parse_rpm_qa, rpm_absent_files, rpm_command, rpm_package_files
from .platform import detect_firmware, scanned_virtualization
from .progress import Progress, human_bytes
from .root import Root, check_linux_root
from .security import detect_firewall, detect_selinux
from .units import detect_services, scanned_types
from .users import parse_accounts
from .version import SCANNER_VERSION, SCHEMA_VERSION
from .yamlwrite import dump_yaml


def scan(root_path="/", outdir=None, excludes=(), full=False, exclude_secrets=False, threads=None,
         progress=None, mounts_text=None, thorough=False, since=None, quiesce=None):
    """Scan ``root_path`` and write OUTDIR/report.yaml and the overlay; returns the report dict.

    ``since`` (a previous report) makes it a delta scan; ``quiesce`` ("svc,svc" or "auto")
    stops those services while the tree is walked and archived (cutover.py)."""
    progress = progress or Progress()
    started = time.time()
    root = Root(root_path)
    check_linux_root(root)
    live = LiveScan(root, progress, since=since, quiesce=quiesce, full=full)
    outdir = prepare_outdir(outdir)
    threads = threads or min(8, max(2, (os.cpu_count() or 1) * 2))

    progress.phase("scanning %s" % root.path)
    os_info = detect_os(root)
    os_info["arch"] = detect_arch(root)
    report = {"schema_version": SCHEMA_VERSION,
              "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "scanner": {"name": "dib-migrate", "version": SCANNER_VERSION},
              "host": detect_host(root)}
    for key, kind in (("distro", "distro"), ("version", "os_version"), ("codename", "codename")):
        if os_info.get(key) is not None and not valid(kind, os_info[key]):
            if key == "codename":
                os_info[key] = None
            else:
                raise ScanRefused("%s: unexpected os %s %r" % (root.path, key, os_info[key]))
    report["os"] = {"family": os_info["family"], "distro": os_info["distro"], "version": os_info["version"],
                    "codename": os_info["codename"], "arch": os_info["arch"]}

    progress.phase("reading the package database")
    fmt = package_format(root)
    status_records = []
    if fmt == "dpkg":
        status_records = parse_dpkg_status(root.read("/var/lib/dpkg/status", limit=1 << 30))
        packages = dpkg_packages(root, status_records)
    elif fmt == "rpm":
        text = run(rpm_command(root, "-qa", "--qf", RPM_QUERY_FORMAT))
        if text is None:
            raise ScanRefused("%s has an rpm database but rpm cannot read it (is rpm installed here?)"
                              % root.path)
        packages = parse_rpm_qa(text)
    else:
        progress.warn("no dpkg or rpm database: package list empty")
        packages = []
    packages = [p for p in sort_packages(packages) if _package_ok(p, progress)]
    names = set(p["name"] for p in packages)
    progress.phase("%d packages installed" % len(packages))

    mode = "full" if full else "changed"
    package_files = None
    if mode == "changed" and live.mode is None:     # a delta scan goes by ctime, hashes nothing
        # starts hashing threads / rpm -Va; the detections and the walk below overlap with them
        if fmt == "dpkg":
            package_files = dpkg_package_files(root, status_records, progress, threads, thorough)
        elif fmt == "rpm":
            package_files = rpm_package_files(root, progress)
    elif live.mode and fmt in ("dpkg", "rpm"):
        # a package file removed since the previous scan is a deletion resync applies: found without
        # hashing anything (dpkg's lists, rpm -Va without file digests)
        absent = dpkg_owned_files(root, status_records) if fmt == "dpkg" else rpm_absent_files(root)
        report["absent_package_files"] = absent.absent_list()

    report["platform"] = {"virtualization": scanned_virtualization(root, names),
                          "firmware": detect_firmware(root, packages)}
    init_system = detect_init_system(root, names)
    report["init_system"] = init_system
    running = running_kernel(root)
    report["kernel"] = {"running": running if running and valid("kernel", running) else None,
                        "packages": kernel_packages(packages)}
    report["bootloader"] = detect_bootloader(root, names)
    report["packages"] = packages
    progress.phase("reading services, network, fstab, accounts")
    services = detect_services(root, init_system, os_info["family"])
    report["services"] = services
    report["scanner"]["unit_types"] = list(scanned_types(init_system))
    report["network"] = detect_network(root, names, services, progress)
    report["fstab"] = [e for e in parse_fstab(root.read("/etc/fstab"), progress) if fstab_ok(e, progress)]
    report["clock"] = {"adjtime": root.read("/etc/adjtime")}
    report["firewall"] = detect_firewall(root, names, services)
    report["selinux"] = detect_selinux(root)
    report["etc_symlinks"] = etc_symlinks(root)
    users, groups = parse_accounts(root.read("/etc/passwd"), root.read("/etc/group"), progress)
    report["users"], report["groups"] = users, groups
    live.detect_stateful(services)

    hollow = set(ALWAYS_EXCLUDED) | set(PACKAGE_CACHES) | mounted_excludes(root, mounts_text)
    skip = set(PACKAGE_DATABASES) if mode == "changed" else set()
    inner_out = _inside(root, outdir)
    if inner_out:
        skip.add(inner_out)
    # a swap file is memory, not data (and as big as the RAM it backs): never captured
    for path in swap_files(report["fstab"]):
        skip.add(path)
        progress.phase("swap file %s left out of the overlay" % path)
    with live.quiesced():
        selection, archive_name, digest = _select_and_archive(
            root, mode, live, package_files, fmt, hollow, skip, excludes, exclude_secrets, outdir, progress, report)
    report["overlay"] = {"archive": archive_name, "sha256": digest, "files": selection.files,
                         "bytes": selection.bytes, "mode": live.mode or mode,
                         "excluded_secrets": bool(exclude_secrets),
                         # what the walk did not look into: compare knows the rest of the tree was seen
                         "left_out": {"trees": sorted(set(hollow) | set(skip)), "patterns": list(excludes)}}
    report["overlay"]["manifest"] = live.finish(report, selection.paths, outdir, skip, hollow, list(excludes),
                                                private_tempfile)

    header = ("dib-migrate scan report of %s (%s %s), scanned %s"
              % (report["host"]["fqdn"], os_info["distro"], os_info["version"], report["scanned_at"]))
    fileobj, tmp_report = private_tempfile(outdir, "report")
    try:
        with fileobj:
            fileobj.write(dump_yaml(report, header).encode("utf-8", "surrogateescape"))
        os.rename(tmp_report, os.path.join(outdir, "report.yaml"))
    except BaseException:
        unlink_quietly(tmp_report)
        raise
    elapsed = time.time() - started
    progress.phase("done in %.1fs: %d packages, %d services, %d interfaces; overlay %s: %d entries, %s "
                   "(archive %s)" % (elapsed, len(packages), len(services),
                                     len(report["network"]["interfaces"]), live.mode or mode, selection.files,
                                     human_bytes(selection.bytes), os.path.join(outdir, archive_name)))
    return report


def _select_and_archive(root, mode, live, package_files, fmt, hollow, skip, excludes, exclude_secrets, outdir,
                        progress, report):
    """The walk and the archive: what a --quiesce holds its services stopped for.
    Returns the selection, the archive's name and its sha256."""
    progress.phase("selecting overlay files (%s)" % (live.mode or mode))
    selection = select_overlay(root, "full" if live.mode else mode, package_files, hollow, skip, list(excludes),
                               exclude_secrets, progress, newer_than_ns=live.since_ns, live=live.changes)
    if package_files is not None:
        package_files.wait()
        progress.phase("%d package files verified (%d hashed, %s; %d unchanged since their install), "
                       "%d differ from their package"
                       % (package_files.verified_files, package_files.hashed_files,
                          human_bytes(package_files.hashed_bytes), package_files.skipped_files,
                          len(package_files.changed)))
        verify = {"method": package_files.method}
        if fmt == "dpkg":
            verify.update(files=package_files.verified_files, hashed=package_files.hashed_files,
                          skipped=package_files.skipped_files)
        report["scanner"]["verify"] = verify
        report["absent_package_files"] = package_files.absent_list()
        if report["absent_package_files"]:
            progress.phase("%d package files or directories are absent from the source (removed by its admin)"
                           % len(report["absent_package_files"]))
    selection.finalize(package_files.changed if package_files else set())
    if selection.secrets:
        progress.phase("left out %d secret files (--exclude-secrets)" % len(selection.secrets))
    progress.phase("archiving %d entries, %s" % (selection.files, human_bytes(selection.bytes)))

    fileobj, tmp_archive = private_tempfile(outdir, "overlay")
    try:
        with fileobj:
            suffix = write_archive(root, selection.paths, fileobj, progress, live.changes)
        archive_name = "overlay.tar" + suffix
        digest = sha256_file(tmp_archive)
        os.rename(tmp_archive, os.path.join(outdir, archive_name))
    except BaseException:
        unlink_quietly(tmp_archive)
        raise
    for stale in ("overlay.tar.gz", "overlay.tar.zst"):
        if stale != archive_name:
            unlink_quietly(os.path.join(outdir, stale))
    return selection, archive_name, digest


def _package_ok(p, progress):
    if valid("package", p["name"]) and valid("version", p["version"]) and valid("arch", p["arch"]):
        return True
    progress.warn("package %r left out of the report: unexpected characters" % (p,))
    return False


def _inside(root, outdir):
    base = os.path.realpath(root.path)
    out = os.path.realpath(outdir)
    if base == "/":
        return out if out != "/" else None
    if out.startswith(base + "/"):
        return out[len(base):]
    return None
