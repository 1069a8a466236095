"""scan --quiesce: services stopped inside the block, always started again."""
import os
import signal

import pytest

from dib_migrate.scan import quiesce as Q


class Progress:
    def __init__(self):
        self.lines = []

    def phase(self, text):
        self.lines.append(text)

    warn = phase


class FakeServices:
    """A service manager's state for ServiceControl's runner: argv -> (rc, output).
    ``parts`` maps a unit to the units that are PartOf it (systemd's ConsistsOf): as with
    Debian's postgresql.service, stopping or starting the umbrella alone does not wait for them."""

    def __init__(self, running, fail_stop=(), fail_start=(), parts=None):
        self.running = set(running)
        self.fail_stop = set(fail_stop)
        self.fail_start = set(fail_start)
        self.parts = parts or {}
        self.calls = []

    def __call__(self, argv, env=None):
        verb = argv[1]
        names = [a for a in argv[2:] if not a.startswith("-")]
        if verb == "show":
            return 0, "ConsistsOf=%s" % " ".join(self.parts.get(names[0], []))
        if verb == "is-active":
            self.calls.append((verb, names[0]))
            return (0 if names[0] in self.running else 3), ""
        self.calls.append((verb, names[0] if len(names) == 1 else tuple(names)))
        if verb == "stop":
            if self.fail_stop & set(names):
                return 1, "Job for %s.service failed" % names[0]
            self.running -= set(names)
            return 0, ""
        if verb == "start":
            if self.fail_start & set(names):
                self.running |= set(names) - self.fail_start
                return 1, "start failed"
            self.running |= set(names)
            return 0, ""
        raise AssertionError(argv)


def control(fake):
    return Q.ServiceControl("/", run=fake, systemd=True)


def clock_from(times):
    it = iter(times)
    return lambda: next(it)


def test_stopped_inside_started_after_with_downtime():
    fake = FakeServices({"postgresql", "mariadb"})
    q = Q.Quiesce(control(fake), ["postgresql", "mariadb", "redis"], Progress(),
                  clock=clock_from([10.0, 10.5, 11.0, 11.2, 20.0, 23.0]))
    with q:
        assert fake.running == set()
    assert fake.running == {"postgresql", "mariadb"}
    assert [c for c in fake.calls if c[0] in ("stop", "start")] == [
        ("stop", "postgresql"), ("stop", "mariadb"), ("start", "mariadb"), ("start", "postgresql")]
    report = q.report()
    assert report["method"] == "stop"
    assert report["services"] == [
        {"service": "postgresql", "was_running": True, "downtime_s": 13.0},
        {"service": "mariadb", "was_running": True, "downtime_s": 9.0},
        {"service": "redis", "was_running": False, "downtime_s": 0.0}]
    assert "redis" not in fake.running          # left as it was: stopped


def test_a_failing_stop_aborts_and_restarts_what_was_stopped():
    fake = FakeServices({"postgresql", "mariadb"}, fail_stop={"mariadb"})
    with pytest.raises(Q.QuiesceError, match="cannot stop mariadb"):
        with Q.Quiesce(control(fake), ["postgresql", "mariadb"], Progress()):
            raise AssertionError("the block must not run")
    assert fake.running == {"postgresql", "mariadb"}


def test_an_error_in_the_block_restarts_and_propagates():
    fake = FakeServices({"postgresql"})
    with pytest.raises(RuntimeError, match="archiving failed"):
        with Q.Quiesce(control(fake), ["postgresql"], Progress()):
            raise RuntimeError("archiving failed")
    assert fake.running == {"postgresql"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_restarts_the_services_before_the_scan_exits(sig):
    fake = FakeServices({"postgresql"})
    before = signal.getsignal(sig)
    with pytest.raises(Q.Interrupted) as info:
        with Q.Quiesce(control(fake), ["postgresql"], Progress()):
            os.kill(os.getpid(), sig)
            raise AssertionError("the signal must interrupt the block")
    assert info.value.signum == sig
    assert fake.running == {"postgresql"}
    assert signal.getsignal(sig) == before     # handlers put back


def test_a_signal_while_the_stop_is_under_way_starts_the_service_again():
    fake = FakeServices({"postgresql"})

    def stop_and_get_killed(argv, env=None):
        out = fake(argv, env)
        if argv[1] == "stop":                    # the job runs on; the scan is told to exit meanwhile
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    with pytest.raises(Q.Interrupted):
        with Q.Quiesce(Q.ServiceControl("/", run=stop_and_get_killed, systemd=True), ["postgresql"], Progress()):
            raise AssertionError("the signal must interrupt the block")
    assert fake.running == {"postgresql"}


def test_a_signal_while_restarting_waits_until_everything_runs():
    fake = FakeServices({"a", "b"})

    def start_and_get_killed(argv, env=None):
        if argv[1] == "start" and argv[-1] == "b":
            os.kill(os.getpid(), signal.SIGTERM)
        return fake(argv, env)

    with pytest.raises(Q.Interrupted):
        with Q.Quiesce(Q.ServiceControl("/", run=start_and_get_killed, systemd=True), ["a", "b"], Progress()):
            pass
    assert fake.running == {"a", "b"}


def test_a_service_that_does_not_start_again_fails_loudly():
    fake = FakeServices({"postgresql"}, fail_start={"postgresql"})
    with pytest.raises(Q.QuiesceError, match="could not start again: postgresql .*systemctl start"):
        with Q.Quiesce(control(fake), ["postgresql"], Progress()):
            pass


def test_an_umbrella_is_stopped_and_started_with_the_units_that_are_part_of_it():
    parts = {"postgresql": ["postgresql@15-main.service", "postgresql@16-old.service"]}
    fake = FakeServices({"postgresql", "postgresql@15-main.service"}, parts=parts)
    progress = Progress()
    with Q.Quiesce(control(fake), ["postgresql"], progress):
        assert fake.running == set()
    both = ("postgresql", "postgresql@15-main.service")       # the stopped 16-old cluster stays stopped
    assert [c for c in fake.calls if c[0] in ("stop", "start")] == [("stop", both), ("start", both)]
    assert fake.running == {"postgresql", "postgresql@15-main.service"}
    assert any("systemctl start --no-ask-password postgresql postgresql@15-main.service" in line
               for line in progress.lines)


def test_a_part_that_does_not_start_again_is_not_reported_running():
    parts = {"postgresql": ["postgresql@15-main.service"]}
    fake = FakeServices({"postgresql", "postgresql@15-main.service"}, parts=parts,
                        fail_start={"postgresql@15-main.service"})
    progress = Progress()
    with pytest.raises(Q.QuiesceError, match="could not start again: postgresql .*postgresql@15-main"):
        with Q.Quiesce(control(fake), ["postgresql"], progress):
            pass
    assert not any("running again" in line for line in progress.lines)


def test_commands_per_service_manager(tmp_path):
    (tmp_path / "etc/init.d").mkdir(parents=True)
    (tmp_path / "etc/init.d/postgresql").write_text("#!/bin/sh\n")
    systemd = Q.ServiceControl("/", run=lambda a, env=None: (0, ""), systemd=True)
    assert systemd.argv("postgresql", "stop") == ["systemctl", "stop", "--no-ask-password", "postgresql"]
    assert systemd.argv("postgresql", "status") == ["systemctl", "is-active", "--quiet", "postgresql"]
    chrooted = Q.ServiceControl(str(tmp_path), run=lambda a, env=None: (0, ""))
    assert chrooted.argv("postgresql", "start") == ["chroot", str(tmp_path), "/etc/init.d/postgresql", "start"]
    assert chrooted.argv("mariadb", "stop") == ["chroot", str(tmp_path), "service", "mariadb", "stop"]


def test_parse_services_expands_auto():
    assert Q.parse_services("auto,nginx,postgresql", ["postgresql", "mariadb"]) == [
        "postgresql", "mariadb", "nginx"]
