"""Overlay extraction: hostile archives are refused with nothing written outside the root;
xattrs, ACLs and hard links survive; the rootfs strategy unpacks a full overlay."""
import io
import os
import shutil
import subprocess
import tarfile
import uuid

import pytest

from .hookrun import Chroot, Hooks, debian_root, have_debootstrap

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]


def data_dir(tmp_path, archive, mode="changed"):
    d = tmp_path / "data"
    for rel, text in (("os/family", "debian"), ("os/init", "systemd"), ("strategy", "packages"),
                      ("overlay/mode", mode), ("overlay/compression", "none")):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text + "\n")
    shutil.copy(archive, d / "overlay/archive.tar")
    return d


def add(tf, name, data=b"pwned\n", **kw):
    info = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(info, k, v)
    if info.type == tarfile.REGTYPE:
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    else:
        tf.addfile(info)


def hostile(path, kind, outside):
    with tarfile.open(path, "w") as tf:
        add(tf, "etc/harmless", b"ok\n")
        if kind == "dotdot":
            add(tf, "../../../../../../.." + str(outside))
        elif kind == "symlink":
            add(tf, "etc/evil", type=tarfile.SYMTYPE, linkname=str(outside.parent))
            add(tf, "etc/evil/" + outside.name)
        elif kind == "absolute":
            add(tf, str(outside))
        elif kind == "hardlink":
            add(tf, "etc/link", type=tarfile.LNKTYPE, linkname="../../../../.." + str(outside))
        elif kind == "proc":
            add(tf, "proc/sysrq-trigger", b"c")


@pytest.mark.parametrize("kind", ["dotdot", "symlink", "absolute", "hardlink", "proc"])
def test_hostile_overlay_refused(tmp_path, kind):
    outside_dir = tmp_path / ("outside-" + uuid.uuid4().hex[:8])
    outside_dir.mkdir()
    outside = outside_dir / "pwned"
    archive = tmp_path / "hostile.tar"
    hostile(archive, kind, outside)
    root = tmp_path / "root"
    root.mkdir()
    hooks = Hooks(root, data_dir(tmp_path, archive))
    res = hooks.run("extra-data.d", "20-migrate-overlay-stage", check=False)
    assert res.returncode != 0
    assert "tarcheck:" in res.stderr
    assert not (hooks.dir / "migrate-staged/overlay.tar").exists()
    # the rootfs strategy's root.d step refuses it too, writing nothing at all
    (hooks.dir / "migrate-data/overlay/mode").write_text("full\n")
    res = hooks.run("root.d", "30-migrate-rootfs", check=False)
    assert res.returncode != 0
    assert not outside.exists() and os.listdir(outside_dir) == []
    assert sorted(os.listdir(root)) == ["tmp"]


def test_in_chroot_extraction_cannot_escape_through_image_symlinks(tmp_path):
    """Image symlinks with absolute targets (e.g. /var/run -> /run) resolve inside the chroot."""
    root = debian_root(tmp_path / "root")
    assert os.readlink(root / "var/run") == "/run"
    archive = tmp_path / "o.tar"
    with tarfile.open(archive, "w") as tf:
        add(tf, "var/run/dib-migrate-probe", b"inside\n")
    hooks = Hooks(root, data_dir(tmp_path, archive))
    hooks.run("extra-data.d", "20-migrate-overlay-stage")
    with Chroot(root):
        hooks.run_element("post-install.d", "migrate-overlay")
    assert (root / "run/dib-migrate-probe").read_text() == "inside\n"
    assert not os.path.exists("/run/dib-migrate-probe")


def test_xattrs_acls_hardlinks_preserved(tmp_path):
    src = tmp_path / "src"
    (src / "srv/app").mkdir(parents=True)
    f = src / "srv/app/data"
    f.write_text("data\n")
    os.chown(f, 1234, 2345)
    os.chmod(f, 0o2640)
    os.link(f, src / "srv/app/data-link")
    try:
        os.setxattr(f, "user.dib-migrate", b"kept")
        subprocess.run(["setfacl", "-m", "u:4321:r", str(f)], check=True)
    except (OSError, subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("this filesystem lacks user xattrs or ACLs")
    archive = tmp_path / "o.tar.zst"
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--zstd",
                    "-C", str(src), "-cf", str(archive), "srv"], check=True)
    root = debian_root(tmp_path / "root")
    data = data_dir(tmp_path, archive)
    (data / "overlay/compression").write_text("zstd\n")
    hooks = Hooks(root, data)
    hooks.run("extra-data.d", "20-migrate-overlay-stage")
    with Chroot(root):
        hooks.run_element("post-install.d", "migrate-overlay")
    out = root / "srv/app/data"
    st = os.stat(out)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 2345, 0o2640)
    assert os.stat(root / "srv/app/data-link").st_ino == st.st_ino
    assert os.getxattr(out, "user.dib-migrate") == b"kept"
    acl = subprocess.run(["getfacl", "-n", str(out)], capture_output=True, text=True, check=True).stdout
    assert "user:4321:r--" in acl


def test_rootfs_strategy_unpacks_full_overlay(tmp_path):
    src = tmp_path / "src"
    for d in ("etc", "usr/bin", "var"):
        (src / d).mkdir(parents=True)
    (src / "etc/os-release").write_text('ID=debian\n')
    (src / "usr/bin/tool").write_text("#!/bin/sh\n")
    os.chmod(src / "usr/bin/tool", 0o4755)
    os.symlink("/run", src / "var/run")
    os.symlink("usr/bin", src / "bin")
    archive = tmp_path / "full.tar.gz"
    subprocess.run(["tar", "--numeric-owner", "-C", str(src), "-czf", str(archive), "."], check=True)
    root = tmp_path / "root"
    root.mkdir()
    data = data_dir(tmp_path, archive, mode="full")
    (data / "overlay/compression").write_text("gzip\n")
    hooks = Hooks(root, data)
    hooks.run("root.d", "30-migrate-rootfs")
    assert (root / "etc/os-release").read_text() == "ID=debian\n"
    assert os.stat(root / "usr/bin/tool").st_mode & 0o7777 == 0o4755
    assert os.readlink(root / "var/run") == "/run" and os.readlink(root / "bin") == "usr/bin"
    for d in ("proc", "sys", "dev", "tmp"):
        assert (root / d).is_dir()
    # the changed-files steps stand aside for a full overlay
    assert "migrate-rootfs" in hooks.run("extra-data.d", "20-migrate-overlay-stage").stdout


def _esp_tree(src):
    """A UEFI server's tree: its ESP mounted at /boot/efi, and a backup that merely has the same name below."""
    for rel, text in (("boot/efi/EFI/debian/grub.cfg", "search.fs_uuid 0000 root\n"),
                      ("boot/efi/EFI/debian/shimx64.efi", "MZ-old-shim\n"),
                      ("srv/backup/boot/efi/notes", "kept\n"), ("etc/os-release", "ID=debian\n")):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)


def test_overlay_leaves_out_what_the_plan_excludes(tmp_path):
    """skip-esp: the source's /boot/efi is not laid (the image's boot loader owns its ESP); the rest is."""
    src = tmp_path / "src"
    _esp_tree(src)
    archive = tmp_path / "o.tar"
    subprocess.run(["tar", "--numeric-owner", "-C", str(src), "-cf", str(archive), "./boot", "./srv"], check=True)
    root = debian_root(tmp_path / "root")
    data = data_dir(tmp_path, archive)
    (data / "overlay/exclude").write_text("/boot/efi\n")
    hooks = Hooks(root, data)
    hooks.run("extra-data.d", "20-migrate-overlay-stage")
    with Chroot(root):
        out = hooks.run("post-install.d", "60-migrate-overlay").stdout
    assert "left out: /boot/efi" in out
    assert not (root / "boot/efi/EFI").exists()
    assert (root / "srv/backup/boot/efi/notes").read_text() == "kept\n"


def test_rootfs_leaves_out_what_the_plan_excludes(tmp_path):
    src = tmp_path / "src"
    _esp_tree(src)
    archive = tmp_path / "full.tar"
    subprocess.run(["tar", "--numeric-owner", "-C", str(src), "-cf", str(archive), "."], check=True)
    root = tmp_path / "root"
    root.mkdir()
    data = data_dir(tmp_path, archive, mode="full")
    (data / "overlay/exclude").write_text("/boot/efi\n")
    hooks = Hooks(root, data)
    hooks.run("root.d", "30-migrate-rootfs")
    assert not (root / "boot/efi").exists()
    assert (root / "srv/backup/boot/efi/notes").read_text() == "kept\n"
    assert (root / "etc/os-release").exists()
    # a dpkg system gets back the apt cache directories the scan left out (DIB's dpkg element mounts on one:
    # the trixie rootfs cell stopped at "mount point does not exist")
    assert not (root / "var/cache/apt").exists()
    (src / "var/lib/dpkg").mkdir(parents=True)
    (src / "var/lib/dpkg/status").write_text("")
    subprocess.run(["tar", "--numeric-owner", "-C", str(src), "-cf", str(archive), "."], check=True)
    shutil.rmtree(root)
    root.mkdir()
    data = data_dir(tmp_path / "again", archive, mode="full")
    data.joinpath("overlay/exclude").write_text("/boot/efi\n")
    Hooks(root, data).run("root.d", "30-migrate-rootfs")
    assert (root / "var/cache/apt/archives/partial").is_dir() and (root / "var/lib/apt/lists/partial").is_dir()


def test_exclude_list_must_hold_absolute_paths(tmp_path):
    src = tmp_path / "src"
    _esp_tree(src)
    archive = tmp_path / "full.tar"
    subprocess.run(["tar", "-C", str(src), "-cf", str(archive), "."], check=True)
    root = tmp_path / "root"
    root.mkdir()
    data = data_dir(tmp_path, archive, mode="full")
    (data / "overlay/exclude").write_text("boot/efi\n")
    res = Hooks(root, data).run("root.d", "30-migrate-rootfs", check=False)
    assert res.returncode != 0 and "not an absolute path" in res.stderr
    assert not (root / "etc").exists()
