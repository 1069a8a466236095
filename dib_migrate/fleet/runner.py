"""`dib-migrate fleet`: every (host, target) of an inventory through the pipeline, on Celery workers
(``--broker``) or in this process (``--local``), with progress and a summary at the end.

The client submits a scan task per SSH host and, when a scan is done, a task per target of that
host (hosts with a report get their target tasks at once). It follows every task through the
result backend, prints each change of stage, and sends a (host, target) again when the worker
running it is gone (its lease lapsed; see tasks.py). A failed host is a row in the summary,
never a stop.
"""
import sys
import time

from ..errors import BuildError
from . import pipeline, summary

MAX_ATTEMPTS = 3


class Progress:
    """One line per change of a (host, target)'s stage, with the fleet's elapsed time."""

    def __init__(self, stream=sys.stderr):
        self.stream, self.start, self.last = stream, time.monotonic(), {}

    def __call__(self, host, target, stage, detail=""):
        key = (host, target)
        if self.last.get(key) == (stage, detail):
            return
        self.last[key] = (stage, detail)
        el = int(time.monotonic() - self.start)
        what = host if target is None else "%s/%s" % (host, target)
        tail = (" (%s)" % detail) if detail else ""
        self.stream.write("[%3dm%02ds] %-28s %s%s\n" % (el // 60, el % 60, what, stage, tail))
        self.stream.flush()


def _done(progress, r):
    if r["state"] in summary.PASSED:
        progress(r["host"], r["target"], r["state"])
    else:
        err = r.get("error") or {}
        progress(r["host"], r["target"], "FAILED at %s" % err.get("stage", "?"), err.get("message", "")[:160])


def _with_scan(results, scan):
    for r in results:
        r.setdefault("stages", {})["scan"] = round(scan.get("seconds", 0.0), 2)
    return results


def run_local(hosts, outdir, dry_run=False, compress=True, force=False, progress=None):
    progress = progress or Progress()
    results = []
    for host in hosts:
        scan = pipeline.run_scan(host, outdir, progress=lambda s, d, h=host.name: progress(h, None, s, d))
        if scan["state"] != "ok":
            rs = pipeline.failed_scan_results(host, scan)
            for r in rs:
                _done(progress, r)
            results += rs
            continue
        for t in host.targets:
            r = pipeline.run_target(host, t, scan["report"], outdir, dry_run=dry_run, compress=compress, force=force,
                                    progress=lambda s, d, h=host.name, t=t: progress(h, t, s, d))
            _done(progress, r)
            results += _with_scan([r], scan)
    return results


class _Job:
    def __init__(self, kind, host, target=None, scan=None, attempt=1):
        self.kind, self.host, self.target, self.scan, self.attempt = kind, host, target, scan, attempt
        self.lease_missing_since = None
        self.seen_running = False


def run_broker(hosts, outdir, broker, dry_run=False, compress=True, force=False, progress=None, poll=1.0):
    from celery.result import AsyncResult
    from .tasks import LEASE_TTL, lease_alive, make_app
    progress = progress or Progress()
    app = make_app(broker)
    try:
        app.backend.client.ping()
    except Exception as e:
        raise BuildError("cannot reach the broker %s: %s" % (broker, e))
    outdir = str(outdir)
    pending, results = {}, []

    def submit(job):
        if job.kind == "scan":
            res = app.send_task("dib_migrate.fleet.scan", args=[job.host.to_dict(), outdir], queue=job.host.queue)
            progress(job.host.name, None, "queued", "scan")
        else:
            res = app.send_task("dib_migrate.fleet.target",
                                args=[job.host.to_dict(), job.target, job.scan["report"], outdir, dry_run, compress,
                                      force, job.attempt], queue=job.host.queue)
            progress(job.host.name, job.target, "queued", "attempt %d" % job.attempt if job.attempt > 1 else "")
        pending[res.id] = job

    for host in hosts:
        if host.ssh:
            submit(_Job("scan", host))
        else:
            for t in host.targets:
                submit(_Job("target", host, t, {"report": host.report, "seconds": 0.0}))

    while pending:
        time.sleep(poll)
        for tid, job in list(pending.items()):
            res = AsyncResult(tid, app=app)
            state = res.state
            if state in ("SUCCESS", "FAILURE"):
                del pending[tid]
                value = res.result if state == "SUCCESS" else None
                res.forget()
                if job.kind == "scan":
                    scan = value or {"state": "failed", "seconds": 0.0,
                                     "error": {"stage": "scan", "message": "task failed: %r" % res.result}}
                    if scan["state"] == "ok":
                        progress(job.host.name, None, "scanned")
                        for t in job.host.targets:
                            submit(_Job("target", job.host, t, scan))
                    else:
                        rs = pipeline.failed_scan_results(job.host, scan)
                        for r in rs:
                            _done(progress, r)
                        results += rs
                else:
                    r = value or _crashed(job, res)
                    _done(progress, r)
                    results += _with_scan([r], job.scan)
                continue
            if state == "PROGRESS" and isinstance(res.info, dict):
                progress(job.host.name, job.target, res.info.get("stage", "running"),
                         _detail(res.info))
            if state in ("STARTED", "PROGRESS"):
                job.seen_running = True
            if not job.seen_running:
                continue
            if lease_alive(app, tid):
                job.lease_missing_since = None
                continue
            now = time.monotonic()
            job.lease_missing_since = job.lease_missing_since or now
            if now - job.lease_missing_since < LEASE_TTL:
                continue
            # its worker is gone: the same work, as a new task, to any worker
            del pending[tid]
            app.control.revoke(tid)
            progress(job.host.name, job.target, "worker lost", "sending it again")
            if job.attempt >= MAX_ATTEMPTS:
                r = _crashed(job, res, "worker lost %d times" % job.attempt)
                results += _with_scan([r], job.scan or {}) if job.kind == "target" else \
                    pipeline.failed_scan_results(job.host, {"seconds": 0.0, "error": r["error"]})
                continue
            submit(_Job(job.kind, job.host, job.target, job.scan, job.attempt + 1))
    return results


def _detail(info):
    d = info.get("detail") or ""
    w = info.get("worker")
    return ("%s on %s" % (d, w)) if (w and d) else (d or w or "")


def _crashed(job, res, why=None):
    return {"host": job.host.name, "target": job.target, "state": "failed", "stages": {}, "image": None,
            "image_bytes": None, "verify": None, "attempt": job.attempt,
            "error": {"stage": "worker", "message": why or "task failed: %r" % (res.result,)}}


def run_fleet(inventory, outdir, broker=None, dry_run=False, compress=True, force=False, stream=sys.stderr,
              out=sys.stdout):
    """Run the fleet; print and write the summary; returns the results (inventory order)."""
    from pathlib import Path
    from .. import outputs
    outdir = Path(outdir).resolve()
    names = ["fleet-summary.json", "fleet-junit.xml"] + [h.name for h in inventory.hosts]
    outputs.prepare_outdir(outdir, names, option="-o")
    outputs.record(outdir, names)
    start = time.monotonic()
    progress = Progress(stream)
    if broker:
        results = run_broker(inventory.hosts, outdir, broker, dry_run, compress, force, progress)
    else:
        results = run_local(inventory.hosts, outdir, dry_run, compress, force, progress)
    order = {(h.name, t): i for i, h in enumerate(inventory.hosts) for t in h.targets}
    results.sort(key=lambda r: order.get((r["host"], r["target"]), len(order)))
    wall = round(time.monotonic() - start, 2)
    paths = summary.write(results, outdir, wall)
    out.write(summary.table(results, outdir))
    out.write("wall time %s; summary: %s\n" % (summary.secs(wall), ", ".join(str(p) for p in paths)))
    out.flush()
    return results
