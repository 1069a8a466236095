"""Progress messages on stderr; stdout stays free for the caller."""
import sys
import time


class Progress(object):
    """Phase messages and throttled counters on stderr; stdout stays free for the caller."""

    def __init__(self, stream=None, quiet=False, interval=1.0):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.last = 0.0
        self.start = time.time()

    def phase(self, text):
        if not self.quiet:
            self.stream.write("scan: %s\n" % text)
            self.stream.flush()

    def tick(self, text, force=False):
        now = time.time()
        if self.quiet or (not force and now - self.last < self.interval):
            return
        self.last = now
        self.stream.write("scan:   %s\n" % text)
        self.stream.flush()

    def warn(self, text):
        self.stream.write("scan: warning: %s\n" % text)
        self.stream.flush()


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0
    return str(n)
