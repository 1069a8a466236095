"""Checks against a plain directory standing in for the mounted image (no root needed)."""
from types import SimpleNamespace

import pytest

from dib_migrate.network_files import network_files
from dib_migrate.plan.model import Change
from dib_migrate.verify import checks


def _ctx(root, plan=None):
    return checks.Ctx(SimpleNamespace(root=str(root), root_uuid=None), plan)


@pytest.mark.parametrize("manager,scanned", [
    ("ifupdown", "/root/old-interfaces"),          # outside /etc/network: render writes the default file
    ("network-scripts", "/etc/sysconfig/network-scripts/ifcfg-eth0"),
    ("NetworkManager", "/var/tmp/eth0.nmconnection"),
])
def test_set_network_reads_the_file_render_wrote(tmp_path, manager, scanned):
    c = Change("set-network", "eth0", "net-static", "r",
               {"mode": "static", "addresses": ["192.0.2.10/24"], "gateway": "192.0.2.1", "dns": [],
                "manager": manager, "file": scanned})
    plan = SimpleNamespace(by_action=lambda a: [c] if a == "set-network" else [])
    for path, content in network_files(plan).items():
        (tmp_path / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.lstrip("/")).write_text(content)
    ok, detail = checks.CHECKS["set-network"](_ctx(tmp_path), c)
    assert ok, detail


@pytest.mark.parametrize("manager,member_file", [
    ("NetworkManager", "/etc/NetworkManager/system-connections/eth0.nmconnection"),
    ("systemd-networkd", "/etc/systemd/network/10-eth0.network"),
    ("network-scripts", "/etc/sysconfig/network-scripts/ifcfg-eth0"),
])
def test_set_network_checks_every_file_of_a_bond(tmp_path, manager, member_file):
    """The bond's own file, its .netdev and its members' files are what render wrote; a lost member fails it."""
    from dib_migrate.plan.model import Build, Plan
    c = Change("set-network", "bond0", "net-static", "r",
               {"mode": "static", "addresses": ["192.0.2.10/24"], "gateway": "192.0.2.1", "dns": [],
                "manager": manager, "file": None, "kind": "bond", "members": ["eth0", "eth1"],
                "bond_mode": "active-backup", "bond_options": {"miimon": "100", "primary": "eth0"}, "mtu": 9000,
                "routes": [{"to": "10.9.0.0/16", "via": "192.0.2.254"}]})
    build = Build(("debian-minimal",), "bookworm", "amd64", "qcow2", "qcow2")
    plan = Plan(host="h", target="kvm", strategy="packages", identity="keep", family="debian", distro="debian",
                version="12", init_system="systemd", build=build, changes=(c,))
    files = network_files(plan)
    assert member_file in files
    for path, content in files.items():
        (tmp_path / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.lstrip("/")).write_text(content)
    ok, detail = checks.CHECKS["set-network"](_ctx(tmp_path, plan), c)
    assert ok and member_file in detail, detail
    (tmp_path / member_file.lstrip("/")).unlink()
    ok, detail = checks.CHECKS["set-network"](_ctx(tmp_path, plan), c)
    assert not ok and member_file + " missing" in detail, detail


# where each manager says the bond's primary port, as render writes it
PRIMARY = {"ifupdown": "bond-primary eth0", "netplan": 'primary: "eth0"', "NetworkManager": "primary=eth0",
           "systemd-networkd": "PrimarySlave=yes", "network-scripts": "primary=eth0", "wicked": "primary=eth0"}


@pytest.mark.parametrize("manager", sorted(PRIMARY))
def test_set_network_names_a_lost_bond_option(tmp_path, manager):
    """An image whose bond lost its primary port fails the bond's check, which names the line."""
    from dib_migrate.plan.model import Build, Plan
    c = Change("set-network", "bond0", "net-static", "r",
               {"mode": "static", "addresses": ["192.0.2.10/24"], "gateway": "192.0.2.1", "dns": [],
                "manager": manager, "file": None, "kind": "bond", "members": ["eth0", "eth1"],
                "bond_mode": "active-backup", "bond_options": {"miimon": "100", "primary": "eth0"}})
    build = Build(("debian-minimal",), "bookworm", "amd64", "qcow2", "qcow2")
    plan = Plan(host="h", target="kvm", strategy="packages", identity="keep", family="debian", distro="debian",
                version="12", init_system="systemd", build=build, changes=(c,))
    files = network_files(plan)
    for path, content in files.items():
        (tmp_path / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.lstrip("/")).write_text(content)
    ok, detail = checks.CHECKS["set-network"](_ctx(tmp_path, plan), c)
    assert ok, detail
    [path] = [p for p, t in files.items() if PRIMARY[manager] in t]
    text = files[path]
    primary = PRIMARY[manager]
    lost = text.replace("\n" + primary, "").replace(" " + primary, "").replace(primary + " ", "")
    assert lost != text
    (tmp_path / path.lstrip("/")).write_text(lost)
    ok, detail = checks.CHECKS["set-network"](_ctx(tmp_path, plan), c)
    assert not ok and path in detail, detail
    assert primary.strip() in detail or "BONDING" in detail, detail


def _esp(path, files):
    """A FAT filesystem image holding ``files`` (written through fusefat: this kernel has no vfat)."""
    import shutil
    import subprocess
    if not shutil.which("fusefat") or not shutil.which("mkfs.vfat"):
        pytest.skip("needs fusefat and dosfstools")
    subprocess.run(["truncate", "-s", "20M", str(path)], check=True)
    subprocess.run(["mkfs.vfat", str(path)], check=True, capture_output=True)
    mnt = path.parent / "mnt"
    mnt.mkdir()
    subprocess.run(["fusefat", "-o", "rw+", str(path), str(mnt)], check=True, capture_output=True)
    try:
        for f in files:
            (mnt / f).parent.mkdir(parents=True, exist_ok=True)
            (mnt / f).write_bytes(b"MZ")
    finally:
        subprocess.run(["fusermount", "-u", str(mnt)], check=True)
    return path


@pytest.mark.parametrize("files,ok", [(["EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grub.cfg"], True),
                                      (["EFI/debian/grubx64.efi", "EFI/debian/grub.cfg"], False)])
def test_skip_esp_reads_the_image_esp(tmp_path, files, ok):
    """A UEFI image boots a new machine only through the ESP's removable path: verify reads the ESP itself."""
    esp = _esp(tmp_path / "esp.img", files)
    root = tmp_path / "root"
    (root / "boot/efi").mkdir(parents=True)
    c = Change("skip-esp", "/boot/efi", "overlay-esp", "r", {"files": 2, "bytes": 4, "firmware": "uefi"})
    mounted = SimpleNamespace(root=str(root), root_uuid=None, partitions=[{"TYPE": "vfat", "DEVNAME": str(esp)}])
    got, detail = checks.CHECKS["skip-esp"](checks.Ctx(mounted, None), c)
    assert got is ok, detail
    if ok:
        assert "/EFI/BOOT/BOOTX64.EFI" in detail
    # the source's files in the root filesystem (hidden under the ESP's mount) fail whatever the ESP holds
    (root / "boot/efi/EFI/debian").mkdir(parents=True)
    (root / "boot/efi/EFI/debian/grub.cfg").write_text("search.fs_uuid 0000 root\n")
    got, detail = checks.CHECKS["skip-esp"](checks.Ctx(mounted, None), c)
    assert not got and "grub.cfg" in detail, detail


def test_rootfs_package_state_is_left_to_the_build():
    """Under rootfs the build installs into the source's own tree: its package state is the build's (the trixie
    rootfs cell: dpkg's status, debconf's caches, ld.so.cache differed from the scan)."""
    from dataclasses import replace
    from dib_migrate.plan.model import Build, Plan
    plan = Plan(host="h", target="kvm", strategy="rootfs", identity="keep", family="debian", distro="debian",
                version="13", init_system="systemd", build=Build(("migrate-rootfs",), "trixie", "amd64", "qcow2",
                                                                 "qcow2"),
                changes=(Change("install-kernel", "grub-efi-amd64", "pkg-kernel", "r"),))
    managed = checks._managed_paths(plan)
    assert {"/var/lib/dpkg/*", "/var/cache/debconf/*", "/etc/ld.so.cache"} <= managed
    # the bookworm rootfs cell: sgml-base's trigger rewrote its supercatalog (the family's trigger_outputs)
    assert checks.package_state_path(plan, "/var/lib/sgml-base/supercatalog.old") == "sgml-base's trigger"
    assert checks.package_state_path(plan, "/etc/shells") is None
    assert "/var/lib/dpkg/*" not in checks._managed_paths(replace(plan, strategy="packages"))
    assert "/var/lib/dpkg/*" not in checks._managed_paths(replace(plan, changes=()))


@pytest.mark.parametrize("enabled", [False, True])
def test_disabling_a_packaged_alias_judges_the_unit_it_names(tmp_path, enabled):
    """bullseye: iptables.service is iptables-persistent's alias link to netfilter-persistent.service; verify read
    its state "alias" as enabled and failed the Plan's disable of iptables although its unit was disabled."""
    import os
    lib = tmp_path / "lib/systemd/system"
    lib.mkdir(parents=True)
    (lib / "netfilter-persistent.service").write_text("[Service]\nExecStart=/bin/true\n[Install]\n"
                                                      "WantedBy=multi-user.target\nAlias=iptables.service\n")
    # as bullseye ships it: through an alternative
    (tmp_path / "etc/alternatives").mkdir(parents=True)
    os.symlink("/lib/systemd/system/netfilter-persistent.service", tmp_path / "etc/alternatives/iptables.service")
    os.symlink("/etc/alternatives/iptables.service", lib / "iptables.service")
    if enabled:
        wants = tmp_path / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True)
        os.symlink("/lib/systemd/system/netfilter-persistent.service", wants / "netfilter-persistent.service")
    (tmp_path / "etc/systemd/system").mkdir(parents=True, exist_ok=True)
    plan = SimpleNamespace(init_system="systemd")
    c = Change("disable-service", "iptables", "openstack-services", "r", {"present": True})
    ok, detail = checks.CHECKS["disable-service"](_ctx(tmp_path, plan), c)
    assert ok is (not enabled), detail
    assert "alias of netfilter-persistent.service" in detail


def test_system_bytecode_is_left_to_a_rebuild():
    from dib_migrate.plan.model import Build, Plan
    plan = Plan(host="h", target="kvm", strategy="packages", identity="keep", family="debian", distro="debian",
                version="11", init_system="systemd", build=Build(("debian-minimal",), "bullseye", "amd64", "qcow2",
                                                                 "qcow2"),
                changes=(Change("install-packages", "1 packages", "pkg-rebuild", "r", {"names": ["python3"]}),))
    assert checks.rebuilt_bytecode(plan, "/usr/lib/python3.9/__pycache__/abc.cpython-39.pyc")
    assert not checks.rebuilt_bytecode(plan, "/srv/app/__pycache__/app.cpython-39.pyc")
    assert not checks.rebuilt_bytecode(replace_changes(plan), "/usr/lib/python3.9/__pycache__/abc.cpython-39.pyc")


def replace_changes(plan):
    from dataclasses import replace
    return replace(plan, changes=())


def test_absent_package_files_must_be_gone(tmp_path):
    """overlay-absent: a path the source's admin removed must not be in the image (a dangling symlink counts)."""
    c = Change("remove-absent-files", "man-db", "overlay-absent", "r",
               {"paths": ["/etc/cron.daily/man-db", "/usr/share/doc/man-db"]})
    ok, detail = checks.CHECKS["remove-absent-files"](_ctx(tmp_path), c)
    assert ok and "2 path(s) absent" in detail, detail
    (tmp_path / "etc/cron.daily").mkdir(parents=True)
    (tmp_path / "etc/cron.daily/man-db").symlink_to("/nonexistent")
    ok, detail = checks.CHECKS["remove-absent-files"](_ctx(tmp_path), c)
    assert not ok and detail == "present: /etc/cron.daily/man-db"
