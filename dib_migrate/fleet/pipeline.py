"""One host's pipeline: scan (over SSH, or a report given), then per target plan → build → verify →
compare (→ boot, the smoke test, when the host's options ask for it).

The same functions run in a Celery worker (tasks.py) and in-process (``fleet --local``). Each
returns a plain dict (JSON-safe: it travels through the broker) and never raises for a failure
of the host: the error is recorded with its stage, so one broken server never stops the others.

Layout under OUTDIR::

    <host>/scan/report.yaml, overlay.tar.*      what scan --ssh fetched
    <host>/<target>/<host>-<target>.<ext>       the image (renamed into place only when complete)
    <host>/<target>/<host>-<target>.plan.json, .log, .elements, verify.txt, compare.txt,
                    boot-console.log, result.json

``result.json`` makes re-runs resumable: a (host, target) whose report (less its scan time),
options, target and dib-migrate version hash to the same key, whose image exists and whose verify
and compare passed, is skipped. The boot smoke test is not part of the key: asking for it later
boots the existing image, without a rebuild.
"""
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import time
import traceback
from pathlib import Path

from .. import __version__, outputs
from ..errors import BuildError, InputError
from .inventory import Host, scan_arguments, to_options

STAGES = ("scan", "plan", "build", "verify", "compare", "boot")
RESULT = "result.json"
# what the pipeline writes beside build's own outputs in a (host, target) directory
OWN_FILES = (RESULT, "progress.log", "verify.txt", "compare.txt", "boot-console.log", "build-command.sh")
# options that only decide whether (and how long) the finished image is booted: not part of the key
BOOT_OPTIONS = ("boot", "boot_timeout")
BOOT_TIMEOUT = 300
FIRST_DIFFERENCES = 5
PHASE_LINE = re.compile(r"phase: (\S+)")


def host_dir(outdir, name):
    return Path(outdir) / name


def job_dir(outdir, name, target):
    return Path(outdir) / name / target


def scan_dir(outdir, name):
    return Path(outdir) / name / "scan"


def _noop(*_args):
    pass


def _error(stage, exc):
    if isinstance(exc, (InputError, BuildError)) or exc.__class__.__name__ == "SshScanError":
        msg = str(exc)
    else:   # a bug, not the host's fault: keep the place it happened
        msg = "%s: %s (%s)" % (type(exc).__name__, exc, traceback.format_exc(limit=-2).strip().splitlines()[-3])
    return {"stage": stage, "message": msg}


def run_scan(host, outdir, progress=_noop):
    """Scan one host (or take its report); {'state', 'report', 'seconds', 'error'}."""
    host = host if isinstance(host, Host) else Host.from_dict(host)
    start = time.monotonic()
    if host.report:
        return {"host": host.name, "state": "ok", "report": host.report, "seconds": 0.0}
    from .ssh import scan_ssh
    progress("scan", "over ssh %s" % host.ssh)
    try:
        stream = _ProgressStream(lambda msg: progress("scan", msg.split(": ", 1)[-1]))
        report = scan_ssh(host.ssh, scan_dir(outdir, host.name), host.ssh_options, scan_arguments(host),
                          stream=stream)
    except Exception as e:
        return {"host": host.name, "state": "failed", "seconds": time.monotonic() - start, "error": _error("scan", e)}
    return {"host": host.name, "state": "ok", "report": str(report), "seconds": time.monotonic() - start}


def job_key(report_path, host, target, dry_run, compress):
    """What a finished (host, target) depends on (the boot smoke test is not part of it)."""
    import yaml
    with open(report_path) as f:
        data = yaml.safe_load(f)
    if isinstance(data, dict):
        data.pop("scanned_at", None)    # a rescan of an unchanged server is the same report
        overlay = data.get("overlay")
        if isinstance(overlay, dict) and overlay.get("archive"):
            overlay["sha256"] = overlay_digest(Path(report_path).parent / overlay["archive"])
    options = {k: v for k, v in host.options.items() if k not in BOOT_OPTIONS}
    blob = json.dumps({"report": data, "options": options, "target": target, "version": __version__,
                       "dry_run": dry_run, "compress": compress}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def overlay_digest(archive):
    """The overlay's content: names, types, owners, modes, mtimes, extended attributes and data, but
    not the access and change times its pax headers also carry. Reading a file sets its atime, so
    the archive's own sha256 changes from one scan of an unchanged server to the next."""
    from ..overlay import _open
    h = hashlib.sha256()
    tar, proc = _open(archive, "zstd" if str(archive).endswith(".zst") else "gzip")
    try:
        with tar:
            for m in tar:
                pax = sorted((k, v) for k, v in m.pax_headers.items() if k not in ("atime", "ctime", "mtime"))
                h.update(json.dumps([m.name, m.type.decode("latin-1"), m.mode, m.uid, m.gid, m.uname, m.gname,
                                     m.size, int(m.mtime), m.linkname, pax]).encode("utf-8", "surrogateescape"))
                if m.isfile():
                    f = tar.extractfile(m)
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
    finally:
        if proc is not None:
            proc.stdout.close()
            proc.wait()
    return h.hexdigest()


def _previous(jobdir, key):
    """The last result of this (host, target) if it still holds: same key, and an image that passed
    verify and compare (a failed boot smoke test keeps the image: only the boot is run again)."""
    try:
        prev = json.loads((jobdir / RESULT).read_text())
    except (OSError, ValueError):
        return None
    if prev.get("key") != key:
        return None
    if prev.get("state") == "dry-run":
        return prev
    failed_boot = prev.get("state") == "failed" and (prev.get("error") or {}).get("stage") == "boot"
    if prev.get("state") != "ok" and not failed_boot:
        return None
    if not (prev.get("image") and Path(prev["image"]).is_file() and prev.get("plan")) or prev.get("compare") is None:
        return None
    return prev


def _write_json(path, data):
    _write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class _ProgressStream(io.TextIOBase):
    """A text stream that hands each line to a callback (DIB's phases, the SSH scan's steps)."""

    def __init__(self, callback, keep=None):
        self.callback, self.keep, self.buf = callback, keep, ""

    def write(self, s):
        if self.keep:
            self.keep.write(s)
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            if line.strip():
                self.callback(line.strip())
        return len(s)


def run_target(host, target, report_path, outdir, dry_run=False, compress=True, force=False,
               progress=_noop, attempt=1):
    """Plan, build, verify, compare (and boot) one (host, target); returns the result dict (also written
    as result.json)."""
    host = host if isinstance(host, Host) else Host.from_dict(host)
    jobdir = job_dir(outdir, host.name, target)
    boot = bool(host.options.get("boot")) and not dry_run
    result = {"host": host.name, "target": target, "state": "failed", "stages": {}, "image": None,
              "image_bytes": None, "verify": None, "compare": None, "boot": None, "error": None,
              "worker": socket.gethostname(), "pid": os.getpid(), "attempt": attempt, "dry_run": dry_run,
              "version": __version__}
    at = {"stage": "plan"}
    try:
        key = result["key"] = job_key(report_path, host, target, dry_run, compress)
        prev = None if force else _previous(jobdir, key)
        if prev is not None and not (boot and not (prev.get("boot") or {}).get("reached")):
            prev.update(state="skipped", error=None, skipped_reason="report, options and version unchanged; %s exists"
                        % ("image and its verify and compare results" if prev.get("image") else "dry-run result"))
            progress("skipped", "unchanged since the last run")
            return prev
        if prev is not None:
            # built, verified and compared already: only the boot smoke test is new (or failed last time)
            result.update({k: prev.get(k) for k in ("image", "image_bytes", "verify", "compare", "plan", "warnings")})
            result["stages"] = {k: v for k, v in (prev.get("stages") or {}).items() if k != "boot"}
            result["reused"] = "image, verify and compare of the last run"
            progress("boot", "the last run's image")
            (jobdir / RESULT).unlink(missing_ok=True)
        else:
            # a directory dib-migrate did not write is refused (exit 2 for that host), never overwritten
            outputs.prepare_outdir(jobdir, OWN_FILES, option="-o")
            outputs.record(jobdir, OWN_FILES)
            (jobdir / RESULT).unlink(missing_ok=True)
            _make(host, target, report_path, jobdir, dry_run, compress, progress, result, at)
        if boot:
            at["stage"] = "boot"
            result["boot"], result["stages"]["boot"] = _boot(result, jobdir, host, progress)
        result["state"] = "dry-run" if dry_run else "ok"
    except Exception as e:
        result["error"] = _error(at["stage"], e)
    if (jobdir / outputs.MARK).is_file():
        _write_json(jobdir / RESULT, result)
    return result


def _make(host, target, report_path, jobdir, dry_run, compress, progress, result, at):
    """plan → build → verify → compare into ``result``; ``at['stage']`` names the stage running, so
    the caller's error names the one that raised."""
    from ..build import output_names
    from ..plan import make_plan
    from ..report import load_report
    t0 = time.monotonic()
    progress("plan", "")
    report = load_report(report_path)
    plan = make_plan(report, target, to_options(host))
    result["stages"]["plan"] = round(time.monotonic() - t0, 2)
    result["warnings"] = [w.message for w in plan.warnings]
    at["stage"] = "build"
    result.update(_build(host, report, plan, jobdir, dry_run, compress, progress))
    result["stages"]["build"] = result.pop("seconds")
    if dry_run:
        return
    result["plan"] = str(jobdir / output_names(plan)["plan"])
    at["stage"] = "verify"
    result["verify"], result["stages"]["verify"] = _verify(result["image"], jobdir, plan, report, progress)
    if result["verify"]["failed"]:
        raise BuildError("verify: %d of %d checks failed: %s" % (
            result["verify"]["failed"], result["verify"]["checks"], "; ".join(result["verify"]["failures"])))
    at["stage"] = "compare"
    result["compare"], result["stages"]["compare"] = _compare(report_path, result["image"], plan, jobdir, progress)
    n = result["compare"]["unexplained"]
    if n:
        raise BuildError("compare: %d unexplained difference%s: %s" % (
            n, "" if n == 1 else "s", "; ".join(result["compare"]["first"])))


def _build(host, report, plan, jobdir, dry_run, compress, progress):
    from ..build import build
    t0 = time.monotonic()
    progress("build", "dry run" if dry_run else "disk-image-create")
    out = {}
    with open(jobdir / "progress.log", "a") as keep:
        stream = _ProgressStream(lambda line: _phase(line, progress), keep)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            image = build(report, plan, jobdir, extra_paths=host.options.get("elements_path") or (),
                          dry_run=dry_run, compress=compress, image_size=host.options.get("image_size"),
                          stream=stream)
    if dry_run:
        (jobdir / "build-command.sh").write_text(printed.getvalue())
        out["command"] = str(jobdir / "build-command.sh")
    else:
        out["image"] = str(image)
        out["image_bytes"] = os.path.getsize(image)
    out["seconds"] = round(time.monotonic() - t0, 2)
    return out


def _phase(line, progress):
    m = PHASE_LINE.search(line)
    if m:
        progress("build", m.group(1))


def _verify(image, jobdir, plan, report, progress):
    from ..build import output_names
    from ..verify import format_row, verify
    t0 = time.monotonic()
    progress("verify", "")
    overlay = str(report.overlay.path) if report.overlay else None
    rows = verify(image, jobdir / output_names(plan)["plan"], overlay=overlay)
    text = "".join(format_row(*r) + "\n" for r in rows)
    failed = [format_row(*r) for r in rows if not r[1]]
    (jobdir / "verify.txt").write_text(text + "%d checks, %d failed\n" % (len(rows), len(failed)))
    return ({"checks": len(rows), "failed": len(failed), "failures": failed[:5]},
            round(time.monotonic() - t0, 2))


def _compare(report_path, image, plan, jobdir, progress):
    """The image against the source's report (dib_migrate.compare); compare.txt lists every difference."""
    from ..compare import AREAS, compare
    from ..compare.cli import format_row
    t0 = time.monotonic()
    progress("compare", "")
    diffs = sorted(compare(report_path, image, plan), key=lambda d: (AREAS.index(d.area), d.subject))
    bad = [format_row(d) for d in diffs if not d.explained]
    text = "".join(format_row(d) + "\n" for d in diffs)
    _write_text(jobdir / "compare.txt", text + "%d differences: %d explained by the Plan, %d unexplained\n"
                % (len(diffs), len(diffs) - len(bad), len(bad)))
    return ({"differences": len(diffs), "explained": len(diffs) - len(bad), "unexplained": len(bad),
             "first": [" ".join(b.split()) for b in bad[:FIRST_DIFFERENCES]]},
            round(time.monotonic() - t0, 2))


def _boot(result, jobdir, host, progress):
    """The boot smoke test: the image boots in qemu (as its target's cloud presents the disk) to SSH
    or a login prompt on the serial console within the host's ``boot_timeout``."""
    import tempfile
    from .. import qemu
    from ..verify import load_plan
    plan = load_plan(result["plan"])
    timeout = int(host.options.get("boot_timeout") or BOOT_TIMEOUT)
    t0 = time.monotonic()
    accel = "kvm" if qemu.kvm_usable() else "tcg"
    progress("boot", "qemu %s, up to %ds" % (accel, timeout))
    with tempfile.TemporaryDirectory(prefix="dib-migrate-boot-") as work:
        try:
            got = qemu.smoke(result["image"], work, plan.target, uefi="block-device-efi" in plan.build.elements,
                             timeout=timeout, accel=accel)
        except qemu.BootError as e:
            # the first line says what; the whole console is kept beside the image
            raise BuildError("boot: %s (console: %s)" % (str(e).splitlines()[0], jobdir / "boot-console.log"))
        finally:
            console = Path(work) / "console.log"
            if console.is_file():
                tmp = jobdir / ".boot-console.log.tmp"
                shutil.copyfile(console, tmp)
                os.replace(tmp, jobdir / "boot-console.log")
    return got, round(time.monotonic() - t0, 2)


def _write_text(path, text):
    tmp = path.with_name(".%s.tmp" % path.name)
    tmp.write_text(text)
    os.replace(tmp, path)


def failed_scan_results(host, scan):
    """The per-target results of a host whose scan failed."""
    host = host if isinstance(host, Host) else Host.from_dict(host)
    return [{"host": host.name, "target": t, "state": "failed", "stages": {"scan": round(scan["seconds"], 2)},
             "image": None, "image_bytes": None, "verify": None, "compare": None, "boot": None,
             "error": scan["error"], "attempt": 1}
            for t in host.targets]
