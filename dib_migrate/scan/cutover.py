"""A scan of a live server, and the cutover's delta scan, as one object the scan drives.

``scan()`` creates a LiveScan first (a bad ``--since`` or ``--quiesce`` refuses the scan
before anything is read), asks it for the stateful services once the services are known,
holds its ``quiesced()`` block around the walk and the archive, and lets ``finish()`` add
the report's ``live``, ``stateful``, ``quiesce`` and ``delta`` sections and write the
manifest the next delta scan starts from.
"""
import os
from contextlib import contextmanager

from . import delta as deltas
from . import stateful
from .errors import ScanRefused
from .live import LiveChanges, owning_services
from .names import valid
from .overlay.selection import excluded_by_pattern
from .progress import human_bytes
from .quiesce import Quiesce, ServiceControl, parse_services


class LiveScan(object):

    def __init__(self, root, progress, since=None, quiesce=None, full=False, started_ns=None):
        self.root = root
        self.progress = progress
        self.started_ns = started_ns if started_ns is not None else deltas.now_ns()
        self.changes = LiveChanges()
        self.quiesce_value = quiesce
        self.quiesce = None
        self.stateful = []
        self.previous = None
        self.since_path = since
        if since is not None:
            if full:
                raise ScanRefused("--since takes changed files only; it cannot be combined with --full")
            try:
                self.previous = deltas.load_previous(since)
            except deltas.DeltaRefused as e:
                raise ScanRefused(str(e))
        if quiesce is not None:
            for name in quiesce.split(","):
                if name.strip() and name.strip() != "auto" and not valid("service", name.strip()):
                    raise ScanRefused("--quiesce: %r is not a service name" % name.strip())

    @property
    def since_ns(self):
        """Entries older than this are in the image already (None: not a delta scan)."""
        return deltas.since_ns(self.previous) if self.previous is not None else None

    @property
    def mode(self):
        return "delta" if self.previous is not None else None

    def detect_stateful(self, services):
        self.stateful = stateful.detect(self.root, [s["name"] for s in services])
        for e in self.stateful:
            self.progress.phase("stateful: %s %s at %s, %s%s" % (
                e["kind"], e["service"], e["data_dir"], human_bytes(e["bytes"]), ", running" if e["running"] else ""))
        return self.stateful

    @contextmanager
    def quiesced(self):
        """Stop the --quiesce services for the block (nothing without --quiesce)."""
        if not self.quiesce_value:
            yield
            return
        names = parse_services(self.quiesce_value, stateful.auto_services(self.stateful))
        if not names:
            self.progress.warn("--quiesce %s: no running database found, nothing to stop" % self.quiesce_value)
            yield
            return
        self.quiesce = Quiesce(ServiceControl(self.root.path), names, self.progress)
        with self.quiesce:
            yield

    def excluded(self, skip, hollow, patterns):
        """path -> True when the scan did not look at it (so its absence is no deletion)."""
        skip, hollow = tuple(skip), tuple(hollow)

        def check(path):
            if any(path == s or path.startswith(s.rstrip("/") + "/") for s in skip):
                return True
            if any(path.startswith(h.rstrip("/") + "/") for h in hollow):
                return True
            return excluded_by_pattern(path, patterns)
        return check

    def finish(self, report, members, outdir, skip, hollow, patterns, private_tempfile):
        """Add the live sections to ``report``; write the manifest; returns the manifest name."""
        # a pseudo or network mount keeps only its own entry (/proc, /sys): tar sees the mounted
        # filesystem's root and its times move, which says nothing about the server's files
        self.changes.changed -= set(hollow)
        paths = set(members)
        if self.previous is not None:
            excluded = self.excluded(skip, hollow, patterns)
            gone = deltas.deleted(self.previous, lambda p: _lexists(self.root.host(p)), excluded)
            report["delta"] = {"since": {"scanned_at": self.previous["scanned_at"],
                                         "report": os.path.abspath(self.since_path)},
                               "deleted": gone, "changes": deltas.changes(self.previous, report)}
            paths |= set(self.previous["paths"]) - set(gone)
            why = deltas.needs_rebuild(report["delta"]["changes"])
            self.progress.phase("delta since %s: %d entries changed, %d deleted%s" % (
                self.previous["scanned_at"], len(members), len(gone), "; " + why if why else ""))
        # a member that vanished before tar read it is not in the archive, nor in the image
        paths -= self.changes.vanished
        datadirs = [(e["data_dir"], e["service"]) for e in self.stateful]
        touched = list(self.changes.vanished) + list(self.changes.changed)
        report["live"] = self.changes.report(owning_services(touched, datadirs,
                                                             [s["name"] for s in report["services"]]))
        if self.changes:
            self.progress.warn("%d files vanished and %d changed while they were read (services: %s)"
                               % (len(self.changes.vanished), len(self.changes.changed),
                                  ", ".join(report["live"]["services"]) or "unknown"))
        report["stateful"] = self.stateful
        if self.quiesce is not None:
            report["quiesce"] = self.quiesce.report()
        return deltas.write_manifest(outdir, report, self.started_ns, paths, private_tempfile)


def _lexists(path):
    try:
        os.lstat(path)
        return True
    except OSError:
        return False
