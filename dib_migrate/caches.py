"""DIB's image cache, shared safely by builds that run side by side on one host.

DIB keeps its caches in ``$DIB_IMAGE_CACHE`` (default ~/.cache/image-create): the debootstrap
tarball (``debootstrap-<distro>-<release>-<arch>.tar.gz``), downloaded base images, and
``apt/<distro>/``, which the dpkg element bind-mounts into the chroot as
/var/cache/apt/archives. Two builds sharing that directory fail: the second one's apt-get
exits 100 with "Could not get lock /var/cache/apt/archives/lock" while the first one holds it,
and a build that finds the debootstrap tarball while another build is still writing it (DIB
writes it in place) unpacks half a root.

So each build gets its own ``DIB_IMAGE_CACHE``: a directory next to the shared one, on the same
file system, made of hard links to the shared files (instant, no copies; apt and DIB only ever
add or delete files there, never rewrite one in place). The build's apt lock is its own. When
the build ends, the files it added are linked into the shared cache under a temporary name and
renamed, so the shared cache only ever holds complete files and nobody locks it while
building. The debootstrap tarball and other new base files are taken only from a successful
build (a killed one may have left them half-written); .deb files are complete once apt moves
them out of partial/, so those are kept from any build (dpkg's finalise runs ``apt-get clean``;
elements/migrate-base keeps hard links to them in ``keep/`` first). Other cache directories (yum, pip,
...) stay shared as they are (symbolic links), as DIB has them.
"""
import errno
import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

BUILDS_DIR = ".dib-migrate-builds"
LOCK_NAME = ".dib-migrate-build.lock"


def shared_dir(environ=None):
    environ = os.environ if environ is None else environ
    return Path(environ.get("DIB_IMAGE_CACHE") or os.path.expanduser("~/.cache/image-create"))


def _link(src, dst):
    try:
        os.link(src, dst)
    except FileExistsError:
        pass


def _publish(src, dst):
    """Put ``src`` at ``dst`` unless ``dst`` exists; atomic (link under a temporary name, rename)."""
    if os.path.lexists(dst):
        return False
    tmp = "%s.%d.tmp" % (dst, os.getpid())
    try:
        os.link(src, tmp)
    except OSError as e:
        if e.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            shutil.copy2(src, tmp)
        else:
            raise
    os.replace(tmp, dst)
    return True


def _files(d):
    try:
        return [e for e in os.scandir(d) if e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def populate(shared, private):
    """Fill ``private`` with links to ``shared``: files hard-linked, apt/<distro> per file, the rest symlinked."""
    for entry in os.scandir(shared):
        if entry.name in (BUILDS_DIR,) or entry.name.endswith(".tmp"):
            continue
        dst = private / entry.name
        if entry.is_file(follow_symlinks=False):
            _link(entry.path, dst)
        elif entry.name == "apt" and entry.is_dir(follow_symlinks=False):
            dst.mkdir()
            for distro in os.scandir(entry.path):
                if distro.is_dir(follow_symlinks=False):
                    (dst / distro.name).mkdir()
                    for f in _files(distro.path):
                        if f.name.endswith(".deb"):
                            _link(f.path, dst / distro.name / f.name)
        else:
            os.symlink(entry.path, dst)


def merge(private, shared, succeeded):
    """Publish what the build added to ``shared``; returns the names published."""
    added = []
    for distro in (os.scandir(private / "apt") if (private / "apt").is_dir() else ()):
        if not distro.is_dir(follow_symlinks=False):
            continue
        target = shared / "apt" / distro.name
        target.mkdir(parents=True, exist_ok=True)
        # keep/: what elements/migrate-base's finalise hook saved from dpkg's apt-get clean
        for f in _files(distro.path) + _files(os.path.join(distro.path, "keep")):
            if f.name.endswith(".deb") and _publish(f.path, target / f.name):
                added.append("apt/%s/%s" % (distro.name, f.name))
    if succeeded:
        for f in _files(private):
            if f.name == LOCK_NAME or f.name.endswith(".tmp"):
                continue
            if _publish(f.path, shared / f.name):
                added.append(f.name)
    return added


def sweep(builds):
    """Remove private caches whose build is gone (their lock is free)."""
    for d in list(os.scandir(builds)) if builds.is_dir() else ():
        lock = Path(d.path) / LOCK_NAME
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            continue        # being set up right now, or not ours
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        finally:
            os.close(fd)
        shutil.rmtree(d.path, ignore_errors=True)


@contextmanager
def build_cache(environ=None):
    """A private DIB_IMAGE_CACHE for one build; yields the environment addition.

    Wrap a build in it::

        with build_cache() as extra:
            env.update(extra)
            ... run disk-image-create ...
            extra.succeeded = True
    """
    shared = shared_dir(environ)
    shared.mkdir(parents=True, exist_ok=True)
    builds = shared / BUILDS_DIR
    builds.mkdir(exist_ok=True)
    sweep(builds)
    private = Path(tempfile.mkdtemp(prefix="build-", dir=str(builds)))
    # held for the whole build: sweep() of a concurrent build leaves this directory alone
    lock = open(private / LOCK_NAME, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    extra = _Extra(DIB_IMAGE_CACHE=str(private), DIB_MIGRATE_KEEP_APT_ARCHIVES="1")
    try:
        populate(shared, private)
        yield extra
    finally:
        try:
            extra.published = merge(private, shared, extra.succeeded)
        finally:
            shutil.rmtree(private, ignore_errors=True)
            lock.close()


class _Extra(dict):
    succeeded = False
    published = ()
