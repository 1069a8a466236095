"""The fleet's Celery tasks and app, on a Redis broker (also the result backend).

One worker per build host, concurrency 1 (DIB's builds contend for loop devices and CPU).
Tasks are acknowledged late and rejected when their worker process dies, so a build killed in
the middle goes back to the queue; prefetch is 1, so a busy worker holds no other host's task.
A worker killed outright (its main process too) leaves the message unacknowledged until Redis'
visibility timeout; the fleet client does not wait that long: every running task keeps a lease
key alive in Redis (heartbeat), and the client sends the (host, target) again, to any worker,
when the lease lapses (runner.py). Images are renamed into place only when complete, so the
killed attempt never publishes anything.
"""
import os
import threading

from celery import Celery

from . import pipeline

LEASE_TTL = int(os.environ.get("DIB_MIGRATE_FLEET_LEASE_TTL", "30"))
LEASE_PREFIX = "dib-migrate:lease:"


def make_app(broker):
    app = Celery("dib_migrate.fleet", broker=broker, backend=broker)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_expires=7 * 86400,
        task_default_queue="dib-migrate",
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        # a whole-worker death is handled by the lease; the visibility timeout is the last resort and
        # must outlast any build, or Redis hands a running build to a second worker
        broker_transport_options={"visibility_timeout": int(os.environ.get(
            "DIB_MIGRATE_FLEET_VISIBILITY_TIMEOUT", str(6 * 3600)))},
    )

    @app.task(bind=True, name="dib_migrate.fleet.scan")
    def scan(self, host, outdir):
        with _Lease(app, self.request.id):
            return pipeline.run_scan(host, outdir, progress=_reporter(self))

    @app.task(bind=True, name="dib_migrate.fleet.target")
    def target(self, host, target, report, outdir, dry_run, compress, force, attempt):
        with _Lease(app, self.request.id):
            r = pipeline.run_target(host, target, report, outdir, dry_run=dry_run, compress=compress,
                                    force=force, progress=_reporter(self), attempt=attempt)
        r["worker"] = self.request.hostname
        return r

    return app


def _reporter(task):
    def progress(stage, detail):
        task.update_state(state="PROGRESS", meta={"stage": stage, "detail": detail, "pid": os.getpid(),
                                                  "worker": task.request.hostname})
    return progress


class _Lease:
    """A Redis key that exists while this task's process is alive (refreshed every TTL/3)."""

    def __init__(self, app, task_id):
        self.key = LEASE_PREFIX + task_id
        self.client = app.backend.client
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stop.wait(LEASE_TTL / 3.0):
            try:
                self.client.set(self.key, os.getpid(), ex=LEASE_TTL)
            except Exception:       # the broker may blip; the next beat tries again
                pass

    def __enter__(self):
        self.client.set(self.key, os.getpid(), ex=LEASE_TTL)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.client.delete(self.key)


def lease_alive(app, task_id):
    return bool(app.backend.client.exists(LEASE_PREFIX + task_id))


def run_worker(broker, queues=("dib-migrate",), concurrency=1, hostname=None, loglevel="INFO"):
    """`dib-migrate worker`: a Celery worker for the fleet's tasks (blocks)."""
    app = make_app(broker)
    argv = ["worker", "--loglevel", loglevel, "--concurrency", str(concurrency), "--queues", ",".join(queues),
            "--pool", "prefork", "--without-gossip", "--without-mingle"]
    if hostname:
        argv += ["--hostname", hostname]
    app.worker_main(argv)
