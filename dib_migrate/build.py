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
    el = int(time.monotonic() - start)
    stream.write("[%3dm%02ds] %s\n" % (el // 60, el % 60, msg))
    stream.flush()


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


def run_dib(argv, env, logfile, stream=sys.stderr, shown_log=None):
    """Run disk-image-create, printing each phase with elapsed time; DIB's full log goes to logfile.

    ``shown_log`` is where the operator will find the log (it is written in staging, then moved).
    """
    start = time.monotonic()
    _progress("disk-image-create started (full log: %s)" % (shown_log or logfile), start, stream)
    full_env = dict(os.environ)
    full_env.update(env)
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(argv, env=full_env, stdout=devnull, stderr=subprocess.STDOUT,
                                preexec_fn=_DIE_WITH_PARENT)
    pos, last = 0, None
    while True:
        done = proc.poll() is not None
        if os.path.exists(logfile):
            with open(logfile, errors="replace") as f:
                f.seek(pos)
                chunk = f.read()
                pos = f.tell()
            for line in chunk.splitlines():
                m = PHASE.search(line)
                if m:
                    phase = m.group(1) or m.group(0)
                    if phase != last:
                        _progress("phase: %s" % phase, start, stream)
                        last = phase
        if done:
            break
        time.sleep(1)
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
    _progress("disk-image-create finished", start, stream)


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
    return final
