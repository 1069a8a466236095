"""End-to-end on the richer fixture (issue 11's proof): the shop server of
tests/support/richfixture.py, built once for OpenStack (uncompressed), booted once in qemu
with two NICs, checked from inside over SSH, then compared.

What the boot proves about the network: the guest has two virtio NICs, each on its own qemu
user-mode network with its own SSH forward to 10.0.2.15. The image's bond0 (active-backup,
eth0 primary) holds the source's address, so SSH through NIC 0 reaches it; NIC 1's forward
does not while eth1 is the backup (an active-backup bond drops what a backup member
receives); unplugging NIC 0's cable (QMP set_link) makes the bond fail over and the same
address then answers through NIC 1. The VLAN (bond0.100) and the route through it are
checked in the guest's own tables: user networking carries no tagged frames.
"""
import os
import re
import subprocess
import time

import pytest

from tests.support import richfixture as rf
from tests.support import vm as vmlib
from tests.support.dibhost import compare_json
from tests.support.imagecopy import altered_copy, enable_unit

pytestmark = pytest.mark.functional

MACS = ("52:54:00:5b:0d:01", "52:54:00:5b:0d:02")
BOOT_TIMEOUT = int(os.environ.get("DIB_MIGRATE_BOOT_TIMEOUT", "420"))

# everything the checks read, in one SSH round trip (each costs seconds under TCG); sections
# are "=== name" lines. sudo -n proves the carried sudoers drop-in on the way.
FACTS = r"""
s() {{ echo "=== $1"; }}
s hostname; hostname
s id; id -u; id -g
s sudo; sudo -n id -u
s root_keys; sudo -n cat /root/.ssh/authorized_keys
s machine_id; cat /etc/machine-id
s bonding; cat /proc/net/bonding/{bond}
s links; ip -d link show
s addresses; ip -4 -o addr show
s routes; ip -4 route show
s resolv; cat /etc/resolv.conf
s enabled; systemctl is-enabled {custom} {disabled} cron apache2 postgresql networking ssh
s active; systemctl is-active {custom} {disabled} cron apache2 postgresql networking ssh
s sysctl; cat /proc/sys/vm/swappiness /proc/sys/net/ipv4/tcp_keepalive_time
s cron; cat {cron}
s sudoers; sudo -n cat {sudoers}
s removed; test -e {removed} && echo present || echo absent
""".format(bond=rf.BOND, custom=rf.CUSTOM_TIMER, disabled=rf.DISABLED_TIMER, cron=rf.CRON_FILE,
           sudoers=rf.SUDOERS_FILE, removed=rf.REMOVED_PACKAGE_FILE)


# --------------------------------------------------------------------------- compare (before the VM starts:
# a TCG guest would take the CPU it needs)
def test_compare_explains_every_difference(rich_openstack, rich_report):
    rc, out = compare_json(rich_report, rich_openstack.image, rich_openstack.plan_path)
    bad = [d for d in out["differences"] if not d["explained"]]
    print("compare rich openstack: %d differences, %d explained, %d unexplained, %.1fs"
          % (len(out["differences"]), out["explained"], len(bad), out["seconds"]))
    assert rc == 0 and not bad, "\n".join("%(area)s %(subject)s: %(source)r -> %(image)r" % d for d in bad)


def test_altered_rich_image_is_unexplained(rich_openstack, rich_report, workdir):
    def mutate(mnt):
        # the timer the admin disabled comes back (as a package script would do it), the page changes
        enable_unit(mnt, rf.DISABLED_TIMER, target="timers.target")
        with open(mnt / rf.PAGE.lstrip("/"), "a") as f:
            f.write("<!-- changed -->\n")
        # and the package file the admin had deleted is back
        (mnt / rf.REMOVED_PACKAGE_FILE.lstrip("/")).write_text("#!/bin/sh\n")
    broken = altered_copy(rich_openstack.image, workdir, mutate, name="rich-altered.raw")
    try:
        rc, out = compare_json(rich_report, broken, rich_openstack.plan_path)
    finally:
        broken.unlink()
    bad = {(d["area"], d["subject"]) for d in out["differences"] if not d["explained"]}
    assert rc == 1
    assert bad == {("services", rf.DISABLED_TIMER), ("files", rf.PAGE),
                   ("files", rf.REMOVED_PACKAGE_FILE + " present")}, bad


# --------------------------------------------------------------------------- the booted image
@pytest.fixture(scope="module")
def shop(rich_openstack, rich_source, keypair, workdir):
    """The OpenStack image of the shop server running under qemu with two NICs and a ConfigDrive
    that offers the test's key (root must not get it: identity keep)."""
    key, pub = keypair
    seed = vmlib.config_drive(workdir / "rich-config-drive.iso", rf.HOSTNAME, [pub])
    vm = vmlib.VM(rich_openstack.image, workdir / "vm-rich", user=rich_source.user, key=key,
                  nic_model="virtio-net-pci", mac=MACS[0], more_macs=MACS[1:], seed=seed)
    with vm:
        vm.wait_ssh(timeout=BOOT_TIMEOUT)
        print("rich openstack image: built in %.0fs, SSH after %.1fs (%s)"
              % (rich_openstack.seconds, vm.boot_seconds, vm.accel))
        yield vm


@pytest.fixture(scope="module")
def facts(shop):
    out = shop.ssh(FACTS, check=False, timeout=120).stdout
    sections, name = {}, None
    for line in out.splitlines():
        if line.startswith("=== "):
            name = line[4:]
            sections[name] = []
        elif name:
            sections[name].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def _get(vm, path, expect=None):
    """(status, text) of ``path``; retried while Apache (and PostgreSQL, when ``expect`` is a row)
    may still be starting."""
    status, body = None, b""
    for _ in range(30):
        try:
            status, body = vm.http_get(path)
            if status == 200 and (expect is None or expect.encode() in body):
                break
        except OSError:
            pass
        time.sleep(2)
    return status, body.decode(errors="replace")


def test_php_page_shows_the_database_rows(shop, rich_source):
    status, text = _get(shop, "/index.php", rich_source.rows()[0])
    assert status == 200, text
    assert "<h1>shop %s</h1>" % rich_source.token in text
    assert [ln for ln in text.splitlines() if ln.startswith("<p>")] == rich_source.rows(), text


def test_site_root_serves_the_shop_as_on_the_source(shop, rich_source):
    """The admin deleted Apache's default index.html; the rebuild's apache2 postinst writes it again and / would
    serve Apache's page: the Plan removes it (overlay-absent, the family's default_content)."""
    status, text = _get(shop, "/")
    assert status == 200 and rich_source.rows()[0] in text, text[:200]


def test_identity_and_access_kept(shop, facts, rich_source):
    assert facts["hostname"] == rf.HOSTNAME
    assert facts["id"].split() == [str(rf.UID), str(rf.GID)]
    assert facts["sudo"] == "0"                                 # the sudoers drop-in works
    assert facts["sudoers"] == "%s ALL=(ALL) NOPASSWD: ALL" % rf.USER
    # cloud-init saw the ConfigDrive's key and must not have given it to root
    assert facts["root_keys"] + "\n" == rich_source.root_keys
    assert facts["machine_id"] == rich_source.machine_id
    r = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(shop.ports[22]), "127.0.0.1"],
                       capture_output=True, text=True, timeout=30)
    assert rich_source.host_key_pub.split()[1] in r.stdout, r.stdout


def test_a_package_file_the_admin_removed_stays_removed(facts, rich_report):
    """overlay-absent: the scan names apache2's daily cron job the admin deleted; the image has none."""
    import yaml
    absent = yaml.safe_load(rich_report.read_text())["absent_package_files"]
    assert {"path": rf.REMOVED_PACKAGE_FILE, "package": "apache2"} in absent, absent
    assert facts["removed"] == "absent"


def test_units_in_the_sources_states(facts):
    names = [rf.CUSTOM_TIMER, rf.DISABLED_TIMER, "cron", "apache2", "postgresql", "networking", "ssh"]
    enabled = dict(zip(names, facts["enabled"].split()))
    active = dict(zip(names, facts["active"].split()))
    assert enabled == {rf.CUSTOM_TIMER: "enabled", rf.DISABLED_TIMER: "disabled", "cron": "enabled",
                       "apache2": "enabled", "postgresql": "enabled", "networking": "enabled", "ssh": "enabled"}
    assert active[rf.CUSTOM_TIMER] == "active" and active[rf.DISABLED_TIMER] == "inactive", active
    assert active["cron"] == active["networking"] == "active", active
    assert "17 3 * * * postgres /usr/bin/vacuumdb --all --quiet" in facts["cron"]


def test_sysctl_in_effect(facts):
    assert facts["sysctl"].split() == [rf.SYSCTL["vm.swappiness"], rf.SYSCTL["net.ipv4.tcp_keepalive_time"]]


def _link(links, name):
    """The `ip -d link` block of one device."""
    m = re.search(r"(?ms)^\d+: %s[@:].*?(?=^\d+: |\Z)" % re.escape(name), links)
    assert m, "no %s in:\n%s" % (name, links)
    return m.group(0)


def test_bond_with_both_members(facts):
    bond = _link(facts["links"], rf.BOND)
    assert re.search(r"\bbond mode %s\b" % rf.BOND_MODE, bond), bond
    for member in rf.MEMBERS:
        assert re.search(r"\bmaster %s\b" % rf.BOND, _link(facts["links"], member)), member
    bonding = facts["bonding"]
    assert "Bonding Mode: fault-tolerance (active-backup)" in bonding, bonding
    assert re.findall(r"(?m)^Slave Interface: (\S+)", bonding) == list(rf.MEMBERS), bonding
    assert "Currently Active Slave: %s" % rf.MEMBERS[0] in bonding, bonding


def test_bond_primary_as_on_the_source(facts):
    assert "Primary Slave: %s" % rf.MEMBERS[0] in facts["bonding"], facts["bonding"]


def test_vlan_route_and_addresses(facts):
    vlan = _link(facts["links"], rf.VLAN)
    assert re.search(r"\bvlan protocol 802\.1Q id %d\b" % rf.VLAN_ID, vlan), vlan
    assert vlan.split(":")[1].strip() == "%s@%s" % (rf.VLAN, rf.BOND), vlan
    addresses = facts["addresses"]
    assert re.search(r"(?m)^\d+: %s\s+inet %s " % (re.escape(rf.BOND), re.escape(rf.ADDRESS)), addresses)
    assert re.search(r"(?m)^\d+: %s\s+inet %s " % (re.escape(rf.VLAN), re.escape(rf.VLAN_ADDRESS)), addresses)
    routes = facts["routes"]
    assert "default via %s dev %s" % (rf.GATEWAY, rf.BOND) in routes, routes
    assert "%s via %s dev %s" % (rf.ROUTE_TO, rf.ROUTE_VIA, rf.VLAN) in routes, routes


def test_dns_search_domain(facts):
    resolv = facts["resolv"]
    assert re.search(r"(?m)^search\s+%s\s*$" % re.escape(rf.SEARCH), resolv), resolv
    assert re.search(r"(?m)^nameserver\s+%s\s*$" % re.escape(rf.DNS), resolv), resolv


def _answers(vm, nic, timeout):
    """True when SSH through NIC ``nic``'s forward works within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if vm.ssh("true", check=False, timeout=10, nic=nic).returncode == 0:
                return True
        except subprocess.TimeoutExpired:
            pass
        time.sleep(1)
    return False


def test_bond_fails_over_to_the_second_nic(shop, facts):
    # runs last: it pulls NIC 0's cable (and plugs it back)
    assert not _answers(shop, 1, 12), "NIC 1 answered while eth1 was the bond's backup"
    shop.set_link(0, False)
    try:
        assert _answers(shop, 1, 60), "no SSH through NIC 1 after NIC 0 went down"
        bonding = shop.ssh("cat /proc/net/bonding/%s" % rf.BOND, nic=1).stdout
        assert "Currently Active Slave: %s" % rf.MEMBERS[1] in bonding, bonding
    finally:
        shop.set_link(0, True)
