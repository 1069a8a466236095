"""overlay, fstab-nfs, fstab-blockdev, fstab-swap, fstab-keep, clock-adjtime."""
import pytest

from ..helpers import plan_of


def fstab_plan(derive, entries, target="kvm", firmware="bios"):
    def m(d):
        keys = ("spec", "mountpoint", "fstype", "options", "dump", "pass")
        d["fstab"] = [dict(zip(keys, e)) for e in entries]
        d["platform"]["firmware"] = firmware
    return plan_of(derive("debian12-web", m), target)


def fstab_changes(plan):
    return [(c.action, c.rule, c.data["line"]) for c in plan.changes
            if c.action in ("drop-fstab-line", "keep-fstab-line")]


def test_overlay_change(derive):
    c = plan_of(derive("debian12-web", overlay=True)).find("apply-overlay", "overlay.tar.gz")
    assert c.rule == "overlay"
    assert c.data["mode"] == "changed" and c.data["files"] == 22 and c.data["compression"] == "gzip"
    assert len(c.data["sha256"]) == 64 and "22 scanned files" in c.reason


def test_no_overlay_no_change(derive):
    assert not plan_of(derive("debian12-web")).by_action("apply-overlay")


def test_nfs_and_nfs4_lines_removed(example):
    plan = plan_of(example("debian12-web"), "openstack")
    nfs = plan.by_rule("fstab-nfs")
    assert [(c.action, c.subject, c.data["index"]) for c in nfs] == [
        ("drop-fstab-line", "/srv/shared", 3), ("drop-fstab-line", "/backup", 4)]
    assert nfs[0].reason.startswith("fstab line 3 `nas.example.com:/export/www /srv/shared nfs` removed")
    assert "nfs4" in nfs[1].reason
    assert nfs[1].data["line"] == "nas.example.com:/export/backup /backup nfs4 rw,noauto 0 0"


def test_nfs4_in_fixture(example):
    (c,) = plan_of(example("ubuntu2204-netplan")).by_rule("fstab-nfs")
    assert c.subject == "/srv/api-shared" and "nfs4" in c.data["line"]


def test_root_replaced_by_uuid(example):
    for name in ("debian12-web", "centos6-xen-pv", "rocky9-vmware", "ubuntu2204-netplan"):
        c = plan_of(example(name)).find("drop-fstab-line", "/")
        assert c.rule == "fstab-blockdev" and "by UUID" in c.reason


@pytest.mark.parametrize("spec", ["/dev/sdb1", "/dev/xvdb", "/dev/hdb1", "/dev/vdb", "/dev/nvme1n1p1",
                                  "/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0-part1",
                                  "/dev/disk/by-id/scsi-36000c29-part1"])
def test_device_path_dropped(derive, spec):
    plan = fstab_plan(derive, [(spec, "/data", "ext4", "defaults", 0, 2)])
    (c,) = plan.by_rule("fstab-blockdev")
    assert c.action == "drop-fstab-line" and spec in c.reason


@pytest.mark.parametrize("spec", ["UUID=0b8e5a77-1f2d-4e3c-8a9b-5c6d7e8f9a0b", "LABEL=data",
                                  "PARTUUID=abc-01", "/dev/disk/by-uuid/0b8e5a77", "/dev/disk/by-label/data"])
def test_stable_names_kept_with_nofail(derive, spec):
    plan = fstab_plan(derive, [(spec, "/data", "ext4", "defaults", 0, 2)])
    assert fstab_changes(plan) == [
        ("keep-fstab-line", "fstab-blockdev", "%s /data ext4 defaults,nofail 0 2" % spec)]


def test_nofail_not_doubled(derive):
    plan = fstab_plan(derive, [("LABEL=x", "/x", "xfs", "nofail,noatime", 0, 0)])
    assert fstab_changes(plan)[0][2] == "LABEL=x /x xfs nofail,noatime 0 0"


@pytest.mark.parametrize("entry", [("tmpfs", "/dev/shm", "tmpfs", "defaults", 0, 0),
                                   ("proc", "/proc", "proc", "defaults", 0, 0),
                                   ("/srv/www", "/var/www", "none", "bind", 0, 0)])
def test_pseudo_filesystems_kept_as_scanned(derive, entry):
    plan = fstab_plan(derive, [entry])
    assert fstab_changes(plan) == [("keep-fstab-line", "fstab-keep", "%s %s %s %s %d %d" % entry)]


@pytest.mark.parametrize("mountpoint", ["/boot", "/boot/efi"])
def test_boot_partitions_come_from_the_image_layout(derive, mountpoint):
    # the image has its own /boot/efi (block-device-efi) in DIB's fstab; a kept source line would
    # mount a second, missing filesystem on the same point
    plan = fstab_plan(derive, [("UUID=7A1B-2C3D", mountpoint, "vfat", "umask=0077", 0, 2)],
                      firmware="uefi")
    (c,) = plan.by_rule("fstab-blockdev")
    assert c.action == "drop-fstab-line" and c.subject == mountpoint and "partition layout" in c.reason


def test_swap_device_dropped(example):
    c = plan_of(example("debian12-web")).by_rule("fstab-swap")[0]
    assert c.action == "drop-fstab-line" and c.subject == "/dev/xvda2" and "not part of the image" in c.reason


@pytest.mark.parametrize("spec", ["/dev/mapper/rl-swap", "/dev/vg0/swap", "/dev/dm-1", "UUID=abcd",
                                  "LABEL=swap"])
def test_swap_volume_dropped(derive, spec):
    plan = fstab_plan(derive, [(spec, "none", "swap", "defaults", 0, 0)])
    assert fstab_changes(plan) == [("drop-fstab-line", "fstab-swap", "%s none swap defaults 0 0" % spec)]


def test_swap_file_kept_with_nofail(example):
    plan = plan_of(example("ubuntu2204-netplan"), "openstack")
    (c,) = plan.by_rule("fstab-swap")
    assert c.action == "keep-fstab-line" and c.data["line"] == "/swap.img none swap sw,nofail 0 0"
    # the file itself is not in the overlay: the Plan must not pretend the image has swap
    assert "not carried" in c.reason and "without swap" in c.reason


@pytest.mark.parametrize("name", ["ubuntu2204-netplan", "debian12-web", "rocky9-vmware"])
def test_azure_drops_every_swap(example, name):
    plan = plan_of(example(name), "azure")
    swaps = plan.by_rule("fstab-swap")
    assert swaps and all(c.action == "drop-fstab-line" and "azure has no swap" in c.reason for c in swaps)
    assert plan.find("agent-config", "/etc/waagent.conf").data["settings"]["ResourceDisk.EnableSwap"] == "n"


def test_every_fstab_line_has_one_change(example):
    for name in ("debian12-web", "centos6-xen-pv", "rocky9-vmware", "ubuntu2204-netplan", "sles15-wicked"):
        r = example(name)
        changes = [c for c in plan_of(r).changes if c.action in ("drop-fstab-line", "keep-fstab-line")]
        assert sorted(c.data["index"] for c in changes) == [e.index for e in r.fstab]


# --- clock-adjtime ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,mode,drift", [("debian12-web", "UTC", "0.004352"),
                                             ("centos6-xen-pv", "LOCAL", "-0.318450"),
                                             ("sles15-wicked", "LOCAL", "0.250000")])
def test_adjtime_reset_keeps_mode(example, name, mode, drift):
    c = plan_of(example(name)).find("reset-adjtime", "/etc/adjtime")
    assert c.rule == "clock-adjtime" and c.data == {"content": "0.0 0 0.0\n0\n%s\n" % mode, "mode": mode}
    assert drift in c.reason and "stays %s" % mode in c.reason


def test_no_adjtime_no_change(example):
    assert not plan_of(example("rocky9-vmware")).by_rule("clock-adjtime")


@pytest.mark.parametrize("text", ["", "garbage\n", "0.1 2 0.0\n2\n", "0.1 2 0.0\n2\nlocal\n"])
def test_adjtime_malformed_defaults_to_utc(derive, text):
    plan = plan_of(derive("debian12-web", lambda d: d["clock"].update(adjtime=text)))
    assert plan.by_rule("clock-adjtime")[0].data["mode"] == "UTC"


def test_prune_links_only_with_scanned_links_and_packages_strategy(derive):
    plan = plan_of(derive("debian12-web", lambda d: d.update(etc_symlinks=["/etc/nginx/sites-enabled/web01"]),
                          overlay=True))
    c = plan.find("prune-etc-links", "/etc")
    assert c.rule == "overlay-links" and c.data["keep"] == ["/etc/nginx/sites-enabled/web01"]
    assert "/etc/systemd" in c.data["skip"] and "/etc/alternatives" in c.data["skip"]
    assert not plan_of(derive("debian12-web", lambda d: None, overlay=True)).by_action("prune-etc-links")
    rootfs = plan_of(derive("debian12-web", lambda d: d.update(etc_symlinks=[]), overlay=True), strategy="rootfs")
    assert not rootfs.by_action("prune-etc-links")


@pytest.mark.parametrize("fstype", ["cifs", "glusterfs", "fuse.sshfs"])
def test_remote_mounts_that_stay_get_nofail(derive, fstype):
    plan = fstab_plan(derive, [("//files/share", "/mnt/share", fstype, "rw,credentials=/etc/c", 0, 0)])
    assert fstab_changes(plan) == [
        ("keep-fstab-line", "fstab-remote", "//files/share /mnt/share %s rw,credentials=/etc/c,nofail 0 0" % fstype)]


def test_second_disk_not_captured_is_warned_not_carried(derive):
    plan = fstab_plan(derive, [("/dev/sdb1", "/data", "ext4", "defaults", 0, 2)])
    (c,) = plan.by_rule("fstab-blockdev")
    assert "NOT carried" in c.reason and "carried in the image's root" not in c.reason
    (w,) = [w for w in plan.warnings if w.rule == "preflight-disk"]
    assert "/data" in w.message and "/dev/sdb1" in w.message


def test_second_disk_captured_is_carried(derive):
    def m(d):
        d["fstab"] = [{"spec": "/dev/sdb1", "mountpoint": "/etc/nginx", "fstype": "ext4", "options": "defaults"}]
    # the example's overlay holds files under /etc/nginx: a scan that captured the mount
    plan = plan_of(derive("debian12-web", m, overlay=True))
    (c,) = plan.by_rule("fstab-blockdev")
    assert "files" in c.reason and "carried in the image's root filesystem" in c.reason
    assert not [w for w in plan.warnings if w.rule == "preflight-disk"]


@pytest.mark.parametrize("firmware,why", [("uefi", "removable path (EFI/BOOT/BOOTX64.EFI)"),
                                          ("bios", "boots through BIOS and has no EFI system partition")])
def test_the_source_esp_is_left_to_the_image_boot_loader(derive, firmware, why):
    """A UEFI source's /boot/efi (its stub grub.cfg names the old root's UUID) is not laid: DIB's bootloader
    installs GRUB EFI on the image's own ESP only when no EFI/<distro> directory is there already."""
    from ..test_rule_registry import _overlay_with

    def uefi(d):
        d["platform"]["firmware"] = firmware
    report = _overlay_with(derive("debian12-web", uefi, overlay=True),
                           ["./boot/efi/EFI/debian/grub.cfg", "./boot/efi/EFI/debian/shimx64.efi"])
    plan = plan_of(report)
    c = plan.find("skip-esp", "/boot/efi")
    assert c.rule == "overlay-esp" and c.data == {"files": 2, "bytes": 0, "firmware": firmware}
    assert why in c.reason and "2 files" in c.reason
    assert not plan_of(derive("debian12-web", uefi, overlay=True)).by_action("skip-esp")


def test_absent_package_files_are_removed_per_package_and_boot_paths_kept(derive):
    """A conffile or a cron job the admin deleted comes back with the rebuild's install unless the Plan removes it;
    a missing kernel module or firmware file stays (the image boots its own kernel on new hardware), named."""
    absent = [{"path": "/etc/cron.daily/man-db", "package": "man-db"},
              {"path": "/etc/cron.weekly/man-db", "package": "man-db"},
              {"path": "/usr/share/doc/nginx", "package": "nginx"},
              {"path": "/usr/lib/modules/6.1.0-9-amd64/kernel/drivers/net/foo.ko", "package": "linux-image-amd64"},
              {"path": "/etc/yum/old.conf"}]
    plan = plan_of(derive("debian12-web", lambda d: d.update(absent_package_files=absent)))
    man = plan.find("remove-absent-files", "man-db")
    assert man.rule == "overlay-absent" and man.area == "files"
    assert man.data["paths"] == ["/etc/cron.daily/man-db", "/etc/cron.weekly/man-db"]
    assert "2 file(s) man-db installs" in man.reason and "/etc/cron.daily/man-db" in man.reason
    assert plan.find("remove-absent-files", "nginx").data["paths"] == ["/usr/share/doc/nginx"]
    assert plan.find("remove-absent-files", "rpm").data["paths"] == ["/etc/yum/old.conf"]
    assert not any("/usr/lib/modules" in p for c in plan.by_action("remove-absent-files") for p in c.data["paths"])
    kept = [w for w in plan.warnings if w.rule == "overlay-absent"]
    assert len(kept) == 1 and "foo.ko" in kept[0].message
    rootfs = plan_of(derive("debian12-web", lambda d: d.update(absent_package_files=absent)), strategy="rootfs")
    assert not rootfs.by_action("remove-absent-files")
    assert not [w for w in rootfs.warnings if w.rule == "overlay-absent"]


def test_a_default_page_the_source_lacks_is_removed_when_the_scan_saw_its_place(derive):
    """nginx-common's postinst copies index.nginx-debian.html into /var/www/html; the example's overlay does not carry
    one, so with a scan that records what it left out the Plan removes it. Left out there, or not recorded: nothing."""
    def complete(trees):
        return lambda d: d["overlay"].update(left_out={"trees": trees, "patterns": []})
    page = "/var/www/html/index.nginx-debian.html"
    c = plan_of(derive("debian12-web", complete(["/proc"]), overlay=True)).find("remove-absent-files", "nginx-common")
    assert c.rule == "overlay-absent" and c.data["paths"] == [page]
    assert not plan_of(derive("debian12-web", complete(["/proc", "/var/www"]), overlay=True)).by_action(
        "remove-absent-files")
    assert not plan_of(derive("debian12-web", overlay=True)).by_action("remove-absent-files")
