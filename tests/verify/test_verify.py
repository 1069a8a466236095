"""verify on small real disks: every check passes on a good image and fails on the
matching defect. Needs root (loop devices, mount)."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from dib_migrate import verify as V
from dib_migrate.plan.model import ACTIONS, Change
from dib_migrate.verify import initramfs
from . import mkimage

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("losetup", "partx", "mkfs.ext4", "qemu-img")),
    reason="needs root, losetup, partx, mkfs.ext4 and qemu-img")


def _disk(tmp_path, mutate=None, name="disk.raw"):
    root = mkimage.good_root(tmp_path / ("root-" + name))
    if mutate:
        mutate(root)
    return mkimage.make_disk(root, tmp_path / name)


def _results(rows):
    return {(c.action, c.subject): (ok, detail) for c, ok, detail in rows}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return _disk(tmp_path_factory.mktemp("good"))


def test_every_action_has_a_check():
    from dib_migrate.verify import checks
    assert set(ACTIONS) <= set(checks.CHECKS)


def test_good_image_passes_everything(good):
    rows = V.verify(good, mkimage.PLAN)
    failed = [V.format_row(*r) for r in rows if not r[1]]
    assert not failed, "\n".join(failed)
    assert len(rows) == len(mkimage.PLAN.changes) + 1     # + the disk format row
    # nothing stays attached or mounted
    assert str(good) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout


def test_qcow2_is_read_through_a_converted_copy(good, tmp_path):
    q = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(good), str(q)], check=True)
    plan = replace(mkimage.PLAN, build=replace(mkimage.PLAN.build, output_format="qcow2"))
    rows = V.verify(q, plan)
    assert all(ok for _, ok, _ in rows), [V.format_row(*r) for r in rows if not r[1]]


def test_image_is_not_modified(good):
    before = subprocess.run(["sha256sum", str(good)], capture_output=True, text=True).stdout
    V.verify(good, mkimage.PLAN)
    assert subprocess.run(["sha256sum", str(good)], capture_output=True, text=True).stdout == before


def _rm(path):
    return lambda root: os.unlink(root / path.lstrip("/"))


def _write(path, text):
    def f(root):
        p = root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(p):
            p.unlink()
        p.write_text(text)
    return f


def _link(path, target):
    def f(root):
        p = root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)
    return f


DEFECTS = {
    "libvirtd-enabled": (_link("/etc/systemd/system/multi-user.target.wants/libvirtd.service",
                               "/lib/systemd/system/libvirtd.service"), ("disable-service", "libvirtd")),
    "ssh-disabled": (_rm("/etc/systemd/system/multi-user.target.wants/ssh.service"),
                     ("enable-service", "ssh")),
    "unmasked": (_rm("/etc/systemd/system/x11-common.service"), ("mask-service", "x11-common")),
    "nfs-kept": (_write("/etc/fstab", "UUID=%s / ext4 defaults 0 1\ntmpfs /scratch tmpfs defaults 0 0\n"
                        "nas:/export/www /srv/shared nfs rw 0 0\n" % mkimage.ROOT_UUID),
                 ("drop-fstab-line", "/srv/shared")),
    "root-by-device": (_write("/etc/fstab", "/dev/xvda1 / ext4 defaults 0 1\n"
                              "tmpfs /scratch tmpfs defaults 0 0\n"),
                       ("drop-fstab-line", "/")),
    "root-by-label": (_write("/etc/fstab", "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n"
                             "tmpfs /scratch tmpfs defaults 0 0\n"), ("drop-fstab-line", "/")),
    "keep-line-lost": (_write("/etc/fstab", "UUID=%s / ext4 defaults 0 1\n" % mkimage.ROOT_UUID),
                       ("keep-fstab-line", "/scratch")),
    "drift-kept": (_write("/etc/adjtime", "0.013 1700000000 0.0\n1700000000\nUTC\n"),
                   ("reset-adjtime", "/etc/adjtime")),
    "udev-rules-left": (_write("/etc/udev/rules.d/70-persistent-net.rules", "x\n"),
                        ("remove-file", "/etc/udev/rules.d/70-persistent-net.rules")),
    "hwaddress-left": (_write("/etc/network/interfaces",
                              "auto eth0\niface eth0 inet static\n    address 10.0.2.15/24\n"
                              "    gateway 10.0.2.2\n"
                              "    hwaddress ether 00:16:3e:00:00:01\n    dns-nameservers 10.0.2.3\n"
                              "allow-hotplug eth1\niface eth1 inet dhcp\n"), ("set-network", "eth0")),
    "static-became-dhcp": (_write("/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\n"
                                  "allow-hotplug eth1\niface eth1 inet dhcp\n"), ("set-network", "eth0")),
    "hosts-differ": (_write("/etc/hosts", "127.0.0.1 other\n"), ("write-hosts", "/etc/hosts")),
    "cloud-cfg-missing": (_rm("/etc/cloud/cloud.cfg.d/91-dib-migrate.cfg"),
                          ("cloud-config", "/etc/cloud/cloud.cfg.d/91-dib-migrate.cfg")),
    "agent-setting": (_write("/etc/waagent.conf", "ResourceDisk.EnableSwap=y\n"),
                      ("agent-config", "/etc/waagent.conf")),
    "no-autorelabel": (_rm("/.autorelabel"), ("selinux-relabel", "/.autorelabel")),
    "driver-missing": (lambda root: (root / ("boot/initrd.img-" + mkimage.KVER)).write_bytes(
        mkimage.initrd(["virtio_pci"])),
                       ("initramfs-drivers", " ".join(mkimage.DRIVERS))),
    "no-initrd": (_rm("/boot/initrd.img-" + mkimage.KVER), ("regen-initramfs", "all kernels")),
    "console-arg-lost": (_write("/etc/default/grub", 'GRUB_CMDLINE_LINUX=""\n'),
                         ("kernel-args", "console=ttyS0,115200")),
    "grub-root-device": (_write("/boot/grub/grub.cfg", "linux /boot/vmlinuz-%s root=/dev/xvda1 ro "
                                "console=ttyS0,115200\n" % mkimage.KVER), ("regen-grub", "grub2")),
    "package-missing": (lambda root: (root / "var/lib/dpkg/status").write_text(
        (root / "var/lib/dpkg/status").read_text().replace(
            "Package: openssh-server\nStatus: install ok installed",
            "Package: openssh-server\nStatus: deinstall ok config-files")),
        ("install-packages", "3 packages")),
    "esp-carried": (_write("/boot/efi/EFI/debian/grub.cfg", "search.fs_uuid 0000 root\n"),
                    ("skip-esp", "/boot/efi")),
    "firstboot-disabled": (_rm("/etc/systemd/system/multi-user.target.wants/dib-migrate-firstboot.service"),
                           ("firstboot", "dib-migrate-firstboot")),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_fails_its_check(tmp_path, defect):
    mutate, key = DEFECTS[defect]
    rows = _results(V.verify(_disk(tmp_path, mutate), mkimage.PLAN))
    ok, detail = rows[key]
    assert not ok, detail
    others = [k for k, (o, _) in rows.items() if not o and k != key]
    # a defect fails its own check; at most a closely related one fails with it
    assert len(others) <= 2, others


def test_removed_package_still_installed(tmp_path):
    def mutate(root):
        with open(root / "var/lib/dpkg/status", "a") as f:
            f.write("Package: xe-guest-utilities\nStatus: install ok installed\n\n")
    rows = _results(V.verify(_disk(tmp_path, mutate), mkimage.PLAN))
    assert not rows[("remove-package", "xe-guest-utilities")][0]


def test_unknown_action_fails_loudly(good):
    bogus = Change("regen-grub", "x", "r", "r")
    object.__setattr__(bogus, "action", "teleport")
    plan = replace(mkimage.PLAN, changes=(bogus,))
    rows = V.verify(good, plan)
    assert not rows[0][1] and "no check for action 'teleport'" in rows[0][2]


def test_overlay_compared_member_by_member(tmp_path):
    disk = _disk(tmp_path, _write("/srv/www/index.html", "hello\n"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"hello\n"
        ti = tarfile.TarInfo("srv/www/index.html")
        ti.size, ti.mode = len(data), 0o644
        tar.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("etc/hosts")     # rewritten by write-hosts: not compared
        ti.size = 3
        tar.addfile(ti, io.BytesIO(b"xyz"))
    good_tar = tmp_path / "good.tar.gz"
    good_tar.write_bytes(buf.getvalue())
    rows = _results(V.verify(disk, mkimage.PLAN, overlay=good_tar))
    assert rows[("apply-overlay", "overlay.tar.gz")][0], rows[("apply-overlay", "overlay.tar.gz")]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo("srv/www/index.html")
        ti.size, ti.mode, ti.uid = 4, 0o600, 1234
        tar.addfile(ti, io.BytesIO(b"evil"))
    bad_tar = tmp_path / "bad.tar.gz"
    bad_tar.write_bytes(buf.getvalue())
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=bad_tar))[("apply-overlay", "overlay.tar.gz")]
    assert not ok and "content differs" in detail and "mode 644" in detail and "owner" in detail


def test_cli_exit_codes(good, tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(mkimage.PLAN.to_dict()))
    assert V.main([str(good), "--plan", str(plan)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS net-static set-network eth0 ")
    assert out[-1] == "%d checks, 0 failed" % (len(mkimage.PLAN.changes) + 1)
    bad = _disk(tmp_path, DEFECTS["libvirtd-enabled"][0], name="bad.raw")
    assert V.main([str(bad), "--plan", str(plan)]) == 1
    assert "FAIL svc-libvirtd disable-service libvirtd" in capsys.readouterr().out
    assert V.main([str(tmp_path / "nope.raw"), "--plan", str(plan)]) == 2
    (tmp_path / "junk.json").write_text("{}")
    assert V.main([str(good), "--plan", str(tmp_path / "junk.json")]) == 2


def test_azure_size_must_be_whole_mib(tmp_path):
    disk = _disk(tmp_path)
    with open(disk, "ab") as f:
        f.write(b"\0" * 512)
    plan = replace(mkimage.PLAN, target="azure", changes=())
    rows = _results(V.verify(disk, plan))
    assert not rows[("size-mib", "azure")][0]


def test_initramfs_reader_handles_early_cpio_and_compression(tmp_path):
    f = tmp_path / "initrd"
    f.write_bytes(mkimage.initrd(["virtio_net", "hv-vmbus"]))
    names = initramfs.list_files(f)
    assert "kernel/x86/microcode/GenuineIntel.bin" in names and "init" in names
    assert {"virtio_net", "hv_vmbus"} <= initramfs.modules(names)


def test_service_states_without_systemctl(good, monkeypatch):
    # a build host without systemd: the unit links are read directly
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda t: None if t == "systemctl" else real_which(t))
    rows = V.verify(good, mkimage.PLAN)
    svc = [r for r in rows if getattr(r[0], "area", None) == "services"]
    assert svc and all(ok for _, ok, _ in svc), [V.format_row(*r) for r in svc]


def test_overlay_says_what_it_did_not_compare_and_why(tmp_path):
    # issue 15: "3506 members match" for a 3,623-entry overlay, silent about the rest
    disk = _disk(tmp_path, _write("/srv/www/index.html", "hello\n"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo("srv/www/index.html")
        ti.size, ti.mode = 6, 0o644
        tar.addfile(ti, io.BytesIO(b"hello\n"))
        ti = tarfile.TarInfo("etc/hosts")
        ti.size = 3
        tar.addfile(ti, io.BytesIO(b"xyz"))
        ti = tarfile.TarInfo("etc/systemd/system/multi-user.target.wants/nginx.service")
        ti.type, ti.linkname = tarfile.SYMTYPE, "/lib/systemd/system/nginx.service"
        tar.addfile(ti)
        ti = tarfile.TarInfo("run/initctl")
        ti.type = tarfile.FIFOTYPE
        tar.addfile(ti)
    archive = tmp_path / "overlay.tar.gz"
    archive.write_bytes(buf.getvalue())
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=archive))[("apply-overlay", "overlay.tar.gz")]
    assert ok, detail
    assert detail == ("1 of 4 members match (content, mode, owner); 3 not compared: "
                      "1 device and fifo nodes (/run/initctl); "
                      "1 rewritten by other Changes or the build (/etc/hosts); "
                      "1 service links (checked by the service Changes) "
                      "(/etc/systemd/system/multi-user.target.wants/nginx.service)"), detail


def test_provision_key_must_be_gone(tmp_path):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL9HC32jOYbe0Cdz9cMqeKogiyB7VZP47B1kXfEpISlV " \
          "dib-migrate-packer-provision"
    change = Change("provision-key", "/root/.ssh/authorized_keys", "packer-provision", "r",
                    {"public_key": key, "marker": "dib-migrate-packer-provision"})
    plan = replace(mkimage.PLAN, changes=(change,))
    own = "ssh-rsa AAAAB3NzaC1yc2E source@admin\n"
    kept = _disk(tmp_path, _write("/root/.ssh/authorized_keys", own), name="kept.raw")
    ok, detail = _results(V.verify(kept, plan))[("provision-key", "/root/.ssh/authorized_keys")]
    assert ok and detail == "temporary key gone; 1 other line(s) kept"
    left = _disk(tmp_path, _write("/root/.ssh/authorized_keys", own + key + "\n"), name="left.raw")
    ok, detail = _results(V.verify(left, plan))[("provision-key", "/root/.ssh/authorized_keys")]
    assert not ok and detail.startswith("temporary key still in /root/.ssh/authorized_keys (1 line(s))")


def _tar_gz(path, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tar.addfile(ti, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


def test_a_resynced_image_is_checked_against_its_deltas(tmp_path):
    """IMAGE.resync.json (written by resync): a delta's members supersede the overlay's, its
    deletions must be gone; a delta archive that is not at hand fails the check."""
    def resynced(root):
        _write("/srv/www/index.html", "new page\n")(root)
    disk = _disk(tmp_path, resynced)
    overlay = _tar_gz(tmp_path / "overlay.tar.gz",
                      [("srv/www/index.html", b"old page\n"), ("srv/www/gone.html", b"deleted at cutover\n")])
    delta = _tar_gz(tmp_path / "delta.tar.gz", [("srv/www/index.html", b"new page\n")])
    key = ("apply-overlay", "overlay.tar.gz")
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=overlay))[key]
    assert not ok and "index.html: content differs" in detail and "gone.html missing" in detail
    record = {"scanned_at": "2026-11-27T05:00:00Z", "applied": [
        {"scanned_at": "2026-11-27T05:00:00Z", "archive": str(delta), "sha256": hashlib.sha256(
            delta.read_bytes()).hexdigest(), "deleted": ["/srv/www/gone.html"]}]}
    Path(str(disk) + ".resync.json").write_text(json.dumps(record))
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=overlay))[key]
    assert ok and "1 resync(s): 1 entries laid, 1 deleted" in detail, detail
    delta.write_bytes(b"changed")
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=overlay))[key]
    assert not ok and "is not at" in detail


def test_overlay_member_names_keep_a_leading_dot(tmp_path):
    """`./.dibm-ready` is /.dibm-ready: only the "./" prefix goes, not the dotfile's own dot."""
    disk = _disk(tmp_path, _write("/.dibm-ready", "x\n"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("./.dibm-ready", ".dibm-ready"):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = 2, 0o644
            tar.addfile(ti, io.BytesIO(b"x\n"))
    archive = tmp_path / "dot.tar.gz"
    archive.write_bytes(buf.getvalue())
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=archive))[("apply-overlay", "overlay.tar.gz")]
    assert ok, detail


def test_member_path():
    from dib_migrate.verify.archive import member_path
    assert member_path("./.dibm-ready") == "/.dibm-ready"
    assert member_path(".profile") == "/.profile"
    assert member_path("./etc/hosts") == "/etc/hosts"
    assert member_path("././srv/") == "/srv"
    assert member_path("./") == "/"
    assert member_path("/etc/x") == "/etc/x"


def test_a_unit_link_directory_emptied_by_a_service_change_is_not_missing(tmp_path):
    # a socket the Plan disables takes its link, and systemctl the then-empty sockets.target.wants
    disk = _disk(tmp_path)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo("etc/systemd/system/sockets.target.wants")
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(ti)
    archive = tmp_path / "overlay.tar.gz"
    archive.write_bytes(buf.getvalue())
    ok, detail = _results(V.verify(disk, mkimage.PLAN, overlay=archive))[("apply-overlay", "overlay.tar.gz")]
    assert ok and "1 service links" in detail, detail
