"""The dpkg fast path: a package file whose ctime predates its package's install is not
hashed; everything written, renamed or re-timed after the install is. A small fake dpkg
root written in install order (files first, then info/<pkg>.list and .md5sums, as dpkg does)
on the test's own file system; no root needed."""
import hashlib
import os
import subprocess
import time
from pathlib import Path

import yaml

from dib_migrate.scan import scanner as S

FILES = {"/usr/bin/demo": "#!/bin/sh\necho demo\n",
         "/usr/share/demo/untouched.txt": "left alone\n",
         "/usr/share/demo/edited.txt": "original text\n",
         "/usr/share/demo/retimed.txt": "original text\n",
         "/usr/share/demo/replaced.txt": "original text\n",
         "/usr/share/demo/chmodded.txt": "same content\n",
         "/etc/demo.conf": "setting = 1\n"}
CONFFILES = ("/etc/demo.conf",)
# clock ticks are up to 10 ms (CONFIG_HZ=100) and file times use the coarse clock
TICK = 0.05


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def install(tmp_path):
    """A root where dpkg 'installed' package demo: its files, then the .list and .md5sums."""
    root = tmp_path / "root"
    for path, text in [("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"), ("/bin/sh", "#!/bin/sh\n"),
                       ("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n")]:
        p = root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for path, text in FILES.items():
        p = root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    spare = root / "usr/share/demo/.spare"           # prepared before the install, moved in later
    spare.write_text("another text\n")
    time.sleep(TICK)
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    dirs = sorted({os.path.dirname(p) for p in FILES})
    (info / "demo.list").write_text("".join(p + "\n" for p in ["/."] + dirs + list(FILES)))
    (info / "demo.md5sums").write_text("".join("%s  %s\n" % (md5(text), path.lstrip("/"))
                                               for path, text in FILES.items() if path not in CONFFILES))
    (root / "var/lib/dpkg/status").write_text(
        "Package: demo\nStatus: install ok installed\nPriority: optional\nSection: misc\n"
        "Maintainer: Test <test@example.test>\nArchitecture: all\nVersion: 1.0-1\n"
        "Conffiles:\n /etc/demo.conf %s\nDescription: demo\n\n" % md5(FILES["/etc/demo.conf"]))
    time.sleep(TICK)
    return root


def admin_edits(root):
    """What an admin does after the install; only the content changes must be reported."""
    (root / "usr/share/demo/edited.txt").write_text("edited by the admin\n")
    retimed = root / "usr/share/demo/retimed.txt"
    before = os.stat(retimed)
    retimed.write_text("ORIGINAL TEXT\n")              # same size ...
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(before.st_mtime))
    subprocess.run(["touch", "-d", stamp, str(retimed)], check=True)    # ... and the old mtime
    os.utime(retimed, ns=(before.st_atime_ns, before.st_mtime_ns))     # to the nanosecond
    assert os.stat(retimed).st_mtime_ns == before.st_mtime_ns
    os.rename(root / "usr/share/demo/.spare", root / "usr/share/demo/replaced.txt")
    os.chmod(root / "usr/share/demo/chmodded.txt", 0o600)


def verify(root, thorough=False):
    records = S.parse_dpkg_status((root / "var/lib/dpkg/status").read_text())
    result = S.dpkg_package_files(S.Root(str(root)), records, S.Progress(quiet=True), 2, thorough)
    return result.wait()


EDITED = {"/usr/share/demo/edited.txt", "/usr/share/demo/retimed.txt", "/usr/share/demo/replaced.txt"}


def test_untouched_files_are_skipped_and_edits_are_caught(tmp_path):
    root = install(tmp_path)
    admin_edits(root)
    result = verify(root)
    assert result.method == "ctime"
    assert result.changed == EDITED
    assert result.verified_files == len(FILES)
    # hashed: the three edits, the chmod'ed file (ctime moved, content the same) and the
    # conffile (always hashed); skipped: the two files nobody touched
    assert (result.hashed_files, result.skipped_files) == (5, 2)


def test_a_fresh_install_hashes_only_the_conffiles(tmp_path):
    result = verify(install(tmp_path))
    assert result.changed == set()
    assert (result.hashed_files, result.skipped_files) == (len(CONFFILES), len(FILES) - len(CONFFILES))


def test_an_edited_conffile_is_caught(tmp_path):
    root = install(tmp_path)
    (root / "etc/demo.conf").write_text("setting = 2\n")
    assert verify(root).changed == {"/etc/demo.conf"}


def test_thorough_hashes_every_file(tmp_path):
    root = install(tmp_path)
    admin_edits(root)
    result = verify(root, thorough=True)
    assert result.method == "thorough"
    assert result.changed == EDITED
    assert (result.hashed_files, result.skipped_files) == (len(FILES), 0)


def test_a_copied_root_is_hashed_in_full(tmp_path):
    """cp -a / rsync / tar keep mtimes but give every file a new ctime: nothing can be skipped."""
    root = install(tmp_path)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(root), str(copy)], check=True)
    result = verify(copy)
    assert result.method == "ctime" and result.changed == set()
    assert (result.hashed_files, result.skipped_files) == (len(FILES), 0)


def test_a_later_list_rewrite_does_not_hide_an_earlier_edit(tmp_path):
    """dpkg rewrites a package's .list when another package takes over one of its files."""
    root = install(tmp_path)
    (root / "usr/share/demo/edited.txt").write_text("edited by the admin\n")
    time.sleep(TICK)
    listing = root / "var/lib/dpkg/info/demo.list"
    listing.write_text(listing.read_text())
    assert "/usr/share/demo/edited.txt" in verify(root).changed


def test_a_clock_that_went_back_hashes_everything(tmp_path, monkeypatch):
    root = install(tmp_path)
    monkeypatch.setattr(S.time, "time", lambda: 1000000000.0)     # 2001: before the install
    result = verify(root)
    assert result.method == "thorough"
    assert (result.hashed_files, result.skipped_files) == (len(FILES), 0)


def test_the_report_says_which_method_was_used(tmp_path):
    root = install(tmp_path)
    admin_edits(root)
    for argv, method, skipped in (([], "ctime", 2), (["--thorough"], "thorough", 0)):
        out = tmp_path / ("out-" + method)
        assert S.main(["--root", str(root), "-o", str(out), "-q"] + argv) == 0
        report = yaml.safe_load((out / "report.yaml").read_text())
        assert report["scanner"]["verify"] == {"method": method, "files": len(FILES),
                                               "hashed": len(FILES) - skipped, "skipped": skipped}
        listing = subprocess.run(["tar", "-tf", str(out / report["overlay"]["archive"])],
                                 stdout=subprocess.PIPE, check=True, text=True).stdout
        members = {"/" + Path(m).as_posix().rstrip("/") for m in listing.split()}
        assert EDITED <= members
        assert not members & {"/usr/share/demo/untouched.txt", "/usr/bin/demo", "/etc/demo.conf"}
