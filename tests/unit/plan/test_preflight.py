"""Pre-flight warnings: what cannot be carried over, shown before anyone trusts a build."""
from ..helpers import plan_of


def rules(plan):
    return [w.rule for w in plan.warnings + plan.blockers]


def test_no_dib_base_for_centos6(example):
    plan = plan_of(example("centos6-xen-pv"))
    (b,) = [b for b in plan.blockers if b.rule == "preflight-base"]
    assert "centos 6.10" in b.message and "--strategy rootfs" in b.fix
    assert (b.field, b.value) == ("os.distro", "centos 6.10")
    assert not [w for w in plan.warnings if w.rule == "preflight-base"]


def test_debian_example_is_clean(example):
    # its hand-written report predates timers, sockets, paths and instances in the scan, and its eth0's
    # static gateway sits beside eth1's DHCP: only that is said
    assert rules(plan_of(example("debian12-web"))) == ["preflight-units", "preflight-routes"]


def test_report_recording_every_unit_type_is_clean(example, derive):
    def every(d):
        d["scanner"]["unit_types"] = ["service", "timer", "socket", "path", "instance"]
    assert rules(plan_of(derive("debian12-web", every, overlay=True))) == ["preflight-routes"]


def test_non_systemd_report_needs_no_unit_types(example):
    assert "preflight-units" not in rules(plan_of(example("centos6-xen-pv")))


def test_two_default_routes_under_ifupdown(example, derive):
    """The matrix's bookworm ec2/azure boots: eth1's lease (its DHCP offers a router) set the default route
    first, ifupdown's `gateway` line for eth0 then failed and networking.service with it."""
    (w,) = [w for w in plan_of(example("debian12-web"), "ec2").warnings if w.rule == "preflight-routes"]
    assert "eth0's static gateway (192.0.2.1) and the DHCP of eth1" in w.message
    assert "networking.service" in w.message

    def netplan(d):
        d["network"]["manager"] = "netplan"
    # other managers give each default route a metric of its own
    assert "preflight-routes" not in rules(plan_of(derive("debian12-web", netplan), "ec2"))


def test_no_overlay_warned(example):
    assert "preflight-overlay" in rules(plan_of(example("rocky9-vmware")))


def test_rootfs_needs_full_overlay(example, derive):
    assert "preflight-rootfs" in rules(plan_of(example("debian12-web"), strategy="rootfs"))

    def full(d):
        d["overlay"]["mode"] = "full"
    r = derive("debian12-web", full, overlay=True)
    assert "preflight-rootfs" not in rules(plan_of(r, strategy="rootfs"))
    # and a full overlay over a package rebuild is warned about
    assert "preflight-overlay" in rules(plan_of(r))


def test_firewall_lockout_warned_only_when_kept(example):
    assert "preflight-firewall" not in rules(plan_of(example("centos6-xen-pv")))
    plan = plan_of(example("centos6-xen-pv"), firewall=True)
    (w,) = [w for w in plan.warnings if w.rule == "preflight-firewall"]
    assert "iptables" in w.message and "tcp/22" in w.message


def test_firewall_inactive_not_warned(example):
    assert "preflight-firewall" not in rules(plan_of(example("sles15-wicked"), firewall=True))


def test_lvm_names(example):
    ws = [w for w in plan_of(example("rocky9-vmware")).warnings if w.rule == "preflight-lvm"]
    assert [w.message.split(" mounts ")[1].split(" ")[0] for w in ws] == [
        "/dev/mapper/rl-root", "/dev/mapper/rl-swap"]
    assert "fstab line 1" in ws[0].message


def test_lvm_vg_path_and_crypt(derive):
    def m(d):
        d["fstab"] += [{"spec": "/dev/vg0/data", "mountpoint": "/data", "fstype": "ext4"},
                       {"spec": "/dev/mapper/luks-home", "mountpoint": "/home", "fstype": "ext4"},
                       {"spec": "/dev/mapper/cryptdata", "mountpoint": "/secret", "fstype": "ext4"}]
    ws = plan_of(derive("debian12-web", m)).warnings
    found = [(w.rule, w.message.split(" ")[2]) for w in ws if w.rule in ("preflight-lvm", "preflight-crypt")]
    assert found == [("preflight-lvm", "5"), ("preflight-lvm", "6"), ("preflight-crypt", "6"),
                     ("preflight-lvm", "7"), ("preflight-crypt", "7")]


def test_disk_by_uuid_is_not_lvm(example):
    assert "preflight-lvm" not in rules(plan_of(example("ubuntu2204-netplan")))


def test_another_ssh_server_is_enough(derive):
    def dropbear(d):
        d["packages"] = [p for p in d["packages"] if p["name"] != "openssh-server"]
        d["packages"].append({"name": "dropbear", "version": "2022.83-1", "arch": "amd64"})
    plan = plan_of(derive("debian12-web", dropbear, overlay=True), "openstack")
    assert "preflight-ssh" not in rules(plan)
    assert "ssh" not in [c.subject for c in plan.changes if c.rule == "svc-sshd"]


def test_fstab_without_a_root_line_is_warned(derive):
    def no_root(d):
        d["fstab"] = [e for e in d["fstab"] if e["mountpoint"] != "/"]
    assert "fstab-blockdev" in [w.rule for w in plan_of(derive("debian12-web", no_root, overlay=True)).warnings]
