"""svc-libvirtd, svc-sshd, svc-network, svc-firewall, <target>-services, svc-keep; precedence."""
import pytest

from ..helpers import plan_of, services


def add_packages(*names):
    def m(d):
        d["packages"] += [{"name": n} for n in names]
    return m


def test_libvirtd_disabled_everywhere(example):
    for name in ("debian12-web", "centos6-xen-pv", "ubuntu2204-netplan", "rocky9-vmware"):
        c = plan_of(example(name)).find("disable-service", "libvirtd")
        assert c.rule == "svc-libvirtd"


def test_libvirtd_not_scanned_is_marked(example):
    c = plan_of(example("rocky9-vmware")).find("disable-service", "libvirtd")
    assert c.data["present"] is False and "not on the source" in c.reason


@pytest.mark.parametrize("name,ssh", [("debian12-web", "ssh"), ("ubuntu2204-netplan", "ssh"),
                                      ("centos6-xen-pv", "sshd"), ("rocky9-vmware", "sshd"),
                                      ("sles15-wicked", "sshd")])
def test_sshd_enabled_with_family_name(example, name, ssh):
    svc = services(plan_of(example(name)))
    assert svc[ssh] == ("enable-service", "svc-sshd")
    assert ("sshd" if ssh == "ssh" else "ssh") not in svc


def test_sshd_enabled_even_when_scanned_disabled(derive):
    def m(d):
        for s in d["services"]:
            if s["name"] == "ssh":
                s["state"] = "disabled"
    c = plan_of(derive("debian12-web", m)).find("enable-service", "ssh")
    assert c.rule == "svc-sshd" and c.data["present"] is True


# --- svc-network: NetworkManager present / absent ---------------------------------------------

@pytest.mark.parametrize("base,extra,expected", [
    ("debian12-web", (), "networking"),
    ("debian12-web", ("network-manager",), "NetworkManager"),
    ("centos6-xen-pv", (), "network"),
    ("centos6-xen-pv", ("NetworkManager",), "NetworkManager"),
    ("ubuntu2204-netplan", (), "systemd-networkd"),
    ("sles15-wicked", (), "wicked"),
    ("sles15-wicked", ("NetworkManager",), "NetworkManager"),
])
def test_network_service(derive, base, extra, expected):
    svc = services(plan_of(derive(base, add_packages(*extra)), "kvm"))
    assert svc[expected] == ("enable-service", "svc-network")


def test_network_service_reason(derive):
    plan = plan_of(derive("centos6-xen-pv", add_packages("NetworkManager")))
    c = plan.find("enable-service", "NetworkManager")
    assert "NetworkManager is installed" in c.reason
    c = plan_of(derive("centos6-xen-pv")).find("enable-service", "network")
    assert "network-scripts" in c.reason


def test_network_manager_by_scanned_manager(example):
    assert services(plan_of(example("rocky9-vmware")))["NetworkManager"] == ("enable-service", "svc-network")


# --- svc-firewall and precedence: option > target rule > common rule ----------------------------

@pytest.mark.parametrize("base,names", [("centos6-xen-pv", ("iptables", "ip6tables")),
                                        ("debian12-web", ("netfilter-persistent",)),
                                        ("rocky9-vmware", ("iptables", "ip6tables", "firewalld")),
                                        ("ubuntu2204-netplan", ("netfilter-persistent", "ufw")),
                                        ("sles15-wicked", ("SuSEfirewall2", "firewalld"))])
def test_firewall_not_asked_disabled(example, base, names):
    svc = services(plan_of(example(base), "kvm"))
    for n in names:
        assert svc[n] == ("disable-service", "svc-firewall"), n


@pytest.mark.parametrize("base,names,others", [("centos6-xen-pv", ("iptables", "ip6tables"), ()),
                                               ("debian12-web", ("netfilter-persistent",), ()),
                                               ("rocky9-vmware", ("firewalld",), ("iptables", "ip6tables")),
                                               ("ubuntu2204-netplan", ("ufw",), ("netfilter-persistent",))])
def test_firewall_asked_keeps_only_the_active_tool(example, base, names, others):
    svc = services(plan_of(example(base), "kvm", firewall=True))
    for n in names:
        assert svc[n] == ("enable-service", "svc-firewall"), n
    # a second tool would load its own rules over the active one's
    for n in others:
        assert svc[n] == ("disable-service", "svc-firewall"), n


@pytest.mark.parametrize("target", ["ec2", "openstack"])
def test_target_rule_beats_common_rule(example, target):
    plan = plan_of(example("centos6-xen-pv"), target)
    for n in ("iptables", "ip6tables"):
        c = plan.find("disable-service", n)
        # both say disabled: the target rule is recorded, the common rule agrees
        assert c.rule == "%s-services" % target and c.data["also"] == ["svc-firewall"]
        assert c.reason == "%s disabled: %s images disable %s" % (n, target, n)


def test_debian_firewall_service_cited_once(example):
    c = plan_of(example("debian12-web"), "ec2").find("disable-service", "netfilter-persistent")
    assert c.data["also"] == ["svc-firewall"]


@pytest.mark.parametrize("target", ["ec2", "openstack"])
def test_user_option_beats_target_rule(example, target):
    plan = plan_of(example("centos6-xen-pv"), target, firewall=True)
    for n in ("iptables", "ip6tables"):
        c = plan.find("enable-service", n)
        assert c.rule == "svc-firewall" and "(overrides %s-services)" % target in c.reason
        assert plan.find("disable-service", n) is None


def test_debian_target_rule_maps_iptables_to_family_name(example):
    svc = services(plan_of(example("debian12-web"), "ec2"))
    assert svc["netfilter-persistent"] == ("disable-service", "ec2-services")
    assert "iptables" not in svc and "ip6tables" not in svc
    svc = services(plan_of(example("debian12-web"), "ec2", firewall=True))
    assert svc["netfilter-persistent"] == ("enable-service", "svc-firewall")


# --- target service rules ---------------------------------------------------------------------

@pytest.mark.parametrize("target", ["ec2", "openstack"])
def test_ec2_openstack_services(example, target):
    svc = services(plan_of(example("centos6-xen-pv"), target))
    rule = "%s-services" % target
    for n in ("hal", "haldaemon", "iptables", "ip6tables"):
        assert svc[n] == ("disable-service", rule)
    assert svc["network"] == ("enable-service", rule)


def test_azure_services(example):
    plan = plan_of(example("centos6-xen-pv"), "azure")
    svc = services(plan)
    assert svc["network"] == ("enable-service", "azure-services")
    assert svc["waagent"] == ("enable-service", "pkg-azure-agent")
    # azure disables nothing of its own: hal is kept as scanned, the firewall by the common rule
    assert svc["hal"] == ("enable-service", "svc-keep")
    assert svc["iptables"] == ("disable-service", "svc-firewall")


@pytest.mark.parametrize("name,agent", [("debian12-web", "walinuxagent"),
                                        ("ubuntu2204-netplan", "walinuxagent"), ("rocky9-vmware", "waagent")])
def test_azure_agent_service_per_family(example, name, agent):
    assert services(plan_of(example(name), "azure"))[agent] == ("enable-service", "pkg-azure-agent")


def test_kvm_has_no_target_service_rule(example):
    svc = services(plan_of(example("centos6-xen-pv"), "kvm"))
    assert svc["hal"] == ("enable-service", "svc-keep")
    assert not any(rule.endswith("-services") for _a, rule in svc.values())


def test_scanned_states_kept(example):
    svc = services(plan_of(example("debian12-web"), "kvm"))
    assert svc["nginx"] == ("enable-service", "svc-keep")
    assert svc["hwclock"] == ("mask-service", "svc-keep")
    assert svc["console-getty"] == ("disable-service", "svc-keep")


def test_removed_agent_services_are_not_carried(derive):
    def m(d):
        d["platform"]["virtualization"] = "vmware"
        d["packages"].append({"name": "open-vm-tools", "version": "2:12.2.0-1+deb12u2", "arch": "amd64"})
        d["services"].append({"name": "vmtoolsd", "state": "enabled"})
    plan = plan_of(derive("debian12-web", m))
    assert plan.find("remove-package", "open-vm-tools").rule == "agent-remove"
    assert not [c for c in plan.changes if c.subject == "vmtoolsd"]


# --- boot-console: the Xen console's getty ---------------------------------------------------------

@pytest.mark.parametrize("target,tty", [("openstack", "ttyS0"), ("ec2", "ttyS0"), ("azure", "ttyS0")])
def test_xen_console_getty_moves_to_the_serial_console(derive, target, tty):
    def m(d):
        d["services"].append({"name": "serial-getty@hvc0", "state": "enabled"})
        d["services"].append({"name": "getty@tty1", "state": "enabled"})
    svc = services(plan_of(derive("debian12-web", m), target))
    assert svc["serial-getty@hvc0"] == ("disable-service", "boot-console")
    assert svc["serial-getty@" + tty] == ("enable-service", "boot-console")
    assert svc["getty@tty1"] == ("enable-service", "svc-keep")


def test_no_xen_console_getty_no_change(example):
    assert "serial-getty@ttyS0" not in services(plan_of(example("debian12-web"), "openstack"))


def test_libvirt_sockets_go_with_libvirtd(derive):
    def m(d):
        for name in ("libvirtd.socket", "libvirtd-ro.socket", "virtlogd.socket", "virtlockd.socket", "ssh.socket"):
            d["services"].append({"name": name, "state": "enabled"})
    svc = services(plan_of(derive("debian12-web", m), "openstack"))
    for name in ("libvirtd.socket", "libvirtd-ro.socket", "virtlogd.socket", "virtlockd.socket"):
        assert svc[name] == ("disable-service", "svc-libvirtd"), name
    assert svc["ssh.socket"] == ("enable-service", "svc-keep")
