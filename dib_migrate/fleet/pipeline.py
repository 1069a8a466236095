"""One host's pipeline: scan (over SSH, or a report given), then per target plan → build → verify.

The same functions run in a Celery worker (tasks.py) and in-process (``fleet --local``). Each
returns a plain dict (JSON-safe: it travels through the broker) and never raises for a failure
of the host: the error is recorded with its stage, so one broken server never stops the others.

Layout under OUTDIR::

    <host>/scan/report.yaml, overlay.tar.*      what scan --ssh fetched
    <host>/<target>/<host>-<target>.<ext>       the image (renamed into place only when complete)
    <host>/<target>/<host>-<target>.plan.json, .log, .elements, verify.txt, result.json

``result.json`` makes re-runs resumable: a (host, target) whose report (less its scan time),
options, target and dib-migrate version hash to the same key, whose image exists and whose verify
passed, is skipped.
"""
import contextlib
import hashlib
import io
import json
import os
import re
import socket
import time
import traceback
from pathlib import Path

from .. import __version__, outputs
from ..errors import BuildError, InputError
from .inventory import Host, to_options

STAGES = ("scan", "plan", "build", "verify")
RESULT = "result.json"
# what the pipeline writes beside build's own outputs in a (host, target) directory
OWN_FILES = (RESULT, "progress.log", "verify.txt", "build-command.sh")
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
    from .ssh import scan_ssh, scan_options
    progress("scan", "over ssh %s" % host.ssh)
    o = host.options
    try:
        stream = _ProgressStream(lambda msg: progress("scan", msg.split(": ", 1)[-1]))
        report = scan_ssh(host.ssh, scan_dir(outdir, host.name), host.ssh_options,
                          scan_options(o.get("scan_exclude") or (), o.get("scan_full", False),
                                       o.get("exclude_secrets", False)), stream=stream)
    except Exception as e:
        return {"host": host.name, "state": "failed", "seconds": time.monotonic() - start, "error": _error("scan", e)}
    return {"host": host.name, "state": "ok", "report": str(report), "seconds": time.monotonic() - start}


def job_key(report_path, host, target, dry_run, compress):
    """What a finished (host, target) depends on."""
    import yaml
    with open(report_path) as f:
        data = yaml.safe_load(f)
    if isinstance(data, dict):
        data.pop("scanned_at", None)    # a rescan of an unchanged server is the same report
    blob = json.dumps({"report": data, "options": dict(host.options), "target": target, "version": __version__,
                       "dry_run": dry_run, "compress": compress}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _previous(jobdir, key):
    try:
        prev = json.loads((jobdir / RESULT).read_text())
    except (OSError, ValueError):
        return None
    if prev.get("key") != key or prev.get("state") not in ("ok", "dry-run"):
        return None
    if prev.get("state") == "ok" and not (prev.get("image") and Path(prev["image"]).is_file()):
        return None
    return prev


def _write_json(path, data):
    tmp = path.with_name(".%s.tmp" % path.name)
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


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
    """Plan, build and verify one (host, target); returns the result dict (also written as result.json)."""
    host = host if isinstance(host, Host) else Host.from_dict(host)
    jobdir = job_dir(outdir, host.name, target)
    result = {"host": host.name, "target": target, "state": "failed", "stages": {}, "image": None,
              "image_bytes": None, "verify": None, "error": None, "worker": socket.gethostname(),
              "pid": os.getpid(), "attempt": attempt, "dry_run": dry_run, "version": __version__}
    stage = "plan"
    try:
        key = result["key"] = job_key(report_path, host, target, dry_run, compress)
        prev = None if force else _previous(jobdir, key)
        if prev is not None:
            prev.update(state="skipped", skipped_reason="report, options and version unchanged; %s exists"
                        % ("image and verify result" if prev.get("image") else "dry-run result"))
            progress("skipped", "unchanged since the last run")
            return prev
        # a directory dib-migrate did not write is refused (exit 2 for that host), never overwritten
        outputs.prepare_outdir(jobdir, OWN_FILES, option="-o")
        outputs.record(jobdir, OWN_FILES)
        (jobdir / RESULT).unlink(missing_ok=True)
        from ..plan import make_plan
        from ..report import load_report
        t0 = time.monotonic()
        progress("plan", "")
        report = load_report(report_path)
        plan = make_plan(report, target, to_options(host))
        result["stages"]["plan"] = round(time.monotonic() - t0, 2)
        result["warnings"] = [w.message for w in plan.warnings]
        stage = "build"
        result.update(_build(host, report, plan, jobdir, dry_run, compress, progress))
        result["stages"]["build"] = result.pop("seconds")
        if not dry_run:
            stage = "verify"
            result["verify"], result["stages"]["verify"] = _verify(result["image"], jobdir, plan, report, progress)
            if result["verify"]["failed"]:
                raise BuildError("verify: %d of %d checks failed: %s" % (
                    result["verify"]["failed"], result["verify"]["checks"], "; ".join(result["verify"]["failures"])))
        result["state"] = "dry-run" if dry_run else "ok"
    except Exception as e:
        result["error"] = _error(stage, e)
    if (jobdir / outputs.MARK).is_file():
        _write_json(jobdir / RESULT, result)
    return result


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


def failed_scan_results(host, scan):
    """The per-target results of a host whose scan failed."""
    host = host if isinstance(host, Host) else Host.from_dict(host)
    return [{"host": host.name, "target": t, "state": "failed", "stages": {"scan": round(scan["seconds"], 2)},
             "image": None, "image_bytes": None, "verify": None, "error": scan["error"], "attempt": 1}
            for t in host.targets]
