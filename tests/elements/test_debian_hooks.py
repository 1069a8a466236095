"""Every migrate-* hook on a real Debian 12 root with the debian12-web Plan data."""
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from .hookrun import EXAMPLES, PACKAGES, Chroot, Hooks, calls, debian_root, have_debootstrap, \
    render_data, stand_in

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

KVER = "6.1.0-99-amd64"
ABSENT = ("/etc/cron.daily/dpkg", "/usr/share/doc/dpkg", "/etc/never-there")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One root, every hook in DIB's order; the tests below read the result."""
    tmp = tmp_path_factory.mktemp("deb")
    root = debian_root(tmp / "root", include=PACKAGES)
    # the source's admin removed a package's cron job and its documentation directory (overlay-absent)
    src = tmp / "source"
    src.mkdir()
    shutil.copy(EXAMPLES / "debian12-web/overlay.tar.gz", src)
    report = yaml.safe_load((EXAMPLES / "debian12-web/report.yaml").read_text())
    report["absent_package_files"] = [{"path": p, "package": "dpkg"} for p in ABSENT]
    (src / "report.yaml").write_text(yaml.safe_dump(report))
    data = render_data(src / "report.yaml", "openstack", tmp / "render")
    assert all(os.path.lexists(root / p.lstrip("/")) for p in ABSENT[:2])     # the rebuild installed them
    # what the rebuilt image has that the source did not: a shifted uid/gid for "deploy"
    # (source 1001) owning a file, a setgid file of a shifted group (ssh-agent, _ssh 103 -> 102),
    # a MAC-bound udev rule, cloud-init's config dir, a kernel without initramfs
    with open(root / "etc/passwd", "a") as f:
        f.write("deploy:x:1000:1000::/home/deploy:/bin/bash\n")
    with open(root / "etc/group", "a") as f:
        f.write("deploy:x:1000:\n")
    # accounts only the rebuilt image has (its packages made them); "clash" has the source's gid 1001
    with open(root / "etc/passwd", "a") as f:
        f.write("systemd-timesync:x:990:990:systemd Time Synchronization:/:/usr/sbin/nologin\n")
    with open(root / "etc/shadow", "a") as f:
        f.write("systemd-timesync:!*:19000::::::\n")
    with open(root / "etc/group", "a") as f:
        f.write("systemd-timesync:x:990:\nrender:x:989:\nclash:x:1001:\n")
    (root / "srv/deploy-data").write_text("x\n")
    (root / "srv/clash-data").write_text("x\n")
    os.chown(root / "srv/clash-data", 0, 1001)
    os.chown(root / "srv/deploy-data", 1000, 1000)
    (root / "etc/udev/rules.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/udev/rules.d/70-persistent-net.rules").write_text('ATTR{address}=="52:54:00:12:34:56"\n')
    (root / "etc/cloud/cloud.cfg.d").mkdir(parents=True)
    (root / "boot").mkdir(exist_ok=True)
    (root / "boot" / ("vmlinuz-" + KVER)).write_text("kernel\n")
    (root / "usr/lib/modules" / KVER).mkdir(parents=True)
    (root / "etc/default").mkdir(exist_ok=True)
    (root / "etc/default/grub").write_text('GRUB_CMDLINE_LINUX="root=/dev/xvda1 quiet"\n')
    for tool in ("update-initramfs", "update-grub"):
        stand_in(root, tool)
    before = {p: os.lstat(root / p.lstrip("/")) for p in ("/usr/bin/ssh-agent",
                                                          "/usr/lib/dbus-1.0/dbus-daemon-launch-helper")}
    hooks = Hooks(root, data)
    with Chroot(root):
        hooks.run("extra-data.d", "20-migrate-overlay-stage")
        # the chroot phases' hooks of the elements the rendered host element depends on, in
        # DIB's order (no hand-kept hook list to drift from the elements)
        elements = set((data.parent / "element-deps").read_text().split()) | {"migrate-base"}
        for phase in ("pre-install.d", "post-install.d"):
            hooks.run_phase(phase, elements)
        # diskimage-builder's writefstab, between post-root and finalise
        (root / "etc/fstab").write_text("LABEL=cloudimg-rootfs / ext4 errors=remount-ro 0 1\n")
        hooks.run_element("finalise.d", "migrate-fstab")
        hooks.run("finalise.d", "60-migrate-bootloader", env={"DIB_ROOT_LABEL": "cloudimg-rootfs"})
        # what DIB's own elements leave behind (its package tools, the dpkg element's apt settings)
        for residue in ("usr/local/bin/pkg-map", "etc/apt/apt.conf.d/95disable-recommends"):
            (root / residue).parent.mkdir(parents=True, exist_ok=True)
            (root / residue).write_text("dib\n")
        (root / "usr/share/pkg-map").mkdir(parents=True, exist_ok=True)
        hooks.run("finalise.d", "89-migrate-base-residue")
        enabled = {}
        for unit in ("libvirtd", "ssh", "networking", "nginx", "netfilter-persistent"):
            res = subprocess.run(["systemctl", "--root", str(root), "is-enabled", unit],
                                 capture_output=True, text=True)
            enabled[unit] = res.stdout.strip()
    return {"root": root, "data": data, "enabled": enabled, "before": before}


def test_services(built):
    assert built["enabled"]["libvirtd"] == "disabled"
    assert built["enabled"]["ssh"] == "enabled"
    assert built["enabled"]["networking"] == "enabled"
    assert built["enabled"]["nginx"] == "enabled"


def test_fstab_without_nfs(built):
    lines = (built["root"] / "etc/fstab").read_text().splitlines()
    assert lines[0] == "LABEL=cloudimg-rootfs / ext4 errors=remount-ro 0 1"
    assert not [ln for ln in lines if " nfs" in ln or "xvda" in ln]


def test_adjtime_drift_zeroed_utc_kept(built):
    lines = (built["root"] / "etc/adjtime").read_text().splitlines()
    assert lines[0].split()[0] in ("0.0", "0.000000")
    assert lines[2] == "UTC"


def _owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_overlay_files_have_source_owner_and_mode(built):
    root = built["root"]
    assert _owner(root / "home/deploy/.ssh/authorized_keys") == (1001, 1001, 0o600)
    assert _owner(root / "home/deploy/.ssh") == (1001, 1001, 0o700)
    assert _owner(root / "etc/sudoers.d/deploy") == (0, 0, 0o440)
    assert _owner(root / "etc/shadow") == (0, 42, 0o640)
    link = root / "etc/nginx/sites-enabled/web01"
    assert link.is_symlink() and os.readlink(link) == "/etc/nginx/sites-available/web01"
    assert (root / "srv/www/web01/index.html").exists()


def test_shifted_ids_reconciled(built):
    root = built["root"]
    # uid and gid the rebuild gave "deploy" (1000) -> the source's 1001
    assert _owner(root / "srv/deploy-data")[:2] == (1001, 1001)
    # group chain _ssh 103->102, messagebus 102->101: each file moved once, set-id bits kept
    before = built["before"]
    st = os.lstat(root / "usr/bin/ssh-agent")
    assert before["/usr/bin/ssh-agent"].st_gid == 103 and st.st_gid == 102
    assert stat.S_IMODE(st.st_mode) == stat.S_IMODE(before["/usr/bin/ssh-agent"].st_mode)
    assert st.st_mode & stat.S_ISGID
    helper = "/usr/lib/dbus-1.0/dbus-daemon-launch-helper"
    st = os.lstat(root / helper.lstrip("/"))
    assert before[helper].st_gid == 102 and st.st_gid == 101
    assert st.st_mode & stat.S_ISUID
    # the databases name the source ids
    assert "deploy:x:1001:1001:" in (root / "etc/passwd").read_text()
    assert "\n_ssh:x:102:" in (root / "etc/group").read_text()


def test_image_only_accounts_merged(built):
    root = built["root"]
    passwd, group = (root / "etc/passwd").read_text(), (root / "etc/group").read_text()
    assert "\nsystemd-timesync:x:990:990:" in passwd and "\nrender:x:989:" in group
    assert "\nsystemd-timesync:!*:" in (root / "etc/shadow").read_text()
    # the source's ids win: an image group holding a source gid moves to a free id, and its files with it
    assert "\ndeploy:x:1001:" in group
    clash = [ln.split(":") for ln in group.splitlines() if ln.startswith("clash:")]
    assert len(clash) == 1 and clash[0][2] not in ("1001", "") and int(clash[0][2]) < 1000
    assert _owner(root / "srv/clash-data")[1] == int(clash[0][2])
    assert passwd.count("\nsystemd-timesync:") == 1


def test_network_written_mac_bindings_removed(built):
    root, data = built["root"], built["data"]
    interfaces = (root / "etc/network/interfaces").read_text()
    assert interfaces == (data / "network/tree/etc/network/interfaces").read_text()
    assert "hwaddress" not in interfaces and "192.0.2.10/24" in interfaces
    assert _owner(root / "etc/network/interfaces") == (0, 0, 0o644)
    assert "web01.example.com" in (root / "etc/hosts").read_text()
    assert not (root / "etc/udev/rules.d/70-persistent-net.rules").exists()


def test_package_files_the_source_lacks_are_removed(built):
    root, data = built["root"], built["data"]
    assert (data / "overlay/absent").read_text().split() == list(ABSENT)
    for path in ABSENT:
        assert not os.path.lexists(root / path.lstrip("/")), path
    assert (root / "usr/bin/dpkg").exists() and (root / "usr/share/doc/apt").is_dir()


def test_dib_residue_removed(built):
    root, data = built["root"], built["data"]
    assert "/usr/local/bin/pkg-map" in (data / "base/residue").read_text().split()
    for residue in ("usr/local/bin/pkg-map", "etc/apt/apt.conf.d/95disable-recommends", "usr/share/pkg-map"):
        assert not os.path.lexists(root / residue), residue
    assert (root / "usr/local/bin").is_dir() and (root / "etc/apt/apt.conf.d").is_dir()


def test_cloud_init_config(built):
    cfg = built["root"] / "etc/cloud/cloud.cfg.d"
    assert (cfg / "91-dib-migrate.cfg").read_text() == (built["data"] / "cloud/cloud.cfg").read_text()
    # the datasources are the Plan's (in its cloud.cfg), not the hook's own
    assert yaml.safe_load((cfg / "91-dib-migrate.cfg").read_text())["datasource_list"][:2] == \
        ["ConfigDrive", "OpenStack"]
    assert not [p.name for p in cfg.iterdir() if p.name.startswith("9") and p.name != "91-dib-migrate.cfg"]


def test_identity_kept_no_relabel_growroot_by_cloud_init(built):
    root = built["root"]
    assert not (root / ".autorelabel").exists()
    assert not (root / "usr/local/sbin/dib-migrate-growroot").exists()
    assert not (root / "etc/systemd/system/dib-migrate-ssh-keygen.service").exists()


def test_initramfs_generic_and_grub_cmdline(built):
    root = built["root"]
    assert (root / "etc/initramfs-tools/conf.d/dib-migrate").read_text() == "MODULES=most\n"
    mods = (root / "usr/share/initramfs-tools/modules.d/dib-migrate").read_text().split()
    assert {"virtio_blk", "virtio_net", "virtio_scsi"} <= set(mods)
    grub = (root / "etc/default/grub").read_text()
    assert 'GRUB_CMDLINE_LINUX="quiet net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200"' in grub
    assert "xvda" not in grub
    # every kernel has its initramfs: the fake one's is created; the one migrate-kernel installed
    # after 20-migrate-initramfs-conf already has a current generic one (or it is rebuilt);
    # then one grub configuration
    kernels = sorted(p.name[len("vmlinuz-"):] for p in (root / "boot").glob("vmlinuz-*"))
    made = calls(root)
    assert made[-1] == "update-grub"
    rebuilt = {c.split()[-1] for c in made[:-1]}
    assert all(v in rebuilt or (root / "boot" / ("initrd.img-" + v)).exists() for v in kernels)
    assert "update-initramfs -c -k %s" % KVER in made


def test_hooks_are_idempotent(built, tmp_path):
    """Running the finalise hooks again changes nothing (DIB may be re-run on a cached root)."""
    root = built["root"]
    fstab, grub = (root / "etc/fstab").read_text(), (root / "etc/default/grub").read_text()
    hooks = Hooks.__new__(Hooks)
    hooks.root, hooks.dir = root, root / "tmp/in_target.d"
    with Chroot(root):
        hooks.run_element("finalise.d", "migrate-fstab")
        hooks.run("finalise.d", "60-migrate-bootloader", env={"DIB_ROOT_LABEL": "cloudimg-rootfs"})
        # what DIB's own elements leave behind (its package tools, the dpkg element's apt settings)
        for residue in ("usr/local/bin/pkg-map", "etc/apt/apt.conf.d/95disable-recommends"):
            (root / residue).parent.mkdir(parents=True, exist_ok=True)
            (root / residue).write_text("dib\n")
        (root / "usr/share/pkg-map").mkdir(parents=True, exist_ok=True)
        hooks.run("finalise.d", "89-migrate-base-residue")
    assert (root / "etc/fstab").read_text() == fstab
    assert (root / "etc/default/grub").read_text() == grub
    assert Path(root / "usr/share/initramfs-tools/modules.d/dib-migrate").read_text().count("virtio_blk") == 1


# Debian's own /etc/default/grub, then what diskimage-builder's 50-bootloader appends (its own
# GRUB_CMDLINE_LINUX_DEFAULT line, which also carries DIB_BOOTLOADER_DEFAULT_CMDLINE)
DEBIAN_AND_DIB_GRUB = """\
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""
GRUB_DEVICE=LABEL=cloudimg-rootfs
GRUB_CMDLINE_LINUX_DEFAULT=" console=ttyS0,115200 no_timer_check net.ifnames=0 biosdevname=0 console=tty0 \
console=ttyS0,115200"
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
"""


def test_target_args_once_on_the_kernel_line(built):
    """The Plan's arguments reach the kernel once, and the file has one line per key (runs last:
    it rewrites the shared root's /etc/default/grub)."""
    root = built["root"]
    (root / "etc/default/grub").write_text(DEBIAN_AND_DIB_GRUB)
    hooks = Hooks.__new__(Hooks)
    hooks.root, hooks.dir = root, root / "tmp/in_target.d"
    with Chroot(root):
        hooks.run("finalise.d", "60-migrate-bootloader", env={"DIB_ROOT_LABEL": "cloudimg-rootfs"})
        # what DIB's own elements leave behind (its package tools, the dpkg element's apt settings)
        for residue in ("usr/local/bin/pkg-map", "etc/apt/apt.conf.d/95disable-recommends"):
            (root / residue).parent.mkdir(parents=True, exist_ok=True)
            (root / residue).write_text("dib\n")
        (root / "usr/share/pkg-map").mkdir(parents=True, exist_ok=True)
        hooks.run("finalise.d", "89-migrate-base-residue")
    grub = (root / "etc/default/grub").read_text()
    keys = [ln.split("=", 1)[0] for ln in grub.splitlines() if ln.startswith("GRUB_CMDLINE_LINUX")]
    assert sorted(keys) == ["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"], grub
    # what grub-mkconfig's 10_linux puts on the kernel line: the shell's values of both keys
    line = subprocess.run(["bash", "-c", '. "$1"; echo $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT',
                           "-", str(root / "etc/default/grub")], capture_output=True, text=True,
                          check=True).stdout.split()
    wanted = (built["data"] / "boot/cmdline").read_text().split()
    for arg in wanted + ["no_timer_check"]:
        assert line.count(arg) == 1, (arg, line)
    assert "quiet" not in line          # DIB's later line won, as it does in the shell
    assert "GRUB_SERIAL_COMMAND=" in grub
