"""``scan --quiesce``: stop services while their data is captured, start them right after.

A database stopped by its own service manager writes a shutdown checkpoint and leaves its
data directory consistent on disk: copying that is exact, with nothing to replay at first
boot. PostgreSQL and MariaDB do have online methods (pg_basebackup / a low-level backup,
mariabackup), but they need replication roles, extra tools or WAL archiving the server may
not have; a stop needs nothing, and its cost is measured and recorded (the downtime).

Every service is left as it was, whatever happens: a failing stop aborts the scan and
starts again what was already stopped, and SIGINT, SIGTERM, SIGHUP and SIGQUIT are turned
into an exception so the restart runs before the scan exits (only SIGKILL cannot be
caught: the restart commands are printed before anything is stopped). Standard library
only, Python 3.6 syntax.
"""
import os
import signal
import subprocess
import time

SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n))


class QuiesceError(RuntimeError):
    """A service could not be stopped (the scan aborts) or started again."""


class Interrupted(BaseException):
    """A signal arrived while services were stopped (BaseException: no ``except Exception``
    on the way may swallow it before the services are started again)."""

    def __init__(self, signum):
        BaseException.__init__(self, "interrupted by signal %d" % signum)
        self.signum = signum


def _run(argv, env=None):
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    except OSError as e:
        return 127, "%s: %s" % (argv[0], e.strerror)
    out = proc.communicate()[0].decode("utf-8", "replace").strip()
    return proc.returncode, out


class ServiceControl(object):
    """How to stop, start and query a service of the scanned root: ``systemctl`` on a live
    systemd host, the init script (``service``) on a live sysv host, and the init script
    run with ``chroot`` for a root that is not the scanning host's own (a container or
    chroot running on this host)."""

    def __init__(self, root_path="/", run=None, systemd=None):
        self.root = os.path.realpath(root_path)
        self.run = run or _run
        if systemd is None:
            systemd = self.root == "/" and os.path.isdir("/run/systemd/system")
        self.systemd = systemd
        self.env = dict(os.environ, _SYSTEMCTL_SKIP_REDIRECT="1", SYSTEMCTL_SKIP_REDIRECT="1")
        self._units = {}

    def units(self, name):
        """What a stop and a start of ``name`` must cover: under systemd, the unit and the
        running units that are part of it. Debian's postgresql.service is an umbrella: its
        clusters (postgresql@15-main) are PartOf it and ordered Before it, so ``systemctl stop
        postgresql`` returns as soon as the umbrella is down, while the cluster is still
        writing its shutdown checkpoint, and ``systemctl start postgresql`` succeeds even when
        the cluster fails to start. Named together, systemctl waits for every one of them.
        Asked once, before anything is stopped, so the restart covers what ran."""
        if name not in self._units:
            units = [name]
            if self.systemd:
                rc, out = self.run(["systemctl", "show", "--property=ConsistsOf", name], env=self.env)
                for line in out.splitlines() if rc == 0 else ():
                    if line.startswith("ConsistsOf="):
                        units += [u for u in sorted(line[len("ConsistsOf="):].split())
                                  if self._unit_active(u)]
            self._units[name] = units
        return self._units[name]

    def _unit_active(self, unit):
        return self.run(["systemctl", "is-active", "--quiet", unit], env=self.env)[0] == 0

    def argv(self, name, verb):
        if self.systemd:
            if verb == "status":
                return ["systemctl", "is-active", "--quiet", name]
            return ["systemctl", verb, "--no-ask-password"] + self.units(name)
        script = "/etc/init.d/" + name
        if self.root == "/":
            return [script, verb] if os.path.isfile(script) else ["service", name, verb]
        if os.path.isfile(os.path.join(self.root, script.lstrip("/"))):
            return ["chroot", self.root, script, verb]
        return ["chroot", self.root, "service", name, verb]

    def command(self, name, verb):
        """The command line, for people (printed before anything is stopped)."""
        return " ".join(self.argv(name, verb))

    def active(self, name):
        """Running: under systemd, the unit and every part of it that ran before the stop
        (``systemctl is-active`` of several units succeeds when any one is)."""
        if self.systemd:
            return all(self._unit_active(u) for u in self.units(name))
        return self.run(self.argv(name, "status"), env=self.env)[0] == 0

    def stop(self, name):
        return self.run(self.argv(name, "stop"), env=self.env)

    def start(self, name):
        return self.run(self.argv(name, "start"), env=self.env)


class Quiesce(object):
    """Context manager: the services are stopped inside the ``with`` block and started
    again when it ends, however it ends. ``records`` holds the report's entries."""

    def __init__(self, control, services, progress, clock=time.monotonic):
        self.control = control
        self.services = list(services)
        self.progress = progress
        self.clock = clock
        self.records = []
        self._stopped = []           # (name, record) in stop order
        self._handlers = {}
        self._pending = None         # a signal that arrived while restoring

    # -- signals ----------------------------------------------------------------------------
    def _raise(self, signum, _frame):
        raise Interrupted(signum)

    def _defer(self, signum, _frame):
        self._pending = self._pending or signum

    def _install(self, handler):
        for sig in SIGNALS:
            try:
                previous = signal.signal(sig, handler)
            except (ValueError, OSError):      # not the main thread: nothing to install
                continue
            self._handlers.setdefault(sig, previous)

    def _uninstall(self):
        for sig, previous in self._handlers.items():
            signal.signal(sig, previous)
        self._handlers = {}

    # -- the block --------------------------------------------------------------------------
    def __enter__(self):
        self._install(self._raise)
        try:
            for name in self.services:
                self.progress.phase("quiesce: if this scan is killed, start %s again with: %s"
                                    % (name, self.control.command(name, "start")))
            for name in self.services:
                record = {"service": name, "was_running": self.control.active(name), "downtime_s": 0.0}
                self.records.append(record)
                if not record["was_running"]:
                    self.progress.phase("quiesce: %s is not running: its data is at rest" % name)
                    continue
                began = self.clock()
                record["_began"] = began
                # counted as stopped before the stop is asked: a signal while systemctl waits for the
                # stop job interrupts the wait, not the job
                self._stopped.append((name, record))
                rc, out = self.control.stop(name)
                if rc != 0:
                    raise QuiesceError("cannot stop %s (exit %d): %s" % (name, rc, out or "no output"))
                self.progress.phase("quiesce: %s stopped in %.1fs" % (name, self.clock() - began))
        except BaseException:
            self._finish(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._finish(failed=exc_type is not None)
        return False

    def _finish(self, failed):
        """Start again, in reverse order, every service this block stopped; signals that
        arrive meanwhile wait until all of them are running."""
        self._install(self._defer)
        problems = []
        try:
            while self._stopped:
                name, record = self._stopped.pop()
                if not self.control.active(name):
                    rc, out = self.control.start(name)
                    if rc != 0 or not self.control.active(name):
                        rc, out = self.control.start(name)        # once more: a slow shutdown
                    if rc != 0 or not self.control.active(name):
                        problems.append("%s (exit %d: %s; start it by hand: %s)"
                                        % (name, rc, out or "not running after its start",
                                           self.control.command(name, "start")))
                        continue
                record["downtime_s"] = round(self.clock() - record.pop("_began"), 1)
                self.progress.phase("quiesce: %s running again, down %.1fs" % (name, record["downtime_s"]))
        finally:
            self._uninstall()
        for record in self.records:
            record.pop("_began", None)
        if problems:
            message = "could not start again: " + "; ".join(problems)
            if failed:
                self.progress.warn(message)
            else:
                raise QuiesceError(message)
        if self._pending is not None and not failed:
            raise Interrupted(self._pending)

    def report(self):
        """The report's ``quiesce`` section."""
        return {"method": "stop", "services": [dict(r) for r in self.records]}


def parse_services(value, auto_services):
    """``--quiesce`` value -> service names, ``auto`` replaced by the detected databases."""
    names = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        for name in (auto_services if part == "auto" else [part]):
            if name not in names:
                names.append(name)
    return names
