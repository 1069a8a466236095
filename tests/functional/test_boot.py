"""End-to-end (issue 5): migrate the fixture Debian server through the CLI, build real
images with disk-image-create, verify them, boot the OpenStack one and check that it
behaves like the source. Slow (builds take minutes); runs as root."""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import fixture as fx
from tests.support.dibhost import cli
from tests.support.imagecopy import altered_copy, enable_unit
from tests.support import vm as vmlib

pytestmark = pytest.mark.functional

VM_MAC = "52:54:00:4d:49:47"      # never the source's (00:16:3e:...)
BOOT_TIMEOUT = int(os.environ.get("DIB_MIGRATE_BOOT_TIMEOUT", "420"))


def _qemu_info(image, fmt=None):
    argv = ["qemu-img", "info", "--output=json"] + (["-f", fmt] if fmt else []) + [str(image)]
    return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)


def _verify(built):
    r = cli("verify", built.image, "--plan", built.plan_path, check=False, timeout=600)
    return r.returncode, r.stdout, r.stderr


def _assert_verified(built):
    rc, out, err = _verify(built)
    failed = [ln for ln in out.splitlines() if not ln.startswith("PASS")]
    assert rc == 0, "verify failed:\n%s\n%s" % ("\n".join(failed), err)
    # one line per Change, plus the whole-disk checks
    rows = [ln for ln in out.splitlines() if ln.startswith(("PASS", "FAIL"))]
    assert len(rows) >= len(built.plan["changes"])
    return out


def test_plan_names_the_seed_rules(report):
    out = cli("plan", report, "--target", "openstack").stdout
    for rule in ("net-static", "net-dhcp", "fstab-nfs", "clock-adjtime", "svc-libvirtd", "svc-sshd",
                 "pkg-kernel", "pkg-cloud-init", "boot-regen", "openstack-services"):
        assert rule in out, rule
    plan = json.loads(cli("plan", report, "--target", "openstack", "--format", "json").stdout)
    dropped = [c["data"]["line"] for c in plan["changes"] if c["action"] == "drop-fstab-line"]
    assert sum("nfs" in line.split()[2] for line in dropped) == 2


# --------------------------------------------------------------------------- OpenStack
@pytest.fixture(scope="module")
def openstack(build):
    return build("openstack")


def test_openstack_image_is_qcow2_and_verifies(openstack):
    assert _qemu_info(openstack.image)["format"] == "qcow2"
    out = _assert_verified(openstack)
    assert "PASS boot-drivers initramfs-drivers" in out


@pytest.fixture(scope="module")
def booted(openstack, source, keypair, workdir):
    """The OpenStack image running under qemu with a ConfigDrive, as the fixture's user."""
    key, pub = keypair
    seed = vmlib.config_drive(workdir / "config-drive.iso", fx.HOSTNAME, [pub])
    vm = vmlib.VM(openstack.image, workdir / "vm-openstack", user=source.user, key=key,
                  nic_model="virtio-net-pci", mac=VM_MAC, seed=seed)
    with vm:
        vm.wait_ssh(timeout=BOOT_TIMEOUT)
        print("openstack image: SSH after %.1fs (%s)" % (vm.boot_seconds, vm.accel))
        yield vm


def _sh(vm, cmd):
    return vm.ssh(cmd, timeout=120).stdout.strip()


def test_nginx_page_is_byte_identical(booted, source):
    status, body = None, None
    for _ in range(30):     # nginx may come up a moment after sshd
        try:
            status, body = booted.http_get("/")
            break
        except OSError:
            time.sleep(2)
    assert status == 200 and body == source.page


def test_static_eth0_survives_new_mac_and_nic_model(booted):
    mac = _sh(booted, "cat /sys/class/net/eth0/address")
    assert mac == VM_MAC and mac != fx.SOURCE_MAC["eth0"]
    driver = _sh(booted, "basename $(readlink /sys/class/net/eth0/device/driver)")
    assert driver == "virtio_net"                      # the source had Xen's netfront
    addr = _sh(booted, "ip -4 -o addr show dev eth0")
    assert "10.0.2.15/24" in addr
    assert "dynamic" not in addr, "eth0's address came from DHCP, not the kept static config: " + addr
    assert "default via 10.0.2.2 dev eth0" in _sh(booted, "ip -4 route")
    assert "iface eth0 inet static" in _sh(booted, "cat /etc/network/interfaces")


def test_services_as_planned(booted):
    state = {s: _sh(booted, "systemctl is-enabled %s || true" % s)
             for s in ("libvirtd", "ssh", "netfilter-persistent", "networking")}
    assert state == {"libvirtd": "disabled", "ssh": "enabled", "netfilter-persistent": "disabled",
                     "networking": "enabled"}
    assert _sh(booted, "systemctl is-active libvirtd || true") == "inactive"
    assert _sh(booted, "systemctl is-active networking || true") == "active"


def test_fstab_and_adjtime(booted):
    fstab = [ln.split() for ln in _sh(booted, "cat /etc/fstab").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert not [f for f in fstab if f[2] in ("nfs", "nfs4")]
    root = [f for f in fstab if f[1] == "/"]
    assert len(root) == 1 and root[0][0].startswith("UUID="), root
    assert root[0][0][5:] == _sh(booted, "findmnt -no UUID /")
    adjtime = _sh(booted, "cat /etc/adjtime").splitlines()
    assert float(adjtime[0].split()[0]) == 0.0 and adjtime[2] == "UTC", adjtime


def test_user_files_keep_ids_and_modes(booted, source):
    for path, (uid, gid, mode) in source.user_files.items():
        got = _sh(booted, "stat -c '%%u %%g %%a' %s" % path)
        assert got == "%d %d %o" % (uid, gid, mode), path
    assert _sh(booted, "id -u; id -g").split() == [str(source.uid), str(source.gid)]


def test_cloud_init_ran_from_the_config_drive(booted):
    status = booted.ssh("timeout 200 cloud-init status --wait --long", check=False, timeout=240).stdout
    assert re.search(r"status: done", status), status
    assert "ConfigDrive" in status or "ConfigDrive" in _sh(booted, "cat /run/cloud-init/result.json")
    assert _sh(booted, "hostname") == fx.HOSTNAME


def test_kernel_and_grub_injected(booted):
    assert _sh(booted, "uname -r").endswith("amd64")
    pk = _sh(booted, "dpkg-query -W -f='${Package} ${Status}\\n' linux-image-amd64 grub-pc")
    assert pk.count("install ok installed") == 2, pk
    # grub.cfg is root-only (0600) on Debian 12: the user can only see that it is there
    assert _sh(booted, "test -s /boot/grub/grub.cfg && ls /boot/vmlinuz-* | wc -l") >= "1"


def test_identity_kept(booted, source):
    # lift-and-shift: the server answers with the source's SSH host key
    r = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(booted.ports[22]), "127.0.0.1"],
                       capture_output=True, text=True, timeout=30)
    assert source.host_key_pub.split()[1] in r.stdout
    assert _sh(booted, "cat /etc/machine-id") == source.machine_id


# --------------------------------------------------------------------------- EC2, Azure
def test_ec2_raw_verifies(build):
    ec2 = build("ec2")
    assert _qemu_info(ec2.image)["format"] == "raw"
    out = _assert_verified(ec2)
    for drv in ("nvme", "ena", "xen_blkfront", "xen_netfront"):
        assert re.search(r"(?m)^PASS boot-drivers initramfs-drivers .*%s" % drv, out), drv


def test_azure_fixed_vhd_verifies(build):
    az = build("azure")
    info = _qemu_info(az.image, "vpc")
    assert info["format"] == "vpc"
    assert info["virtual-size"] % (1 << 20) == 0
    # a fixed VHD is the raw disk plus a 512-byte footer
    assert os.path.getsize(az.image) == info["virtual-size"] + 512
    out = _assert_verified(az)
    assert re.search(r"(?m)^PASS boot-drivers initramfs-drivers hv_vmbus hv_storvsc hv_netvsc", out)
    args = " ".join(a for c in az.changes("kernel-args") for a in c["data"]["args"])
    for a in ("console=ttyS0", "earlyprintk=ttyS0"):
        assert a in args.split()
    assert "rootdelay=300" not in args.split()     # initramfs-tools would sleep it on every boot
    assert re.search(r"(?m)^PASS boot-azure kernel-args ", out)


# --------------------------------------------------------------------------- broken image
def _tamper(raw, workdir):
    """Undo two hooks' work in a copy of a raw image: libvirtd enabled again, an NFS line back."""
    def mutate(mnt):
        enable_unit(mnt, "libvirtd.service")
        with open(mnt / "etc/fstab", "a") as f:
            f.write("nas.example.test:/export/www /srv/shared nfs rw,hard,intr 0 0\n")
    return altered_copy(raw, workdir, mutate)


def test_broken_image_fails_verify(build, workdir):
    ec2 = build("ec2")
    broken = _tamper(ec2.image, workdir)
    try:
        r = cli("verify", broken, "--plan", ec2.plan_path, check=False, timeout=600)
        assert r.returncode == 1, r.stdout + r.stderr
        assert re.search(r"(?m)^FAIL svc-libvirtd disable-service libvirtd ", r.stdout), r.stdout
        assert re.search(r"(?m)^FAIL fstab-nfs drop-fstab-line /srv/shared ", r.stdout), r.stdout
    finally:
        Path(broken).unlink()
    # and bad input is exit 2, not a failure
    assert cli("verify", workdir / "no-such.img", "--plan", ec2.plan_path, check=False).returncode == 2
