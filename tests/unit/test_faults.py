"""Faults around the operator's outputs: SIGKILL at random points of render and build, a full
filesystem, a read-only one. Nothing partial may appear at a final path, a previous output stays
whole, and the next run removes what a killed run left behind (only its own)."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dib_migrate.outputs import MARK, UNLOCKED_GRACE

from .helpers import EXAMPLES

pytestmark = pytest.mark.faults      # ~2 minutes of SIGKILLs: tox -e faults
REPORT = str(EXAMPLES / "debian12-web" / "report.yaml")
RUNS = 30
# a stand-in for disk-image-create: logs phases and writes the image in slow chunks, so a kill can land
# before, during and after the image exists (the real DIB is proven by the functional builds)
FAKE_DIB = r'''#!%s
import os, sys, time
a = sys.argv
out, itype, log = a[a.index("-o") + 1], a[a.index("-t") + 1], a[a.index("--logfile") + 1]
with open(log, "w") as f:
    for phase in ("root", "install", "finalise"):
        f.write("Running hooks from /x/%%s.d\n" %% phase)
        f.flush()
        time.sleep(0.05)
with open("%%s.%%s" %% (out, itype), "wb") as f:
    for _ in range(8):
        f.write(b"\0" * 65536)
        f.flush()
        time.sleep(0.03)
'''
IMAGE_BYTES = 8 * 65536


def cli(*argv, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "dib_migrate"] + list(argv), env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def run_ok(*argv, env=None):
    p = cli(*argv, env=env)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()


def kill_at_random(argv, env, seed, window):
    rnd = random.Random(seed)
    p = cli(*argv, env=env)
    time.sleep(rnd.uniform(0, window))
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)


def staging_left(parent):
    return sorted(n for n in os.listdir(str(parent)) if ".dibm-tmp-" in n)


def element_set_complete(path):
    return all((path / n).exists() for n in (MARK, "image.yaml", "plan.json", "elements"))


def timed(argv, env=None):
    start = time.monotonic()
    run_ok(*argv, env=env)
    return time.monotonic() - start


def test_render_killed_at_random_points(tmp_path):
    out = tmp_path / "out"
    argv = ("render", REPORT, "--target", "kvm", "-o", str(out))
    window = timed(argv) * 1.2
    complete_before = element_set_complete(out)
    for seed in range(RUNS):
        kill_at_random(argv, None, seed, window)
        # the previous output is whole at every instant: old or new, never half
        assert element_set_complete(out), "seed %d: partial element set at the final path" % seed
    assert complete_before
    time.sleep(UNLOCKED_GRACE + 0.1)
    run_ok(*argv)
    assert staging_left(tmp_path) == [], "stale staging directories survived the next run"


def test_first_render_killed_leaves_nothing_partial(tmp_path):
    argv_of = lambda i: ("render", REPORT, "--target", "kvm", "-o", str(tmp_path / ("o%d" % i)))  # noqa: E731
    window = timed(argv_of(99)) * 1.2
    for seed in range(RUNS):
        kill_at_random(argv_of(seed), None, seed, window)
        out = tmp_path / ("o%d" % seed)
        assert not out.exists() or element_set_complete(out), "seed %d" % seed
    time.sleep(UNLOCKED_GRACE + 0.1)     # a kill between mkdtemp and the lock file: stale after the grace
    for seed in range(RUNS):
        run_ok(*argv_of(seed))
    assert staging_left(tmp_path) == []


@pytest.fixture
def fake_dib(tmp_path):
    path = tmp_path / "fake-disk-image-create"
    path.write_text(FAKE_DIB % sys.executable)
    path.chmod(0o755)
    return {"DIB_MIGRATE_DIB": str(path)}


def test_build_killed_at_random_points(tmp_path, fake_dib):
    out = tmp_path / "out"
    argv = ("build", REPORT, "--target", "kvm", "-o", str(out), "--no-compress")
    window = timed(argv, fake_dib) * 1.2
    image = out / "web01-kvm.qcow2"
    (tmp_path / "keep.txt").write_text("the operator's\n")
    for seed in range(RUNS):
        kill_at_random(argv, fake_dib, 1000 + seed, window)
        assert image.stat().st_size == IMAGE_BYTES, "seed %d: the image at the final path is partial" % seed
        assert element_set_complete(out / "web01-kvm.elements")
    time.sleep(UNLOCKED_GRACE + 0.1)
    run_ok(*argv, env=fake_dib)
    assert staging_left(out) == [] and (tmp_path / "keep.txt").read_text() == "the operator's\n"
    assert sorted(os.listdir(str(out))) == [MARK, "web01-kvm.elements", "web01-kvm.log", "web01-kvm.plan.json",
                                            "web01-kvm.qcow2"]


def test_first_build_killed_publishes_nothing_partial(tmp_path, fake_dib):
    argv = ("build", REPORT, "--target", "kvm", "-o", str(tmp_path / "out"), "--no-compress")
    window = timed(argv, fake_dib) * 1.2
    image = tmp_path / "out" / "web01-kvm.qcow2"
    for seed in range(RUNS):
        image.unlink(missing_ok=True)
        kill_at_random(argv, fake_dib, 2000 + seed, window)
        assert not image.exists() or image.stat().st_size == IMAGE_BYTES, "seed %d" % seed
    time.sleep(UNLOCKED_GRACE + 0.1)
    run_ok(*argv, env=fake_dib)
    assert staging_left(tmp_path / "out") == []


def _mount_tmpfs(path, size, readonly=False):
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    path.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", str(path)],
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        pytest.skip("cannot mount tmpfs here: %s" % p.stderr.decode().strip())
    return path


def _umount(path):
    subprocess.run(["umount", "-l", str(path)])


def _fill(path, leave):
    """Fill the filesystem at ``path``'s directory up to ``leave`` free bytes (tmpfs counts pages)."""
    st = os.statvfs(str(path.parent))
    free = st.f_bavail * st.f_frsize
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, b"\0" * max(0, free - leave))
    except OSError:
        pass
    finally:
        os.close(fd)


def test_full_filesystem(tmp_path, fake_dib):
    small = _mount_tmpfs(tmp_path / "small", "1m")
    try:
        (small / "notes.txt").write_text("the operator's notes\n")
        for argv in (("render", REPORT, "--target", "kvm", "-o", str(small / "els")),
                     ("build", REPORT, "--target", "kvm", "-o", str(small / "out"), "--no-compress")):
            (small / "filler").unlink(missing_ok=True)
            _fill(small / "filler", 16 << 10)
            p = cli(*argv, env=fake_dib)
            _, err = p.communicate(timeout=120)
            err = err.decode()
            assert p.returncode == 2, err
            assert "No space left on device" in err and "Traceback" not in err
        assert (small / "notes.txt").read_text() == "the operator's notes\n"
        assert not (small / "els").exists()
        assert not (small / "out" / "web01-kvm.qcow2").exists()
        assert staging_left(small) == [] and (not (small / "out").exists() or staging_left(small / "out") == [])
    finally:
        _umount(small)


def test_read_only_outdir(tmp_path, fake_dib):
    ro = _mount_tmpfs(tmp_path / "ro", "1m")
    try:
        (ro / "notes.txt").write_text("x\n")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        for argv in (("render", REPORT, "--target", "kvm", "-o", str(ro / "els")),
                     ("build", REPORT, "--target", "kvm", "-o", str(ro / "out"))):
            p = cli(*argv, env=fake_dib)
            _, err = p.communicate(timeout=120)
            err = err.decode()
            assert p.returncode == 2 and "Traceback" not in err, err
            assert str(ro) in err and "Read-only file system" in err
        assert sorted(os.listdir(str(ro))) == ["notes.txt"]
    finally:
        _umount(ro)


def test_stale_staging_of_others_is_left_alone(tmp_path):
    """Only directories holding our lock file are ours: a look-alike without it is never removed."""
    lookalike = Path(tmp_path / ".out.dibm-tmp-operator")
    lookalike.mkdir()
    (lookalike / "data").write_text("x")
    run_ok("render", REPORT, "--target", "kvm", "-o", str(tmp_path / "out"))
    assert (lookalike / "data").exists()


def test_killed_before_its_lock_existed(tmp_path):
    """A run killed between mkdtemp and creating its lock left an empty staging directory: removed after
    the grace period; one holding anything is never touched."""
    from dib_migrate import outputs
    empty = tmp_path / ".out.dibm-tmp-killed"
    empty.mkdir()
    full = tmp_path / ".out.dibm-tmp-other"
    full.mkdir()
    (full / "x").write_text("not ours to judge\n")
    old = time.time() - 10
    for p in (empty, full):
        os.utime(str(p), (old, old))
    outputs.clean_stale(tmp_path, "out")
    assert not empty.exists() and (full / "x").exists()
