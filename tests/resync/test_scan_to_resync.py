"""A real delta scan laid by resync, without DIB: a debootstrapped root is scanned, packed
into a disk image (what a build from that scan holds for these files), changed (content,
owner, mode, xattr, ACL, a new directory, deletions, a package file removed, a user added and one
removed), scanned --since, and resynced; the
image then holds exactly the root's state for every path the change touched."""
import os
import shutil
import subprocess

import pytest

from dib_migrate.scan import cli as scan_cli
from dib_migrate import cli, outputs
from dib_migrate.verify.image import open_image
from tests.support.rootfs import debian_root, have_debootstrap
from tests.verify.mkimage import make_disk

pytestmark = [pytest.mark.rootfs, pytest.mark.skipif(not have_debootstrap() or not shutil.which("setfacl"),
                                                     reason="needs root, debootstrap and setfacl")]


def facts(path):
    st = os.lstat(path)
    acl = subprocess.run(["getfacl", "-cp", str(path)], stdout=subprocess.PIPE, text=True).stdout
    xattrs = {n: os.getxattr(path, n, follow_symlinks=False) for n in os.listxattr(path, follow_symlinks=False)
              if n.startswith("user.")}
    data = open(path, "rb").read() if os.path.isfile(path) and not os.path.islink(path) else None
    return (st.st_mode, st.st_uid, st.st_gid, data, xattrs, acl)


def test_scan_since_then_resync_brings_the_image_to_the_root(tmp_path):
    root = debian_root(tmp_path / "root")
    (root / "srv/app").mkdir(parents=True)
    for name in ("keep.txt", "edit.txt", "gone.txt", "chmod.txt"):
        (root / "srv/app" / name).write_text(name + "\n")
    (root / "srv/app/olddir").mkdir()
    (root / "srv/app/olddir/x").write_text("x\n")
    subprocess.run(["chroot", str(root), "useradd", "leaver"], check=True)
    assert scan_cli.main(["--root", str(root), "-o", str(tmp_path / "scan1"), "-q"]) == 0
    # the image also has an account only its packages made (as a build keeps systemd-timesync)
    databases = {db: (root / "etc" / db).read_bytes() for db in ("passwd", "group", "shadow", "gshadow")}
    for db, line in (("passwd", "imgonly:x:990:990::/nonexistent:/usr/sbin/nologin"), ("group", "imgonly:x:990:"),
                     ("shadow", "imgonly:!*:19000::::::"), ("gshadow", "imgonly:!::")):
        with open(root / "etc" / db, "a") as f:
            f.write(line + "\n")
    image = make_disk(root, tmp_path / "srv01.raw", size_mib=400)
    outputs.write_mark(tmp_path, kind="outdir", files=[image.name])
    for db, data in databases.items():
        (root / "etc" / db).write_bytes(data)

    app = root / "srv/app"
    (app / "edit.txt").write_text("edited at cutover\n")
    (app / "gone.txt").unlink()
    shutil.rmtree(app / "olddir")
    os.chmod(app / "chmod.txt", 0o600)
    os.chown(app / "chmod.txt", 1500, 1500)
    os.setxattr(app / "keep.txt", "user.tag", b"cutover")
    subprocess.run(["setfacl", "-m", "u:1500:r", str(app / "edit.txt")], check=True)
    (app / "newdir").mkdir(mode=0o750)
    (app / "newdir/data").write_bytes(os.urandom(3 << 20))
    os.symlink("../edit.txt", app / "newdir/link")
    with open(root / "etc/motd", "a") as f:          # a package conffile
        f.write("migrated\n")
    (root / "etc/cron.daily/dpkg").unlink()          # a package file the admin removes at cutover
    subprocess.run(["chroot", str(root), "useradd", "cutover"], check=True)
    subprocess.run(["chroot", str(root), "userdel", "leaver"], check=True)
    assert scan_cli.main(["--root", str(root), "--since", str(tmp_path / "scan1/report.yaml"),
                          "-o", str(tmp_path / "scan2"), "-q"]) == 0
    assert cli.main(["resync", str(image), str(tmp_path / "scan2/report.yaml")]) == 0

    touched = ["/srv/app/edit.txt", "/srv/app/chmod.txt", "/srv/app/keep.txt", "/srv/app/newdir",
               "/srv/app/newdir/data", "/srv/app/newdir/link", "/etc/motd", "/srv/app"]
    with open_image(image) as m:
        for p in touched:
            assert facts(m.path(p)) == facts(root / p.lstrip("/")), p
        assert os.readlink(m.path("/srv/app/newdir/link")) == "../edit.txt"
        for p in ("/srv/app/gone.txt", "/srv/app/olddir", "/etc/cron.daily/dpkg"):
            assert not os.path.lexists(m.path(p)), p
        # the source's accounts as they are now, and the image's own one kept
        for db in ("passwd", "group", "shadow", "gshadow"):
            names = [line.split(":")[0] for line in m.path("/etc/" + db).read_text().splitlines()]
            source = [line.split(":")[0] for line in (root / "etc" / db).read_text().splitlines()]
            assert names == source + ["imgonly"], db
            assert "cutover" in names and "leaver" not in names, db
        assert facts(m.path("/etc/shadow"))[:3] == facts(root / "etc/shadow")[:3]
