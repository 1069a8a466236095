"""The operator's output paths: dib-migrate writes only where it may, and never leaves half a result.

What dib-migrate writes carries a marker (``.dib-migrate.json``): an element set holds one naming
its host and target; a build's OUTDIR holds one listing every file dib-migrate put there. Anything
else at an output path belongs to the operator and is never replaced: a file, or a non-empty
directory without a marker, is refused (exit 2).

Work happens in a private staging directory beside the outputs (``.NAME.dibm-tmp-<random>``) that
holds a lock file flocked for the writer's whole life. The kernel drops that lock when the writer
dies, even by SIGKILL, so the next run knows a staging directory whose lock it can take is stale
and removes it; one it cannot take belongs to a run still going. Results are renamed into place:
files with rename(2), directories by exchanging them atomically with the previous output
(renameat2 RENAME_EXCHANGE), so the old output stays whole until the new one is complete.
"""
import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .errors import InputError

MARK = ".dib-migrate.json"
STAGING = ".dibm-tmp-"
LOCK = ".lock"
TREE = "tree"            # the new directory output inside a staging directory
UNLOCKED_GRACE = 2.0     # seconds: an empty staging directory without its lock file older than this is stale
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def read_mark(path):
    """The marker of a directory dib-migrate wrote, or None."""
    try:
        with open(os.path.join(str(path), MARK)) as f:
            mark = json.load(f)
    except (OSError, ValueError):
        return None
    return mark if isinstance(mark, dict) and mark.get("tool") == "dib-migrate" else None


def write_mark(directory, **fields):
    fields["tool"] = "dib-migrate"
    tmp = os.path.join(str(directory), MARK + ".new")
    with open(tmp, "w") as f:
        json.dump(fields, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, os.path.join(str(directory), MARK))


def _not_ours(option, path, problem):
    return InputError(option, "output", str(path), problem + "; dib-migrate never replaces what it did not "
                      "write: choose a new or empty directory")


def check_tree(path, kind, host, target, option="-o"):
    """May a directory output (an element set) be written at ``path``?"""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise _not_ours(option, path, "is a file, not a directory dib-migrate wrote")
    if not path.is_dir():
        return
    mark = read_mark(path)
    if mark is None:
        if any(os.scandir(str(path))):
            raise _not_ours(option, path, "is a non-empty directory that dib-migrate did not write")
        return
    if (mark.get("kind"), mark.get("host"), mark.get("target")) != (kind, host, target):
        raise _not_ours(option, path, "holds dib-migrate's %s for host %s, target %s, not this %s for %s, %s" % (
            mark.get("kind"), mark.get("host"), mark.get("target"), kind, host, target))


def make_parent(path, option="-o"):
    """Create the directory an output goes into; a file in the way is named, not reported as EEXIST."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(option, "output", str(path), "a component of the path is a file: Not a directory")
    except OSError as e:
        raise InputError(option, "output", str(path), "cannot create its directory: %s" % e.strerror)


def prepare_outdir(path, names, option="-o"):
    """Create or adopt a build's OUTDIR and check that ``names`` in it are free or were written by us."""
    path = Path(path)
    if path.is_symlink() and not path.is_dir() or path.exists() and not path.is_dir():
        raise _not_ours(option, path, "is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(option, "output", str(path), "cannot create the output directory: %s" % e.strerror)
    if not os.access(str(path), os.W_OK):
        raise InputError(option, "output", str(path), "the output directory is not writable")
    with _dir_lock(path):
        mark = read_mark(path)
        if mark is None:
            if any(e.name != MARK for e in os.scandir(str(path))):
                raise _not_ours(option, path, "is a non-empty directory that dib-migrate did not write")
            write_mark(path, kind="outdir", files=[])
            return path
        if mark.get("kind") != "outdir":
            raise _not_ours(option, path, "holds dib-migrate's %s, not a build's OUTDIR" % mark.get("kind"))
        owned = set(mark.get("files") or ())
        for name in names:
            if os.path.lexists(str(path / name)) and name not in owned:
                raise _not_ours(option, path / name, "exists and was not written by dib-migrate")
    return path


def record(outdir, names):
    """Add ``names`` to the files OUTDIR's marker says dib-migrate wrote."""
    with _dir_lock(outdir):
        mark = read_mark(outdir) or {"kind": "outdir", "files": []}
        files = sorted(set(mark.get("files") or ()) | set(names))
        write_mark(outdir, kind="outdir", files=files)


@contextlib.contextmanager
def _dir_lock(directory):
    fd = os.open(str(directory), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _take(lockfile):
    """Open and lock ``lockfile`` without waiting: the fd, or None if a live process holds it."""
    try:
        fd = os.open(str(lockfile), os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def clean_stale(parent, name):
    """Remove staging directories of ``name`` left by killed runs (only ours: they hold our lock file).

    A run killed between the two renames of a directory output (only where RENAME_EXCHANGE is
    unavailable) left the output in its staging directory: it is put back first.
    """
    parent = Path(parent)
    try:
        entries = list(os.scandir(str(parent)))
    except OSError:
        return []
    removed = []
    for e in entries:
        if not (e.name.startswith(".%s%s" % (name, STAGING)) and e.is_dir(follow_symlinks=False)):
            continue
        fd = _take(Path(e.path) / LOCK)
        if fd is None:
            _remove_unlocked_empty(e.path)
            continue
        try:
            final = parent / name
            for keep in ("old", TREE):
                src = Path(e.path) / keep
                if not os.path.lexists(str(final)) and read_mark(src) is not None:
                    os.rename(str(src), str(final))
            _remove_staging(e.path)
            removed.append(e.path)
        finally:
            os.close(fd)
    return removed


def _remove_staging(path):
    """Everything but the lock first, the lock last: a kill at any point leaves either a locked
    directory or an empty one, both of which the next run recognises as stale."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for e in entries:
        if e.name == LOCK:
            continue
        if e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)
        else:
            try:
                os.unlink(e.path)
            except OSError:
                pass
    for remove in (lambda: os.unlink(os.path.join(path, LOCK)), lambda: os.rmdir(path)):
        try:
            remove()
        except OSError:
            pass


def _remove_unlocked_empty(path, grace=UNLOCKED_GRACE):
    """A run killed between mkdtemp and creating its lock file left an empty staging directory.

    Only an empty one is removed (rmdir cannot remove anything else), and only once it is older than
    the microseconds a live run needs to create its lock.
    """
    try:
        if os.path.exists(os.path.join(path, LOCK)) or time.time() - os.lstat(path).st_mtime < grace:
            return
        os.rmdir(path)
    except OSError:
        pass


@contextlib.contextmanager
def staging(parent, name):
    """A private, locked work directory for output ``name`` in ``parent``; always removed afterwards."""
    parent = Path(parent)
    clean_stale(parent, name)
    work = Path(tempfile.mkdtemp(prefix=".%s%s" % (name, STAGING), dir=str(parent)))
    fd = os.open(str(work / LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield work
    finally:
        _remove_staging(str(work))
        os.close(fd)


def _exchange(a, b):
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish_tree(work, final):
    """Put ``work``/tree at ``final``; a previous output there stays whole until the swap."""
    new, final = Path(work) / TREE, Path(final)
    if not os.path.lexists(str(final)):
        os.rename(str(new), str(final))
    elif _exchange(new, final):
        pass                                   # the old output is now at work/tree; removed with work
    else:
        os.rename(str(final), str(Path(work) / "old"))
        os.rename(str(new), str(final))
