"""Carried removals of /etc links and the machine-id policy, on a real Debian 12 root."""
import os
import shutil

import pytest
import yaml

from .hookrun import EXAMPLES, PACKAGES, Chroot, Hooks, debian_root, have_debootstrap, render_data

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

SOURCE_LINKS = ["/etc/nginx/sites-enabled/web01", "/etc/localtime"]


def _report(tmp, **extra):
    """debian12-web with the fields the scanner writes today, overlay beside it."""
    src = EXAMPLES / "debian12-web"
    data = yaml.safe_load((src / "report.yaml").read_text())
    data.update(extra)
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "overlay.tar.gz", tmp / "overlay.tar.gz")
    (tmp / "report.yaml").write_text(yaml.safe_dump(data))
    return tmp / "report.yaml"


def test_rebuild_links_the_source_lacked_are_removed(tmp_path):
    root = debian_root(tmp_path / "root", include=PACKAGES)
    data = render_data(_report(tmp_path / "r", etc_symlinks=SOURCE_LINKS), "kvm", tmp_path / "render")
    # nginx-common's install script made the default site; the source had disabled it
    assert os.path.islink(root / "etc/nginx/sites-enabled/default")
    wants = sorted(os.listdir(root / "etc/systemd/system/multi-user.target.wants"))
    hooks = Hooks(root, data)
    with Chroot(root):
        hooks.run("extra-data.d", "20-migrate-overlay-stage")
        res = hooks.run_element("post-install.d", "migrate-overlay")
    assert not os.path.lexists(root / "etc/nginx/sites-enabled/default")
    assert "removed /etc/nginx/sites-enabled/default" in res.stdout
    assert os.readlink(root / "etc/nginx/sites-enabled/web01") == "/etc/nginx/sites-available/web01"
    assert os.path.islink(root / "etc/localtime")
    # unit links follow the service rules, not this pruning
    assert sorted(os.listdir(root / "etc/systemd/system/multi-user.target.wants")) == wants


@pytest.mark.parametrize("policy", ["keep", "reset"])
def test_machine_id_survives_sysprep(tmp_path, policy):
    root = debian_root(tmp_path / "root", include=PACKAGES)
    data = render_data(_report(tmp_path / "r"), "kvm", tmp_path / "render")
    (data / "identity/policy").write_text(policy + "\n")
    # as the overlay carries them: D-Bus's copy made by its own package script, another id
    for f, mid in (("etc/machine-id", "0123456789abcdef0123456789abcdef\n"),
                   ("var/lib/dbus/machine-id", "fedcba9876543210fedcba9876543210\n")):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text(mid)
    os.chmod(root / "etc/machine-id", 0o444)
    hooks = Hooks(root, data)
    with Chroot(root):
        hooks.run_element("post-install.d", "migrate-identity")
    # diskimage-builder's sysprep (finalise.d/99-clear-machine-id)
    (root / "etc/machine-id").write_text("uninitialized\n")
    if (root / "var/lib/dbus/machine-id").exists():
        (root / "var/lib/dbus/machine-id").write_text("")
    hooks.run("cleanup.d", "90-migrate-identity")
    mid = (root / "etc/machine-id").read_text()
    # keep: the source's id, no first boot; reset: empty, a new id without first-boot presets
    assert mid == ("0123456789abcdef0123456789abcdef\n" if policy == "keep" else "")
    assert os.stat(root / "etc/machine-id").st_mode & 0o777 == 0o444
    assert not list(root.glob("etc/*.dib-migrate")) + list(root.glob("var/lib/dbus/*.dib-migrate"))
    if policy == "keep":
        assert (root / "var/lib/dbus/machine-id").read_text() == "fedcba9876543210fedcba9876543210\n"
    else:
        assert not (root / "var/lib/dbus/machine-id").exists()


def test_keep_without_a_scanned_machine_id_fixes_one(tmp_path):
    root = debian_root(tmp_path / "root", include=PACKAGES)
    data = render_data(_report(tmp_path / "r"), "kvm", tmp_path / "render")
    (root / "etc/machine-id").write_text("uninitialized\n")
    hooks = Hooks(root, data)
    with Chroot(root):
        hooks.run_element("post-install.d", "migrate-identity")
    hooks.run("cleanup.d", "90-migrate-identity")
    mid = (root / "etc/machine-id").read_text().strip()
    assert len(mid) == 32 and all(c in "0123456789abcdef" for c in mid)


@pytest.mark.parametrize("carried", [False, True])
def test_initramfs_rebuilt_only_when_stale(tmp_path, carried):
    import tarfile
    import time

    from .hookrun import calls, stand_in
    root = debian_root(tmp_path / "root", include=PACKAGES)
    data = render_data(_report(tmp_path / "r"), "kvm", tmp_path / "render")
    kver = "6.1.0-98-amd64"
    (root / "boot").mkdir(exist_ok=True)
    (root / "boot" / ("vmlinuz-" + kver)).write_text("kernel\n")
    (root / "usr/lib/modules" / kver).mkdir(parents=True)
    for tool in ("update-initramfs", "update-grub"):
        stand_in(root, tool)
    hooks = Hooks(root, data)
    with Chroot(root):
        hooks.run("pre-install.d", "20-migrate-initramfs-conf")
        time.sleep(1.1)
        # the kernel package builds its initramfs after the configuration
        (root / "boot" / ("initrd.img-" + kver)).write_text("initrd\n")
        if carried:
            staged = hooks.dir / "migrate-staged"
            staged.mkdir(exist_ok=True)
            (tmp_path / "blacklist.conf").write_text("blacklist floppy\n")
            with tarfile.open(staged / "overlay.tar", "w") as tar:
                tar.add(tmp_path / "blacklist.conf", "etc/modprobe.d/blacklist.conf")
        res = hooks.run("finalise.d", "60-migrate-bootloader", env={"DIB_ROOT_LABEL": "cloudimg-rootfs"})
    if carried:
        assert calls(root) == ["update-initramfs -u -k " + kver, "update-grub"]
    else:
        assert calls(root) == ["update-grub"] and "is current" in res.stdout
