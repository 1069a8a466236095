"""Element set → image: run disk-image-create, convert to the target's format, rename into place."""
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from . import caches, hosttools, outputs
from .errors import BuildError, InputError
from .hostshims import host_env
from .render import element_name, render
from .targets import TARGETS
from .resync import record

# DIB logs "Running hooks from …/root.d" outside the chroot and "dib-run-parts Running
# /tmp/in_target.d/install.d/…" inside it; the phase is the .d directory
PHASE = re.compile(r"Running (?:hooks from )?\S*/([a-z-]+)\.d\b|Creating fstab|Converting image using qemu-img|"
                   r"Image file \S+ created")
# apt's words for a pinned version the mirror does not have
MISSING_VERSION = re.compile(r"Version '([^']+)' for '([^']+)' was not found")
MIB = 1 << 20


def image_name(plan):
    return "%s-%s" % (plan.host, plan.target)


def command(plan, elements_path, output_base, logfile, compress=True, image_size=None, environ=None):
    """(argv, env additions) for disk-image-create."""
    environ = os.environ if environ is None else environ
    argv = [hosttools.disk_image_create(), "-a", plan.build.arch, "-o", str(output_base), "-t", plan.build.image_type,
            "--logfile", str(logfile)]
    if not compress:
        argv.append("-u")
    if image_size:
        argv += ["--image-size", str(image_size)]
    argv += list(plan.build.elements) + [element_name(plan)]
    env = host_env(environ, family=plan.family)
    env.update(plan.build.environment)
    # DIB runs its own helper scripts by name: they are next to disk-image-create
    env["PATH"] = os.pathsep.join([os.path.dirname(argv[0]), env.get("PATH") or environ.get("PATH", os.defpath)])
    env["ELEMENTS_PATH"] = os.pathsep.join(str(p) for p in elements_path)
    if environ.get("ELEMENTS_PATH"):
        env["ELEMENTS_PATH"] += os.pathsep + environ["ELEMENTS_PATH"]
    return argv, env


def shell_text(argv, env):
    lines = ["%s=%s \\" % (k, shlex.quote(v)) for k, v in sorted(env.items())]
    return "\n".join(["env \\"] + lines + [" ".join(shlex.quote(a) for a in argv)])


def _progress(msg, start, stream):
    Progress(stream, start).event(msg)


def _parent_death_signal():
    """prctl(PR_SET_PDEATHSIG), looked up now: after fork only a plain call is safe (worker threads)."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, 15)     # PR_SET_PDEATHSIG, SIGTERM


# a killed dib-migrate (or fleet worker) must not leave a build running that nobody will publish;
# on SIGTERM DIB's own exit trap unmounts its build
_DIE_WITH_PARENT = _parent_death_signal()


class Progress:
    """Progress lines on stderr: a live line on a terminal, plain timestamped lines on a pipe (CI, logs).

    ``event`` lines always stay; ``status`` lines (counts, steps) overwrite each other on a terminal
    and, on a pipe, are printed at most every ``every`` seconds (and always when the count is complete).
    """

    def __init__(self, stream=sys.stderr, start=None, tty=None, every=10.0, clock=time.monotonic, wall=time.gmtime):
        self.stream, self.clock, self.wall = stream, clock, wall
        self.start = clock() if start is None else start
        self.tty = stream.isatty() if tty is None else tty
        self.every, self.live, self.last_status, self.last_text = every, False, None, None

    def _prefix(self):
        el = int(self.clock() - self.start)
        stamp = "[%3dm%02ds]" % (el // 60, el % 60)
        return stamp if self.tty else time.strftime("%Y-%m-%dT%H:%M:%SZ ", self.wall()) + stamp

    def event(self, msg):
        if self.live:
            self.stream.write("\r\033[K")
            self.live = False
        self.stream.write("%s %s\n" % (self._prefix(), msg))
        self.stream.flush()
        self.last_text = None

    def status(self, msg, final=False):
        if msg == self.last_text:
            return
        self.last_text = msg
        if self.tty:
            self.stream.write("\r\033[K%s %s" % (self._prefix(), msg))
            self.stream.flush()
            self.live = True
            return
        now = self.clock()
        if final or self.last_status is None or now - self.last_status >= self.every:
            self.last_status = now
            self.stream.write("%s %s\n" % (self._prefix(), msg))
            self.stream.flush()

    def close(self):
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
            self.live = False


# apt: "N upgraded, M newly installed" opens a run, "Unpacking"/"Setting up" count through it
# (DIB prefixes in-chroot lines with "> "); dnf/yum and zypper print "k/n" themselves
APT_TOTAL = re.compile(r"(\d+) upgraded, (\d+) newly installed")
APT_STEP = re.compile(r"\| (?:> )?(Unpacking|Setting up) (\S+)")
RPM_STEP = re.compile(r"(?:Installing|Upgrading)\s*:\s*(\S+)\s+(\d+)/(\d+)|\((\d+)/(\d+)\) Installing: (\S+)")
HOOK = re.compile(r"dib-run-parts Running \S*/([a-z-]+)\.d/(\S+)")
CONVERT = re.compile(r"Converting image using qemu-img convert")
_STEP_NAMES = {"Creating": "fstab", "Converting": "convert (qemu-img)", "Image": "image written"}


class LogWatch:
    """Reads DIB's log as it grows and turns it into progress: phase, hook, packages k/n, conversion."""

    def __init__(self, progress, output=None):
        self.p, self.output = progress, output
        self.phase, self.total, self.unpacked, self.set_up, self.converting = None, 0, 0, 0, False

    def line(self, line):
        m = PHASE.search(line)
        if m:
            phase = m.group(1) or _STEP_NAMES.get(m.group(0).split()[0], m.group(0))
            if phase != self.phase:
                self.p.event("phase: %s" % phase)
                self.phase = phase
            if CONVERT.search(line):
                self.converting = True
            elif line.find("Image file") >= 0:
                self.converting = False
        m = APT_TOTAL.search(line)
        if m:
            self.total, self.unpacked, self.set_up = int(m.group(1)) + int(m.group(2)), 0, 0
            return
        m = APT_STEP.search(line)
        if m and self.total:
            if m.group(1) == "Unpacking":
                self.unpacked = min(self.unpacked + 1, self.total)
            else:
                self.set_up = min(self.set_up + 1, self.total)
            self.p.status("%s: packages %d/%d unpacked, %d/%d set up (%s)" % (
                self.phase or "install", self.unpacked, self.total, self.set_up, self.total, m.group(2)),
                final=self.set_up == self.total)
            return
        m = RPM_STEP.search(line)
        if m:
            done, total, name = (m.group(2), m.group(3), m.group(1)) if m.group(1) else \
                (m.group(4), m.group(5), m.group(6))
            self.p.status("%s: packages %s/%s installed (%s)" % (self.phase or "install", done, total, name),
                          final=done == total)
            return
        m = HOOK.search(line)
        if m:
            self.p.status("%s: %s" % (m.group(1), m.group(2)))

    def tick(self):
        """Between log lines: the conversion has no lines, so show how much it has written."""
        if self.converting and self.output and os.path.exists(self.output):
            self.p.status("converting to %s: %d MiB written" % (
                self.output.rsplit(".", 1)[-1], os.path.getsize(self.output) // MIB))


def _output_of(argv):
    """The file disk-image-create writes: -o base plus -t type."""
    try:
        return "%s.%s" % (argv[argv.index("-o") + 1], argv[argv.index("-t") + 1])
    except (ValueError, IndexError):
        return None


def run_dib(argv, env, logfile, stream=sys.stderr, shown_log=None, progress=None):
    """Run disk-image-create, printing each phase and the counts inside it; DIB's full log goes to logfile.

    ``shown_log`` is where the operator will find the log (it is written in staging, then moved).
    """
    p = progress or Progress(stream)
    p.event("disk-image-create started (full log: %s)" % (shown_log or logfile))
    full_env = dict(os.environ)
    full_env.update(env)
    watch = LogWatch(p, _output_of(argv))
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(argv, env=full_env, stdout=devnull, stderr=subprocess.STDOUT,
                                preexec_fn=_DIE_WITH_PARENT)
    pos = 0
    try:
        while True:
            done = proc.poll() is not None
            if os.path.exists(logfile):
                with open(logfile, errors="replace") as f:
                    f.seek(pos)
                    chunk = f.read()
                    pos = f.tell()
                for line in chunk.splitlines():
                    watch.line(line)
            watch.tick()
            if done:
                break
            time.sleep(1)
    finally:
        p.close()
    if proc.returncode != 0:
        lines = []
        if os.path.exists(logfile):
            with open(logfile, errors="replace") as f:
                lines = f.readlines()
        missing = sorted({"%s=%s" % (m.group(2), m.group(1)) for m in map(MISSING_VERSION.search, lines) if m})
        if missing:
            raise BuildError("the mirror lacks these pinned versions (--pin-versions): %s; see %s"
                             % (", ".join(missing), logfile))
        raise BuildError("disk-image-create failed (exit %d); last lines of %s:\n%s"
                         % (proc.returncode, logfile, "".join(lines[-25:])))
    p.event("disk-image-create finished")


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "bytes" else ("%.1f %s" % (n, unit))
        n /= 1024.0


# what a target's image is for, once verified
NEXT = {
    "openstack": "upload: openstack image create --disk-format qcow2 --container-format bare --file {image} {host}",
    "ec2": "upload: aws ec2 import-snapshot --disk-container Format=raw,UserBucket=... ({image} to S3 first)",
    "azure": "upload: az storage blob upload --type page --file {image} ...; then az image create",
    "kvm": "boot: qemu-system-x86_64 -accel kvm -m 1024 -drive file={image},format=qcow2,if=virtio "
           "-nic user,model=virtio-net-pci",
}


def summary(image, plan, seconds, plan_path=None, packer_templates=()):
    """The closing lines of a build: what was made, where, how big, how long, what to run next."""
    image = Path(image)
    plan_path = plan_path or image.parent / output_names(plan)["plan"]
    el = int(seconds)
    out = ["built %s for %s in %dm%02ds" % (image.name, plan.target, el // 60, el % 60),
           "  image:   %s" % image,
           "  format:  %s, %s on disk" % (plan.build.output_format, _size(image.stat().st_size)),
           "  elapsed: %dm%02ds" % (el // 60, el % 60),
           "  next: dib-migrate verify %s --plan %s" % (shlex.quote(str(image)), shlex.quote(str(plan_path))),
           "        " + NEXT[plan.target].format(image=shlex.quote(str(image)), host=plan.host)]
    for t in packer_templates:
        out.append("        packer build %s" % shlex.quote(str(t)))
    return "\n".join(out) + "\n"


def to_fixed_vhd(raw, vhd):
    """Azure wants a fixed VHD whose virtual size is a whole number of MiB."""
    size = os.path.getsize(raw)
    aligned = (size + MIB - 1) // MIB * MIB
    if aligned != size:
        subprocess.run(["qemu-img", "resize", "-f", "raw", str(raw), str(aligned)], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size",
                    str(raw), str(vhd)], check=True)


def output_names(plan):
    """Every file a build writes into OUTDIR, named per image so targets share a directory."""
    name = image_name(plan)
    return {"image": "%s.%s" % (name, TARGETS[plan.target].extension), "plan": name + ".plan.json",
            "log": name + ".log", "elements": name + ".elements"}


def refuse(report, plan):
    """InputError (exit 2) naming the first blocker's field and value, listing every blocker."""
    if plan.blockers:
        b = plan.blockers[0]
        raise InputError(report.path, b.field, b.value, " | ".join(
            "%s: %s. Fix: %s" % (x.rule, x.message, x.fix) for x in plan.blockers))


def build(report, plan, outdir, extra_paths=(), dry_run=False, compress=True, image_size=None,
          stream=sys.stderr):
    """Render and build; returns the final image path (or None on a dry run)."""
    refuse(report, plan)
    hosttools.disk_image_create()       # before anything is written: exit 2 with what to install
    if not dry_run:
        hosttools.check(plan.build.elements)
    names = output_names(plan)
    outdir = outputs.prepare_outdir(Path(os.path.abspath(str(outdir))), names.values())
    name = image_name(plan)
    target = TARGETS[plan.target]
    final = outdir / names["image"]
    with outputs.staging(outdir, name) as work:
        # the element set is data only and cheap: a dry run renders it too, so the command it prints runs as is
        paths = render(plan, report, outdir / names["elements"], output_base=outdir / name,
                       extra_paths=extra_paths)
        outputs.record(outdir, [names["elements"]])
        if dry_run:
            argv, env = command(plan, paths, outdir / name, outdir / names["log"], compress, image_size)
            stream.write("# element set rendered into %s; the build would run:\n" % (outdir / names["elements"]))
            print(shell_text(argv, env))
            return None
        logfile = work / names["log"]
        argv, env = command(plan, paths, work / name, logfile, compress, image_size)
        try:
            # a private copy of DIB's image cache: builds side by side on one host share it safely
            with caches.build_cache({**os.environ, **env}) as cache_env:
                run_dib(argv, {**env, **cache_env}, str(logfile), stream, shown_log=str(outdir / names["log"]))
                cache_env.succeeded = (work / ("%s.%s" % (name, target.image_type))).exists()
        finally:
            if logfile.exists():             # the log is the operator's answer when a build fails
                os.replace(str(logfile), str(outdir / names["log"]))
                outputs.record(outdir, [names["log"]])
        built = work / ("%s.%s" % (name, target.image_type))
        if not built.exists():
            raise BuildError("disk-image-create did not produce %s" % built)
        if target.output_format == "vhd":
            _progress("converting to a fixed VHD", time.monotonic(), stream)
            to_fixed_vhd(built, work / final.name)
            built.unlink()
            built = work / final.name
        (work / names["plan"]).write_text(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
        outputs.record(outdir, [names["plan"], names["image"]])
        os.replace(str(work / names["plan"]), str(outdir / names["plan"]))
        os.replace(str(built), str(final))
        # the new image holds none of the deltas resync laid over the one it replaced
        stale = record.path_of(final)
        if stale.name in (outputs.read_mark(outdir) or {}).get("files", ()) and stale.exists():
            stale.unlink()
    return final
