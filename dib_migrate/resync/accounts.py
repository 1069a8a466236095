"""Account databases at resync, merged as the overlay element merges them at build.

A delta that carries /etc/passwd, group, shadow or gshadow (a user added or a password changed at
cutover) would, laid as is, drop the accounts only the image's packages made (systemd-timesync,
render, kvm), which the build kept. The element's own ``merge-accounts`` puts them back, run in a
chroot of the image with the image's databases as they were before the delta; the accounts the
source removed since the previous scan (the delta's ``changes``) are left out of that copy, so
they stay removed.
"""
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import BuildError
from ..render import ELEMENTS_DIR

DATABASES = ("passwd", "group", "shadow", "gshadow")
MERGE = ELEMENTS_DIR / "migrate-overlay" / "migrate-lib" / "merge-accounts"
# passwd and shadow hold users, group and gshadow groups
_KIND = {"passwd": "users", "shadow": "users", "group": "groups", "gshadow": "groups"}


def carried(names):
    return [db for db in DATABASES if "/etc/" + db in names]


@contextmanager
def merged(mnt, names, changes, say):
    """Around laying the delta over the image mounted at ``mnt``; ``names`` are the delta's members."""
    if not carried(names):
        yield
        return
    mnt = Path(mnt)
    scratch = next((mnt / d for d in ("tmp", "var/tmp", "root") if (mnt / d).is_dir() and not (mnt / d).is_symlink()),
                   None)
    if scratch is None:
        raise BuildError("the image has no /tmp, /var/tmp or /root to merge its accounts in")
    saved = Path(tempfile.mkdtemp(prefix="dibm-accounts.", dir=str(scratch)))
    try:
        for db in DATABASES:
            path = mnt / "etc" / db
            if path.is_file() and not path.is_symlink():
                gone = set((changes.get(_KIND[db]) or {}).get("removed") or ())
                lines = path.read_bytes().splitlines(True)
                (saved / db).write_bytes(b"".join(
                    line for line in lines if line.split(b":", 1)[0].decode("utf-8", "surrogateescape") not in gone))
        (saved / "ids").write_text("")
        shutil.copy(str(MERGE), str(saved / "merge-accounts"))
        yield
        inside = "/" + str(saved.relative_to(mnt))
        r = subprocess.run(["chroot", str(mnt), "bash", inside + "/merge-accounts", inside],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = r.stdout.decode("utf-8", "replace").strip()
        if r.returncode != 0:
            raise BuildError("merging the image's own accounts back failed (exit %d): %s" % (r.returncode, out))
        for line in out.splitlines():
            say(line.replace("migrate-overlay: ", "", 1))
    finally:
        shutil.rmtree(str(saved), ignore_errors=True)
