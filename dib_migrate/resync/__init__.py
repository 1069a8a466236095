"""``dib-migrate resync IMAGE DELTA_REPORT``: bring a built image up to a delta scan, in place.

The cutover path: the image was built from a first scan while the server ran; at cutover
the apps are stopped, a delta scan (``scan --since``, with ``--quiesce``) captures what
changed, and resync lays it over the image without a rebuild: deletions first, then the
delta's files with numeric owners, modes, xattrs, ACLs and SELinux labels, by the image's
own tar inside a chroot of the image, as the overlay element lays the first overlay. The
first overlay already made the image's ids the source's, so the delta's ids are right; the
image's own accounts are merged back into the account databases a delta carries (accounts.py).

Refused (exit 2) before anything is touched: a report that is not a delta, a package set
that changed (a rebuild), a delta that writes or deletes a file the Plan rewrites (network
configuration, fstab, hosts, ...: laying the source's copy would undo the Plan), a delta
that does not follow the last one applied to this image.

The image is never half written: the work happens on a raw copy beside it, which replaces
the image (converted back to its format) only when everything succeeded.
"""
import json
import os
import signal
import subprocess
import tarfile
import sys
import time
from pathlib import Path

from .. import outputs
from ..overlay import drain
from ..errors import BuildError, InputError
from ..report import load_report
from ..scan.delta import needs_rebuild
from ..verify.image import ImageError, open_image, probe_format
from . import accounts, plan_paths, record


def _say(text):
    sys.stderr.write("resync: %s\n" % text)
    sys.stderr.flush()


def _run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise BuildError("%s failed (exit %d): %s" % (" ".join(map(str, argv[:4])), r.returncode, err))
    return r.stdout


def _decompressor(report):
    """argv that writes the delta archive as plain tar to stdout."""
    archive = str(report.overlay.path)
    return {"zstd": ["zstd", "-dcq", archive], "gzip": ["gzip", "-dc", archive]}.get(
        report.overlay.compression, ["cat", archive])


def _members(report):
    """Names (absolute, in the image) of the delta archive's members, read as a stream (a
    database's delta can be GiBs: nothing is held in memory)."""
    proc = subprocess.Popen(_decompressor(report), stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            names = ["/" + "/".join(p for p in m.name.split("/") if p not in ("", ".")) for m in tar]
        drain(proc)
    finally:
        proc.stdout.close()
        proc.wait()
    if proc.returncode != 0:
        raise InputError(report.path, "overlay.archive", report.overlay.path.name, "cannot be decompressed")
    return names


def removals(report, plan):
    """What resync removes from the image: the delta's deleted paths, then the package files
    the source lacks now (its admin removed them, before or since the previous scan: the build
    removed the earlier ones already, so removing them again changes nothing), as the build's
    overlay-absent rule does: boot paths and files the Plan writes are kept."""
    from ..plan.rules.files import boot_path
    owned = plan_paths.rewritten(plan) if plan is not None else {}
    out = list(report.delta.deleted)
    seen = set(out)
    for path, _package in report.absent_package_files:
        if path not in seen and not boot_path(path) and path not in owned:
            out.append(path)
            seen.add(path)
    return out


def check(report, plan, sidecar):
    """Everything that refuses the resync (InputError, exit 2); returns the member names."""
    if report.delta is None:
        raise InputError(report.path, "delta", None, "not a delta report (scan with --since PREVIOUS_REPORT)")
    why = needs_rebuild(report.delta.changes)
    if why:
        raise InputError(report.path, "delta.changes.packages", None,
                         "%s: the image needs a rebuild (dib-migrate build), resync cannot install packages" % why)
    if plan is not None and plan.get("host") != report.hostname:
        raise InputError(report.path, "host.hostname", report.hostname,
                         "the image's Plan is for host %r" % plan.get("host"))
    if sidecar is not None and sidecar.get("scanned_at") != report.delta.since:
        raise InputError(report.path, "delta.since.scanned_at", report.delta.since,
                         "this image was last brought to the scan of %s; apply the deltas in order (each "
                         "scanned --since the previous one)" % sidecar.get("scanned_at"))
    names = _members(report)
    if plan is not None:
        owned = plan_paths.rewritten(plan)
        clash = sorted(p for p in set(names) | set(report.delta.deleted) if p in owned)
        if clash:
            raise InputError(report.path, "overlay.archive", ", ".join(clash[:5]),
                             "the delta changes file(s) the Plan rewrites (%s); laying the source's copy would "
                             "undo the Plan: rebuild the image from a new full scan" % ", ".join(
                                 "%s: %s" % (p, owned[p]) for p in clash[:5]))
    return names


def _tar_opts(mnt):
    help_text = subprocess.run(["chroot", str(mnt), "tar", "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    if not help_text:
        raise BuildError("the image has no working tar (chroot %s tar --help)" % mnt)
    opts = ["--numeric-owner", "--same-owner", "-p"]
    for opt in ("--keep-directory-symlink", "--xattrs", "--xattrs-include=*", "--acls", "--selinux"):
        if opt.split("=")[0] in help_text:
            opts.append(opt)
        else:
            _say("warning: the image's tar lacks %s" % opt.split("=")[0])
    return opts


def apply(mnt, deleted, report, names):
    """Deletions, then the delta's members (``names``), inside a chroot of the mounted image
    (symlinks in the image resolve inside it, never on the host); the image's own accounts are
    merged back into account databases the delta carries."""
    if deleted:
        listing = b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in deleted)
        _run(["chroot", str(mnt), "xargs", "-0", "-r", "rm", "-rf", "--"], input=listing)
    with accounts.merged(mnt, names, report.delta.changes, _say):
        # decompressed on the host (the image may lack zstd), extracted by the image's tar
        unpack = subprocess.Popen(_decompressor(report), stdout=subprocess.PIPE)
        try:
            _run(["chroot", str(mnt), "tar", "-C", "/"] + _tar_opts(mnt) + ["-xf", "-"], stdin=unpack.stdout)
        finally:
            unpack.stdout.close()
            if unpack.wait() != 0:
                raise BuildError("%s: cannot be decompressed" % report.overlay.path)


def _read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise InputError(path, None, None, "cannot read the %s: %s" % (what, e.strerror))
    except ValueError as e:
        raise InputError(path, None, None, "not valid JSON: %s" % e)


def _convert_back(raw, fmt, dest):
    if fmt == "raw":
        os.replace(raw, dest)
        return
    out = ["-O", fmt]
    if fmt == "vpc":
        out += ["-o", "subformat=fixed,force_size"]
    _run(["qemu-img", "convert", "-f", "raw"] + out + [str(raw), str(dest)])


class _Terminated(BaseException):
    pass


def _on_term(signum, _frame):
    raise _Terminated("signal %d" % signum)


def resync(image, report_path, plan_path=None, dry_run=False):
    """Apply the delta report to ``image`` in place; returns a summary dict."""
    started = time.monotonic()
    image = Path(image).resolve()
    if not image.is_file():
        raise InputError(image, None, None, "no such image")
    mark = outputs.read_mark(image.parent)
    if mark is None or mark.get("kind") != "outdir" or image.name not in (mark.get("files") or ()):
        raise InputError(image, None, None, "not an image dib-migrate built (its directory's %s does not list "
                         "it); resync replaces only what dib-migrate wrote" % outputs.MARK)
    report = load_report(report_path)
    beside = image.with_name(image.name.rsplit(".", 1)[0] + ".plan.json")
    if plan_path is None and beside.is_file():
        plan_path = beside
    plan = _read_json(plan_path, "plan") if plan_path else None
    if plan is None:
        _say("warning: no %s beside the image and no --plan: files the Plan rewrote are not protected"
             % beside.name)
    sidecar = record.read(image)
    names = check(report, plan, sidecar)
    gone = removals(report, plan)
    try:
        fmt, _size = probe_format(image)
    except ImageError as e:
        raise InputError(image, None, None, str(e))
    summary = {"image": str(image), "files": len(names), "deleted": len(gone),
               "since": report.delta.since, "scanned_at": None}
    _say("%s: %d entries to lay, %d deletions (%d deleted since the previous scan, the rest package files "
         "the source lacks; delta since %s)" % (image.name, len(names), len(gone), len(report.delta.deleted),
                                                report.delta.since))
    if dry_run:
        return summary
    previous = {s: signal.signal(s, _on_term) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with outputs.staging(image.parent, image.name) as work:
            _apply_on_copy(image, fmt, work, report, gone, names)
        scanned_at = report.scanned_at
        summary["scanned_at"] = scanned_at
        # verify and compare read the image as the first overlay plus the deltas this lists
        sidecar_path = record.write(image, sidecar, report, gone)
        outputs.record(image.parent, [sidecar_path.name])
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    summary["seconds"] = round(time.monotonic() - started, 1)
    _say("done in %.1fs: %s now matches the scan of %s" % (summary["seconds"], image.name, scanned_at))
    return summary


def _apply_on_copy(image, fmt, work, report, gone, names):
    """Copy, lay the delta, convert back, rename over the image: all of it or nothing."""
    raw = work / "disk.raw"
    phase = time.monotonic()
    if fmt == "raw":
        _run(["cp", "--sparse=always", "--reflink=auto", str(image), str(raw)])
    else:
        _run(["qemu-img", "convert", "-f", fmt, "-O", "raw", str(image), str(raw)])
    _say("working copy made in %.1fs" % (time.monotonic() - phase))
    phase = time.monotonic()
    try:
        with open_image(raw, workdir=str(work), writable=True) as m:
            apply(m.root, gone, report, names)
    except ImageError as e:
        raise BuildError(str(e))
    _say("delta laid in %.1fs" % (time.monotonic() - phase))
    phase = time.monotonic()
    done = work / ("image." + image.suffix.lstrip("."))
    _convert_back(raw, fmt, done)
    os.replace(done, image)
    _say("image replaced in %.1fs" % (time.monotonic() - phase))
