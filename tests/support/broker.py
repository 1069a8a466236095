"""A real Redis broker and real fleet workers for tests and benchmarks, on loopback, stopped after."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .sshhost import free_port, wait_port


def have_redis():
    return shutil.which("redis-server") is not None


class Redis:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.port = free_port()
        self.url = "redis://127.0.0.1:%d/0" % self.port
        self.proc = None

    def __enter__(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=open(self.dir / "redis.log", "w"), stderr=subprocess.STDOUT)
        wait_port(self.port)
        return self

    def memory(self):
        """(used_memory, used_memory_peak) of the broker, bytes."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "info", "memory"], capture_output=True,
                             text=True, check=True).stdout
        info = dict(line.strip().split(":", 1) for line in out.splitlines() if ":" in line)
        return int(info["used_memory"]), int(info["used_memory_peak"])

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


class Worker:
    """`dib-migrate worker` in its own process group (so a test can kill it, build and all)."""

    def __init__(self, broker, name, directory, env=None):
        self.broker, self.name, self.dir = broker, name, Path(directory)
        self.env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
                        **(env or {}))
        self.proc = None

    def __enter__(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / ("worker-%s.log" % self.name)
        self.proc = subprocess.Popen([sys.executable, "-m", "dib_migrate", "worker", "--broker", self.broker,
                                      "--name", "%s@fleet-test" % self.name], env=self.env,
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker %s did not start:\n%s" % (self.name, self.log.read_text()[-3000:]))
            time.sleep(0.5)
        return self

    def pids(self):
        """The worker's processes: its main process and the pool's children."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [self.proc.pid] + [int(p) for p in out.stdout.split()]

    def kill(self):
        """What a crash or an OOM kill does: SIGKILL to the worker's processes, nothing else."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()       # warm shutdown: a running task finishes first
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
