"""dib-migrate resync on real disk images (a debootstrapped root packed into an ext4 partition):
deletions and the delta laid with owners, modes and xattrs inside a chroot of the image,
refusals that leave the image untouched, the copy that replaces the image only on success."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from dib_migrate import cli, outputs
from dib_migrate.resync import plan_paths
from dib_migrate.verify.image import open_image
from tests.support.rootfs import debian_root, have_debootstrap
from tests.verify.mkimage import make_disk

pytestmark = [pytest.mark.rootfs, pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "debian12-web" / "report.yaml"


@pytest.fixture(scope="module")
def base_image(tmp_path_factory):
    d = tmp_path_factory.mktemp("resync-base")
    root = debian_root(d / "root")
    (root / "srv/www").mkdir(parents=True)
    (root / "srv/www/index.html").write_text("old page\n")
    (root / "srv/www/gone.html").write_text("to be deleted\n")
    (root / "srv/www/olddir").mkdir()
    (root / "srv/www/olddir/a").write_text("a\n")
    (root / "etc/network").mkdir(exist_ok=True)
    (root / "etc/network/interfaces").write_text("# rewritten by the plan\n")
    # package files the source's admin removes after the first scan: one plain, one boot path
    (root / "etc/cron.daily").mkdir(exist_ok=True)
    (root / "etc/cron.daily/apache2").write_text("#!/bin/sh\n")
    (root / "usr/lib/modules/6.1.0-9-amd64/extra").mkdir(parents=True)
    (root / "usr/lib/modules/6.1.0-9-amd64/extra/dummy.ko").write_bytes(b"\x7fELF")
    # an absolute directory symlink in the image: must resolve inside the image, not on the host
    (root / "srv/link").symlink_to("/srv/www")
    image = make_disk(root, d / "base.raw", size_mib=400)
    shutil.rmtree(root)
    return image


def _tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode, uid, pax in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = mode, uid, uid
            info.pax_headers = pax
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def delta_report(d, entries, deleted, packages=None, since="2026-11-20T09:30:00Z", absent=()):
    """A delta scan's report over the example server: the shape `scan --since` writes."""
    d.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(EXAMPLE.read_text())
    archive = d / "overlay.tar"
    archive.write_bytes(_tar(entries))
    data["scanned_at"] = "2026-11-27T04:00:00Z"
    data["overlay"] = {"archive": "overlay.tar", "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
                       "files": len(entries), "bytes": 0, "mode": "delta"}
    data["delta"] = {"since": {"scanned_at": since}, "deleted": deleted,
                     "changes": {"packages": packages or {"added": [], "removed": [], "changed": []},
                                 "services": [], "users": {}, "groups": {}}}
    data["absent_package_files"] = [{"path": p, "package": "somepkg"} for p in absent]
    (d / "report.yaml").write_text(yaml.safe_dump(data))
    return d / "report.yaml"


ENTRIES = [("srv/www/index.html", b"new page\n", 0o640, 1234, {"SCHILY.xattr.user.origin": "source"}),
           ("srv/www/new", None, 0o750, 1234, {}),
           ("srv/www/new/data.bin", b"\x00\x01" * 1000, 0o600, 1234, {}),
           ("srv/link/via-link.txt", b"through the image's symlink\n", 0o644, 0, {})]


def built(source, image):
    """``image``: a copy of ``source`` in a directory marked as a build's OUTDIR listing it."""
    shutil.copy(source, image)
    outputs.write_mark(image.parent, kind="outdir", files=[image.name])
    return image


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_resync_applies_files_and_deletions_in_place(base_image, tmp_path, capsys):
    image = built(base_image, tmp_path / "web01-ec2.raw")
    report = delta_report(tmp_path / "delta", ENTRIES, ["/srv/www/gone.html", "/srv/www/olddir"])
    assert not Path("/srv/www/via-link.txt").exists()
    assert cli.main(["resync", str(image), str(report)]) == 0
    assert capsys.readouterr().out.strip() == str(image)
    with open_image(image) as m:
        page = m.path("/srv/www/index.html")
        assert page.read_text() == "new page\n"
        st = page.stat()
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 1234, 1234)
        assert os.getxattr(page, "user.origin") == b"source"
        assert (m.path("/srv/www/new/data.bin").read_bytes()) == b"\x00\x01" * 1000
        assert m.path("/srv/www/new").stat().st_mode & 0o7777 == 0o750
        assert not m.path("/srv/www/gone.html").exists()
        assert not m.path("/srv/www/olddir").exists()
        assert m.path("/srv/www/via-link.txt").read_text() == "through the image's symlink\n"
    assert not Path("/srv/www/via-link.txt").exists()
    record = json.loads(Path(str(image) + ".resync.json").read_text())
    assert record["scanned_at"] == "2026-11-27T04:00:00Z"
    assert outputs.read_mark(tmp_path)["files"] == ["web01-ec2.raw", "web01-ec2.raw.resync.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".dib-migrate.json"]
    # the next delta must follow this one
    again = delta_report(tmp_path / "again", ENTRIES, [])
    assert cli.main(["resync", str(image), str(again)]) == 2
    assert "apply the deltas in order" in capsys.readouterr().err


def test_package_files_the_source_lacks_now_are_removed_but_boot_paths_and_plan_files(base_image, tmp_path,
                                                                                      capsys):
    image = built(base_image, tmp_path / "web01-ec2.raw")
    absent = ["/etc/cron.daily/apache2", "/usr/lib/modules/6.1.0-9-amd64/extra/dummy.ko",
              "/etc/network/interfaces", "/srv/www/never-there"]
    report = delta_report(tmp_path / "delta", ENTRIES[:1], ["/srv/www/gone.html"], absent=absent)
    assert cli.main(["resync", str(image), str(report), "--plan", str(_plan(tmp_path))]) == 0
    assert "3 deletions (1 deleted since the previous scan" in capsys.readouterr().err
    with open_image(image) as m:
        assert not m.path("/etc/cron.daily/apache2").exists()
        assert not m.path("/srv/www/gone.html").exists()
        assert m.path("/usr/lib/modules/6.1.0-9-amd64/extra/dummy.ko").exists()     # the image's kernel's
        assert m.path("/etc/network/interfaces").read_text() == "# rewritten by the plan\n"
    record = json.loads(Path(str(image) + ".resync.json").read_text())
    assert record["applied"][-1]["deleted"] == ["/srv/www/gone.html", "/etc/cron.daily/apache2",
                                                "/srv/www/never-there"]


def test_qcow2_is_converted_back(base_image, tmp_path):
    image = tmp_path / "web01.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(base_image), str(image)], check=True)
    outputs.write_mark(tmp_path, kind="outdir", files=[image.name])
    report = delta_report(tmp_path / "delta", ENTRIES[:1], ["/srv/www/gone.html"])
    assert cli.main(["resync", str(image), str(report)]) == 0
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image)],
                                     stdout=subprocess.PIPE, check=True).stdout)
    assert info["format"] == "qcow2"
    with open_image(image) as m:
        assert m.path("/srv/www/index.html").read_text() == "new page\n"
        assert not m.path("/srv/www/gone.html").exists()


def _plan(tmp_path):
    plan = {"host": "web01", "changes": [
        {"action": "set-network", "subject": "eth0", "rule": "net-static", "reason": "r",
         "data": {"file": "/etc/network/interfaces"}},
        {"action": "write-hosts", "subject": "/etc/hosts", "rule": "net-hosts", "reason": "r"}]}
    path = tmp_path / "web01.plan.json"
    path.write_text(json.dumps(plan))
    return path


@pytest.mark.parametrize("case", ["packages", "plan-file", "plan-deletion", "other-host", "not-delta"])
def test_refusals_leave_the_image_untouched(base_image, tmp_path, capsys, case):
    image = built(base_image, tmp_path / "web01.raw")
    before = sha(image)
    entries, deleted, packages = ENTRIES[:1], [], None
    if case == "packages":
        packages = {"added": ["redis-server=7.0.15-1"], "removed": [], "changed": []}
    elif case == "plan-file":
        entries = entries + [("etc/network/interfaces", b"auto eth0\n", 0o644, 0, {})]
    elif case == "plan-deletion":
        deleted = ["/etc/hosts"]
    report = delta_report(tmp_path / "delta", entries, deleted, packages)
    plan = _plan(tmp_path)
    if case == "other-host":
        plan.write_text(json.dumps({"host": "db02", "changes": []}))
    if case == "not-delta":
        data = yaml.safe_load(report.read_text())
        del data["delta"]
        data["overlay"]["mode"] = "changed"
        report.write_text(yaml.safe_dump(data))
    assert cli.main(["resync", str(image), str(report)]) == 2
    err = capsys.readouterr().err
    expected = {"packages": "needs a rebuild", "plan-file": "/etc/network/interfaces: net-static set-network",
                "plan-deletion": "/etc/hosts: net-hosts", "other-host": "'db02'",
                "not-delta": "delta"}[case]
    assert expected in err
    assert sha(image) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dib-migrate.json", "delta", "web01.plan.json", "web01.raw"]


def test_a_failure_midway_keeps_the_old_image(base_image, tmp_path, capsys):
    image = built(base_image, tmp_path / "web01.raw")
    before = sha(image)
    # a regular file in the image where the delta needs a directory: the image's tar fails
    report = delta_report(tmp_path / "delta", [("etc/hostname/sub", b"x", 0o644, 0, {})], [])
    assert cli.main(["resync", str(image), str(report)]) == 1
    assert "tar" in capsys.readouterr().err
    assert sha(image) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dib-migrate.json", "delta", "web01.raw"]
    assert subprocess.run(["losetup", "-j", str(image)], stdout=subprocess.PIPE).stdout == b""


def test_an_image_dib_migrate_did_not_build_is_refused(base_image, tmp_path, capsys):
    image = tmp_path / "operator.raw"
    shutil.copy(base_image, image)
    report = delta_report(tmp_path / "delta", ENTRIES[:1], [])
    assert cli.main(["resync", str(image), str(report)]) == 2
    assert "not an image dib-migrate built" in capsys.readouterr().err


def test_plan_paths_cover_what_the_elements_write():
    plan = {"changes": [
        {"action": "keep-fstab-line", "subject": "/data", "rule": "fstab-keep", "reason": ""},
        {"action": "reset-adjtime", "subject": "/etc/adjtime", "rule": "clock-adjtime", "reason": ""},
        {"action": "identity", "subject": "reset", "rule": "identity", "reason": "", "data": {"machine_id": "reset"}},
        {"action": "regen-grub", "subject": "grub2", "rule": "boot-regen", "reason": ""},
        {"action": "initramfs-drivers", "subject": "virtio_blk", "rule": "boot-drivers", "reason": "",
         "data": {"drivers": ["virtio_blk"], "files": ["/etc/initramfs-tools/conf.d/dib-migrate"]}}]}
    paths = plan_paths.rewritten(plan)
    assert {"/etc/fstab", "/etc/adjtime", "/etc/machine-id", "/etc/default/grub",
            "/etc/initramfs-tools/conf.d/dib-migrate"} <= set(paths)
