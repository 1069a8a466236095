"""The redhat and suse branches on prepared roots (a Debian root dressed as CentOS 6 /
SUSE) with recording stand-ins for the commands that cannot run here."""
import dataclasses
import shutil

import pytest

from dib_migrate.distros.hook_data import family_files
from dib_migrate.plan import make_plan
from dib_migrate.report import load_report

from .hookrun import EXAMPLES, Chroot, Hooks, calls, debian_root, have_debootstrap, render_data, stand_in

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]

KVER = "2.6.32-754.el6.x86_64"
# a fake rpm database: one file per installed package; `rpm -q --qf installed\\n NAME` answers
RPM = ('for a; do n=$a; done\nif [ -e "/var/lib/fake-rpm/$n" ]; then echo installed\n'
       'else echo "package $n is not installed"; exit 1; fi\n')
PM = """case "$2" in
    install) shift 2; for n; do touch "/var/lib/fake-rpm/$n"
        if [ "$n" = kernel ]; then mkdir -p /boot /lib/modules/%(k)s; touch /boot/vmlinuz-%(k)s; fi
    done ;;
    remove) shift 2; for n; do rm -f "/var/lib/fake-rpm/$n"; done ;;
esac
""" % {"k": KVER}
SCRIPT = "#!/bin/sh\n# chkconfig: 2345 50 50\nexit 0\n"


def prepare(tmp_path, family, loader):
    root = debian_root(tmp_path / "root")
    data = render_data(EXAMPLES / "centos6-xen-pv/report.yaml", "kvm", tmp_path / "render")
    # data the driver does not render yet (docs/element-data.md): kernel injected, loader kept
    (data / "boot/kernel").write_text("yes\n")
    (data / "boot/loader").write_text(loader + "\n")
    if family != "redhat":
        # the same Plan as the family's driver data renders it for a SUSE source
        report = dataclasses.replace(load_report(str(EXAMPLES / "centos6-xen-pv/report.yaml")),
                                     family=family, distro="opensuse-leap", version="15.5")
        plan = make_plan(report, "kvm")
        shutil.rmtree(data / "family")
        for rel, text in family_files(plan, report).items():
            (data / rel).parent.mkdir(parents=True, exist_ok=True)
            (data / rel).write_text(text)
        (data / "os/family").write_text(family + "\n")
    (root / "etc/os-release").unlink()
    (root / "etc/os-release").write_text('NAME="CentOS"\nID="centos"\nVERSION_ID="6"\n')
    (root / "var/lib/fake-rpm").mkdir(parents=True)
    # the source's packages are in (package-installs put them there)
    import yaml
    report = yaml.safe_load((EXAMPLES / "centos6-xen-pv/report.yaml").read_text())
    for pkg in report["packages"]:
        (root / "var/lib/fake-rpm" / pkg["name"]).touch()
    for name in ("sshd", "network", "iptables", "ip6tables", "libvirtd", "mysqld", "rsyslog", "nfs"):
        p = root / "etc/init.d" / name
        p.write_text(SCRIPT)
        p.chmod(0o755)
    for tool in ("chkconfig", "dracut", "grub2-mkconfig", "grub-install", "insserv", "update-rc.d"):
        stand_in(root, tool)
    stand_in(root, "rpm", RPM)
    for pm in ("yum", "zypper"):
        stand_in(root, pm, PM)
    (root / "etc/udev/rules.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/fstab").write_text("LABEL=cloudimg-rootfs / ext4 defaults 0 1\n")
    hooks = Hooks(root, data)
    env = {"DIB_ROOT_LABEL": "cloudimg-rootfs", "IMAGE_BLOCK_DEVICE": "/dev/loop9"}
    with Chroot(root):
        hooks.run("extra-data.d", "20-migrate-overlay-stage")
        for phase, element in (("pre-install.d", "migrate-base"),
                               ("post-install.d", "migrate-kernel"),
                               ("post-install.d", "migrate-overlay"),
                               ("post-install.d", "migrate-network"),
                               ("post-install.d", "migrate-clock"),
                               ("post-install.d", "migrate-services"),
                               ("finalise.d", "migrate-fstab"),
                               ("finalise.d", "migrate-bootloader")):
            hooks.run_element(phase, element, env=env)
    return root, data


def test_centos6_xen_pv(tmp_path):
    root, data = prepare(tmp_path, "redhat", "grub-legacy")
    got = [c for c in calls(root) if not c.startswith("rpm ")]
    assert got == [
        # kernel-xen replaced by the standard kernel (grub already there)
        "yum -y install kernel cloud-utils-growpart",
        "yum -y remove kernel-xen",
        # sysv services; hal, haldaemon, netfs and kudzu are not in this image: skipped
        "chkconfig sshd on", "chkconfig network on", "chkconfig mysqld on", "chkconfig rsyslog on",
        "chkconfig iptables off", "chkconfig ip6tables off", "chkconfig libvirtd off", "chkconfig nfs off",
        # finalise: generic initramfs for the new kernel, grub-legacy installed
        "dracut -f /boot/initramfs-%s.img %s" % (KVER, KVER),
        "grub-install --no-floppy /dev/loop9",
    ]
    assert not (root / "var/lib/fake-rpm/kernel-xen").exists()
    dracut = (root / "etc/dracut.conf.d/90-dib-migrate.conf").read_text()
    assert 'hostonly="no"' in dracut and "virtio_blk" in dracut
    conf = (root / "boot/grub/grub.conf").read_text()
    assert "kernel /boot/vmlinuz-%s ro root=LABEL=cloudimg-rootfs net.ifnames=0 biosdevname=0 " \
           "console=tty0 console=ttyS0,115200" % KVER in conf
    assert "default=0" in conf
    assert (root / "boot/grub/menu.lst").resolve() == (root / "boot/grub/grub.conf").resolve()
    ifcfg = (root / "etc/sysconfig/network-scripts/ifcfg-eth0").read_text()
    keys = [ln.split("=")[0] for ln in ifcfg.splitlines() if not ln.startswith("#")]
    assert "HWADDR" not in keys and "MACADDR" not in keys and "IPADDR=10.20.30.42" in ifcfg
    assert ifcfg == (data / "network/tree/etc/sysconfig/network-scripts/ifcfg-eth0").read_text()
    assert not (root / "etc/udev/rules.d/70-persistent-net.rules").exists()
    assert (root / "etc/my.cnf").exists()
    assert (root / "etc/adjtime").read_text().splitlines()[2] == "LOCAL"
    fstab = (root / "etc/fstab").read_text()
    assert "nfs" not in fstab and "xvda" not in fstab and "/dev/shm" in fstab


def test_suse_branch(tmp_path):
    root, data = prepare(tmp_path, "suse", "grub2")
    got = [c for c in calls(root) if not c.startswith("rpm ")]
    assert got == ["zypper --non-interactive install kernel cloud-utils-growpart",
                   "zypper --non-interactive remove kernel-xen",
                   "insserv sshd", "insserv network", "insserv mysqld", "insserv rsyslog",
                   "insserv -r iptables", "insserv -r ip6tables", "insserv -r libvirtd", "insserv -r nfs",
                   "dracut -f /boot/initrd-%s %s" % (KVER, KVER),
                   "grub2-mkconfig -o /boot/grub/grub.cfg"]
    grub = (root / "etc/default/grub").read_text()
    assert 'GRUB_CMDLINE_LINUX="net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200"' in grub
