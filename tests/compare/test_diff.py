"""compare's diff (pure): each kind of difference, explained by its Change or unexplained."""
from dataclasses import replace

import pytest

from dib_migrate.compare.diff import differences
from dib_migrate.plan.model import Build, Change, Plan, Warning


def plan(*changes, identity="keep"):
    return Plan(host="h", target="openstack", strategy="packages", identity=identity, family="debian",
                distro="debian", version="12", init_system="systemd",
                build=Build(("debian-minimal",), "bookworm", "amd64", "qcow2", "qcow2"), changes=tuple(changes))


def facts(**kw):
    base = {"host": {"hostname": "h", "fqdn": "h.example"},
            "packages": [{"name": "bash", "version": "5.2"}, {"name": "nginx", "version": "1.22"}],
            "services": [{"name": "nginx", "state": "enabled"}, {"name": "man-db", "state": "disabled"}],
            "network": {"manager": "ifupdown", "hosts": "127.0.0.1 localhost\n",
                        "interfaces": [{"name": "eth0", "mode": "static", "addresses": ["10.0.0.5/24"],
                                        "gateway": "10.0.0.1", "dns": ["10.0.0.2"], "mac": None,
                                        "config_file": "/etc/network/interfaces"}]},
            "fstab": [{"spec": "UUID=1", "mountpoint": "/", "fstype": "ext4", "options": "defaults"}],
            "users": [{"name": "root", "uid": 0, "gid": 0}, {"name": "shop", "uid": 1500, "gid": 1500}],
            "groups": [{"name": "root", "gid": 0}, {"name": "shop", "gid": 1500}],
            "relations": {}, "unit_packages": {}, "sysctl": {}, "sysusers": {}, "identity": {}}
    base.update(kw)
    return base


def only(diffs):
    assert len(diffs) == 1, diffs
    return diffs[0]


def test_identical_facts_have_no_difference():
    assert differences(facts(), facts(), plan()) == []


def test_timer_re_enabled_by_the_rebuild_is_unexplained():
    img = facts(services=[{"name": "nginx", "state": "enabled"}, {"name": "man-db", "state": "enabled"}])
    d = only(differences(facts(), img, plan()))
    assert (d.area, d.subject, d.source, d.image) == ("services", "man-db", "disabled", "enabled")
    assert not d.explained


def test_service_state_explained_by_its_change():
    ch = Change("disable-service", "nginx", "svc-firewall", "because")
    img = facts(services=[{"name": "nginx", "state": "disabled"}, {"name": "man-db", "state": "disabled"}])
    d = only(differences(facts(), img, plan(ch)))
    assert d.rule == "svc-firewall" and d.explained
    # a Change asking for another state than the image has does not explain it
    wrong = Change("enable-service", "nginx", "svc-keep", "as scanned")
    assert not only(differences(facts(), img, plan(wrong))).explained


@pytest.mark.parametrize("field,value", [
    ("addresses", ["10.0.0.6/24"]), ("gateway", "10.0.0.9"), ("dns", []), ("mode", "dhcp"),
    ("mtu", 9000), ("routes", [{"to": "10.9.0.0/16", "via": "10.0.0.1"}]), ("kind", "bond"),
])
def test_interface_field_changed_silently_is_unexplained(field, value):
    img = facts()
    img["network"] = dict(img["network"], interfaces=[dict(img["network"]["interfaces"][0], **{field: value})])
    d = only(differences(facts(), img, plan()))
    assert d.subject == "eth0." + field and not d.explained


def test_interface_address_explained_by_set_network():
    img = facts()
    img["network"] = dict(img["network"], interfaces=[dict(img["network"]["interfaces"][0], mode="dhcp",
                                                           addresses=[], gateway=None, dns=[])])
    data = {"mode": "dhcp", "addresses": [], "gateway": None, "dns": [], "file": "/etc/network/interfaces"}
    ch = Change("set-network", "eth0", "net-dhcp", "profile", data)
    diffs = differences(facts(), img, plan(ch))
    assert diffs and all(d.rule == "net-dhcp" for d in diffs), diffs


def test_lost_interface_is_unexplained():
    img = facts()
    img["network"] = dict(img["network"], interfaces=[])
    d = only(differences(facts(), img, plan()))
    assert d.subject == "interface eth0" and d.image is None and not d.explained


def test_package_added_explained_through_its_dependencies():
    img = facts(packages=facts()["packages"] + [{"name": "cloud-init", "version": "22"},
                                                {"name": "python3-yaml", "version": "6"},
                                                {"name": "packagekit", "version": "1.2"}],
                relations={"cloud-init": {"depends": ["python3-yaml"], "recommends": ["packagekit"]},
                           "python3-yaml": {}, "packagekit": {}, "bash": {}, "nginx": {}})
    ch = Change("install-package", "cloud-init", "pkg-cloud-init", "openstack uses cloud-init")
    diffs = {d.subject: d for d in differences(facts(), img, plan(ch))}
    assert diffs["cloud-init"].rule == "pkg-cloud-init"
    assert diffs["python3-yaml"].rule == "pkg-cloud-init"
    # a Recommends the Plan does not name is a silent addition
    assert not diffs["packagekit"].explained


def test_package_version_explained_only_when_not_pinned():
    img = facts(packages=[{"name": "bash", "version": "5.2"}, {"name": "nginx", "version": "1.23"}])
    free = Change("install-packages", "2 packages", "pkg-rebuild", "rebuilt", {"names": ["bash", "nginx"]})
    assert only(differences(facts(), img, plan(free))).rule == "pkg-rebuild"
    pinned = Change("install-packages", "2 packages", "pkg-rebuild", "rebuilt",
                    {"names": ["bash", "nginx"], "versions": {"bash": "5.2", "nginx": "1.22"}})
    assert not only(differences(facts(), img, plan(pinned))).explained


def test_removed_package_explained_by_remove_package():
    img = facts(packages=[{"name": "bash", "version": "5.2"}])
    assert not only(differences(facts(), img, plan())).explained
    ch = Change("remove-package", "nginx", "agent-remove", "old agent")
    assert only(differences(facts(), img, plan(ch))).rule == "agent-remove"


def test_unit_of_an_explained_added_package_is_explained():
    img = facts(packages=facts()["packages"] + [{"name": "open-iscsi", "version": "2"}],
                services=facts()["services"] + [{"name": "iscsid", "state": "enabled"}],
                relations={"open-iscsi": {}}, unit_packages={"iscsid": "open-iscsi"})
    diffs = {d.subject: d for d in differences(facts(), img, plan())}
    assert not diffs["open-iscsi"].explained and not diffs["iscsid"].explained
    ch = Change("install-package", "open-iscsi", "pkg-dib-base", "DIB's base element installs it")
    diffs = {d.subject: d for d in differences(facts(), img, plan(ch))}
    assert diffs["iscsid"].rule == "pkg-dib-base"


def test_accounts_ids_and_packages_needs():
    img = facts(users=[{"name": "root", "uid": 0, "gid": 0}, {"name": "shop", "uid": 1001, "gid": 1500}])
    d = only(differences(facts(), img, plan()))
    assert (d.subject, d.source, d.image, d.explained) == ("user shop", 1500, 1001, False)
    # a group a package new in the image declares (sysusers.d) but the carried /etc/group lacks
    img = facts(packages=facts()["packages"] + [{"name": "udev", "version": "252"}],
                relations={"udev": {}}, sysusers={"groups": {"render": ("/usr/lib/sysusers.d/udev.conf", "udev")}})
    ch = Change("install-package", "udev", "pkg-kernel", "kernel")
    d = only([d for d in differences(facts(), img, plan(ch)) if d.area == "accounts"])
    assert d.subject == "group render" and not d.explained
    # declared by a package the source had too: the source lacked that group as well
    img = facts(sysusers={"groups": {"nobody": ("/usr/lib/sysusers.d/basic.conf", "bash")}})
    assert differences(facts(), img, plan()) == []


def test_resolv_conf_search_lost_is_unexplained():
    src = facts(resolv={"nameserver": ["10.0.0.2"], "search": ["example.lan"], "options": []})
    img = facts(resolv={"nameserver": ["10.0.0.2"], "search": [], "options": []})
    data = {"dns": ["10.0.0.2"], "mode": "static", "addresses": ["10.0.0.5/24"]}
    d = only(differences(src, img, plan(Change("set-network", "eth0", "net-static", "kept", data))))
    assert d.subject == "resolv.conf search" and not d.explained


def test_image_only_group_explained_by_the_merge():
    img = facts(groups=facts()["groups"] + [{"name": "render", "gid": 107}])
    assert not only(differences(facts(), img, plan())).explained
    merged = Change("apply-overlay", "overlay.tar.gz", "overlay", "laid", {"accounts": "merged"})
    assert only(differences(facts(), img, plan(merged))).rule == "overlay"


def test_fstab_lines():
    src = facts(fstab=facts()["fstab"] + [{"spec": "nas:/x", "mountpoint": "/x", "fstype": "nfs",
                                           "options": "rw"},
                                          {"spec": "//srv/s", "mountpoint": "/s", "fstype": "cifs",
                                           "options": "rw"}])
    img = facts(fstab=facts()["fstab"] + [{"spec": "//srv/s", "mountpoint": "/s", "fstype": "cifs",
                                           "options": "rw,nofail"}])
    drop = Change("drop-fstab-line", "/x", "fstab-nfs", "NFS dropped", {"line": "nas:/x /x nfs rw 0 0"})
    keep = Change("keep-fstab-line", "/s", "fstab-remote", "nofail", {"line": "//srv/s /s cifs rw,nofail 0 0"})
    diffs = {d.subject: d for d in differences(src, img, plan(drop, keep))}
    assert diffs["/x"].rule == "fstab-nfs" and diffs["/s"].rule == "fstab-remote"
    diffs = {d.subject: d for d in differences(src, img, plan())}
    assert not diffs["/x"].explained and not diffs["/s"].explained


def test_hostname_and_identity():
    img = facts(host={"hostname": "ubuntu", "fqdn": "ubuntu"},
                identity={"machine_id": "b" * 32, "ssh_host_keys": {"k.pub": "2"}})
    src_ident = {"machine_id": "a" * 32, "ssh_host_keys": {"k.pub": "1"}}
    diffs = differences(facts(), img, plan(Change("identity", "keep", "identity", "kept")),
                        source_identity=src_ident)
    assert sorted(d.subject for d in diffs) == ["fqdn", "hostname", "machine-id", "ssh k.pub"]
    assert not any(d.explained for d in diffs)
    reset = plan(Change("identity", "reset", "identity", "template"), identity="reset")
    diffs = differences(facts(), facts(identity=img["identity"]), reset, source_identity=src_ident)
    assert diffs and all(d.rule == "identity" for d in diffs)


def test_sysctl_from_an_unowned_image_file_is_unexplained():
    img = facts(sysctl={"vm.swappiness": ("10", "/etc/sysctl.d/99-x.conf"),
                        "net.ipv4.ip_forward": ("0", "/usr/lib/sysctl.d/50-default.conf"),
                        "kernel.pid_max": ("4194304", "/usr/lib/sysctl.d/50-pid-max.conf")})
    src = {"vm.swappiness": ("10", "/etc/sysctl.d/99-x.conf"), "net.ipv4.ip_forward": ("1", "/etc/sysctl.conf")}
    owners = {"/usr/lib/sysctl.d/50-default.conf": "procps", "/usr/lib/sysctl.d/50-pid-max.conf": "systemd"}
    diffs = differences(facts(), img, plan(), source_sysctl=src, image_owners=owners)
    d = only(diffs)     # pid_max comes from a package the source has too: the same setting there
    assert (d.subject, d.source, d.explained) == ("net.ipv4.ip_forward", "1", False)


def test_overlay_file_rows():
    rows = [("/etc/hosts.allow", "content", "10 bytes", "12 bytes"),
            ("/etc/adjtime", "content", "44 bytes", "16 bytes"),
            ("/srv/www/index.php", "mode", "644", "600")]
    ch = Change("reset-adjtime", "/etc/adjtime", "clock-adjtime", "drift dropped")
    diffs = {d.subject: d for d in differences(facts(), facts(), plan(ch), overlay_rows=rows)}
    assert diffs["/etc/adjtime"].rule == "clock-adjtime"
    assert not diffs["/etc/hosts.allow"].explained and not diffs["/srv/www/index.php mode"].explained


def test_units_the_plan_installs_are_explained():
    img = facts(services=facts()["services"] + [{"name": "dib-migrate-growroot", "state": "enabled"}])
    assert not only(differences(facts(), img, plan())).explained
    ch = Change("growroot", "/", "growroot", "grows", {"method": "growroot", "unit": "dib-migrate-growroot"})
    assert only(differences(facts(), img, plan(ch))).rule == "growroot"


def test_device_field_lost_is_explained_only_by_the_plans_warning():
    src = facts()
    src["network"] = dict(src["network"], interfaces=[dict(src["network"]["interfaces"][0], mtu=9000)])
    assert not only(differences(src, facts(), plan())).explained
    warned = Plan(**dict(plan().__dict__, warnings=(Warning("preflight-network", "eth0: MTU 9000 NOT carried"),)))
    assert only(differences(src, facts(), warned)).rule == "preflight-network"


def test_prune_explains_only_missing_links():
    prune = Change("prune-etc-links", "/etc", "overlay-links", "pruned", {"keep": [], "skip": []})
    rows = [("/etc/nginx/sites-enabled/default", "missing", "symlink", None), ("/etc/app", "missing", "dir", None)]
    diffs = {d.subject: d for d in differences(facts(), facts(), plan(prune), overlay_rows=rows)}
    assert diffs["/etc/nginx/sites-enabled/default missing"].rule == "overlay-links"
    assert not diffs["/etc/app missing"].explained


def test_image_as_the_source_but_not_as_the_plan_is_unexplained():
    """A unit re-enabled or an fstab line put back: equal to the source, yet the Plan's change is undone."""
    ch = Change("disable-service", "nginx", "svc-libvirtd", "off")
    d = only(differences(facts(), facts(), plan(ch)))
    assert (d.subject, d.image, d.explained) == ("nginx", "enabled", False) and "svc-libvirtd" in d.reason
    src = facts(fstab=facts()["fstab"] + [{"spec": "nas:/x", "mountpoint": "/x", "fstype": "nfs", "options": "rw"}])
    drop = Change("drop-fstab-line", "/x", "fstab-nfs", "NFS dropped", {"line": "nas:/x /x nfs rw 0 0"})
    d = only(differences(src, src, plan(drop)))
    assert d.subject == "/x" and not d.explained and "fstab-nfs" in d.reason


ALL_TYPES = {"name": "dib-migrate", "unit_types": ["service", "timer", "socket", "path", "instance"]}


@pytest.mark.parametrize("unit", ["apt-daily.timer", "libvirtd.socket", "getty@tty1", "acpid.path"])
def test_unit_kind_the_source_scanner_never_recorded(unit):
    img = facts(services=facts()["services"] + [{"name": unit, "state": "enabled"}])
    said = Warning("preflight-units", "the report records the states of service units only")
    legacy = plan()
    legacy = Plan(**{**legacy.__dict__, "warnings": (said,)})
    d = only(differences(facts(), img, legacy))
    assert (d.subject, d.rule) == (unit, "preflight-units")
    # without the Plan saying so, or when the source's scanner did record that kind: unexplained
    assert not only(differences(facts(), img, plan())).explained
    assert not only(differences(facts(scanner=ALL_TYPES), img, legacy)).explained


def test_a_plain_service_is_recorded_even_by_a_legacy_scanner():
    img = facts(services=facts()["services"] + [{"name": "packagekit", "state": "enabled"}])
    said = Warning("preflight-units", "the report records the states of service units only")
    legacy = Plan(**{**plan().__dict__, "warnings": (said,)})
    assert not only(differences(facts(), img, legacy)).explained


BOND = {"name": "bond0", "mode": "static", "addresses": ["10.0.0.5/24"], "gateway": "10.0.0.1", "dns": ["10.0.0.2"],
        "mac": None, "config_file": "/etc/network/interfaces", "kind": "bond", "members": ["eno1", "eno2"],
        "bond_mode": "active-backup", "mtu": 9000, "routes": [{"to": "10.9.0.0/16", "via": "10.0.0.254"}],
        "dns_search": ["example.lan"], "bond_options": {"miimon": "200", "primary": "eno1"}}
VLAN = {"name": "bond0.100", "mode": "static", "addresses": ["10.100.0.5/24"], "gateway": None, "dns": [],
        "mac": None, "config_file": "/etc/network/interfaces", "kind": "vlan", "parent": "bond0", "vlan_id": 100}


def device_plan():
    """The set-network Changes of BOND and VLAN on new hardware: eno1/eno2 are eth0/eth1 there."""
    data = {k: v for k, v in BOND.items() if k not in ("name", "mac", "config_file")}
    bond = Change("set-network", "bond0", "net-static", "bond",
                  dict(data, members=["eth0", "eth1"], file="/etc/network/interfaces",
                       bond_options={"miimon": "200", "primary": "eth0"}))
    vdata = {k: v for k, v in VLAN.items() if k not in ("name", "mac", "config_file")}
    vlan = Change("set-network", "bond0.100", "net-static", "vlan", dict(vdata, file="/etc/network/interfaces"))
    ifnames = Change("kernel-args", "net.ifnames=0 biosdevname=0", "net-ifnames", "names",
                     {"args": ["net.ifnames=0"], "renamed": {"eno1": "eth0", "eno2": "eth1"}})
    return plan(bond, vlan, ifnames)


RENAMED = {"members": ["eth0", "eth1"], "bond_options": {"miimon": "200", "primary": "eth0"}}


def with_devices(bond=None, vlan=None):
    f = facts()
    f["network"] = dict(f["network"], interfaces=[dict(BOND, **(bond or {})), dict(VLAN, **(vlan or {}))])
    return f


@pytest.mark.parametrize("members", [["eth0", "eth1"], ["eth1", "eth0"]])
def test_devices_as_planned_on_renamed_members_have_no_difference(members):
    assert differences(with_devices(), with_devices(bond=dict(RENAMED, members=members)), device_plan()) == []


@pytest.mark.parametrize("iface,field,value", [
    ("bond0", "kind", None), ("bond0", "members", ["eth0"]), ("bond0", "bond_mode", "balance-rr"),
    ("bond0", "mtu", None), ("bond0", "routes", []), ("bond0", "dns_search", []),
    ("bond0.100", "vlan_id", 200), ("bond0.100", "parent", "eth0"), ("bond0.100", "kind", None),
    ("bond0", "bond_options", {"miimon": "200"}), ("bond0", "bond_options", {"miimon": "100", "primary": "eth0"}),
])
def test_device_fact_the_image_lost_is_unexplained(iface, field, value):
    """The Change carries the fact: an image without it is not what the Plan said."""
    image = with_devices(bond=RENAMED)
    for i in image["network"]["interfaces"]:
        if i["name"] == iface:
            i[field] = value
    d = only(differences(with_devices(), image, device_plan()))
    if field == "bond_options":
        # each option its own row: the one that differs is named
        field = "bond_options." + ("primary" if "primary" not in value else "miimon")
    assert d.subject == "%s.%s" % (iface, field) and not d.explained


def test_bond_options_the_plan_adds_or_cannot_carry():
    """A source bond without link monitor gets the Plan's miimon; an option ifupdown cannot say is the Plan's
    warning: both explained, each by what the Plan says about it."""
    source = with_devices(bond={"bond_options": {"primary": "eno1", "min_links": "1"}})
    image = with_devices(bond=dict(RENAMED, bond_options={"primary": "eth0", "miimon": "100"}))
    p = device_plan()
    bond = p.changes[0]
    bond = replace(bond, data=dict(bond.data, bond_options={"primary": "eth0", "miimon": "100"},
                                   bond_defaults={"miimon": "100"}))
    said = Warning("preflight-network", "bond0: bond option min_links 1 NOT carried into the image's ifupdown "
                   "configuration")
    p = Plan(**dict(p.__dict__, changes=(bond,) + p.changes[1:], warnings=(said,)))
    diffs = {d.subject: d for d in differences(source, image, p)}
    assert set(diffs) == {"bond0.bond_options.miimon", "bond0.bond_options.min_links"}
    assert diffs["bond0.bond_options.miimon"].rule == "net-static"
    assert diffs["bond0.bond_options.min_links"].rule == "preflight-network"
    # without the warning, the lost option is unexplained
    p = Plan(**dict(p.__dict__, warnings=()))
    assert not {d.subject: d for d in differences(source, image, p)}["bond0.bond_options.min_links"].explained


def test_root_line_a_source_lacked_is_explained_only_by_the_plans_warning():
    src = facts(fstab=[])
    assert not only(differences(src, facts(), plan())).explained
    said = Warning("fstab-blockdev", "/: the source's fstab has no line for its root")
    warned = Plan(**dict(plan().__dict__, warnings=(said,)))
    assert only(differences(src, facts(), warned)).rule == "fstab-blockdev"


def test_the_source_esp_left_out_is_explained_by_skip_esp_only():
    rows = [("/boot/efi/EFI/debian/grub.cfg", "missing", "file", None),
            ("/srv/backup/boot/efi/notes", "missing", "file", None)]
    ch = Change("skip-esp", "/boot/efi", "overlay-esp", "the image's boot loader owns its ESP")
    diffs = {d.subject: d for d in differences(facts(), facts(), plan(ch), overlay_rows=rows)}
    assert diffs["/boot/efi/EFI/debian/grub.cfg missing"].rule == "overlay-esp"
    assert not diffs["/srv/backup/boot/efi/notes missing"].explained
    diffs = differences(facts(), facts(), plan(), overlay_rows=rows[:1])
    assert not only(diffs).explained


def test_rootfs_package_state_and_the_image_esp_line():
    """The trixie rootfs UEFI cell: the build's installs rewrote dpkg's and debconf's state in the source's own
    tree; DIB's layout added the ESP's fstab line."""
    rows = [("/var/lib/dpkg/status", "content", "1 bytes", "2 bytes"), ("/etc/ld.so.cache", "content", "1", "2"),
            ("/srv/www/index.html", "content", "1 bytes", "2 bytes")]
    kernel = Change("install-kernel", "grub-efi-amd64", "pkg-kernel", "loader injected")
    esp = Change("skip-esp", "/boot/efi", "overlay-esp", "the image's boot loader owns its ESP")
    p = plan(kernel, esp)
    rootfs = replace(p, strategy="rootfs")
    image = facts(fstab=facts()["fstab"] + [{"spec": "LABEL=MKFS_ESP", "mountpoint": "/boot/efi", "fstype": "vfat",
                                             "options": "defaults"}])
    diffs = {d.subject: d for d in differences(facts(), image, rootfs, overlay_rows=rows)}
    assert diffs["/var/lib/dpkg/status"].rule == diffs["/etc/ld.so.cache"].rule == "pkg-kernel"
    assert not diffs["/srv/www/index.html"].explained
    assert diffs["/boot/efi"].rule == "overlay-esp"
    # the packages strategy's image has its own package state: not the source's
    diffs = {d.subject: d for d in differences(facts(), facts(), p, overlay_rows=rows[:1])}
    assert not diffs["/var/lib/dpkg/status"].explained


def test_rootfs_trigger_outputs_are_the_installs():
    """The bookworm rootfs cell: installing the loader into the source's tree ran sgml-base's trigger, which
    rewrote /var/lib/sgml-base/supercatalog.old; a trigger output is named with its package. A file an admin
    chooses (an alternative, /etc/shells) stays a difference."""
    rows = [("/var/lib/sgml-base/supercatalog.old", "content", "128 bytes", "159 bytes"),
            ("/usr/share/info/dir", "content", "1", "2"), ("/etc/alternatives/editor", "target", "a", "b"),
            ("/etc/shells", "content", "1", "2")]
    kernel = Change("install-kernel", "grub-pc", "pkg-kernel", "loader injected")
    rootfs = replace(plan(kernel), strategy="rootfs")
    diffs = {d.subject: d for d in differences(facts(), facts(), rootfs, overlay_rows=rows)}
    sgml = diffs["/var/lib/sgml-base/supercatalog.old"]
    assert sgml.rule == "pkg-kernel" and "sgml-base's trigger" in sgml.reason
    assert "install-info's trigger" in diffs["/usr/share/info/dir"].reason
    assert not diffs["/etc/alternatives/editor target"].explained
    assert not diffs["/etc/shells"].explained
    # a family without that trigger (redhat has no sgml-base): still a difference
    rpm = replace(rootfs, family="redhat", distro="rocky")
    diffs = {d.subject: d for d in differences(facts(), facts(), rpm, overlay_rows=rows[:1])}
    assert not diffs["/var/lib/sgml-base/supercatalog.old"].explained


def test_system_bytecode_is_the_rebuilds():
    """bullseye: 43 .pyc files under /usr/lib/python3.9/__pycache__ differed (the image's interpreter compiled the
    rebuilt packages' modules); bytecode of the server's own code stays a difference."""
    rows = [("/usr/lib/python3.9/__pycache__/abc.cpython-39.pyc", "content", "1 bytes", "2 bytes"),
            ("/srv/app/__pycache__/app.cpython-39.pyc", "content", "1 bytes", "2 bytes")]
    rebuild = Change("install-packages", "2 packages", "pkg-rebuild", "rebuilt", {"names": ["bash", "nginx"]})
    diffs = {d.subject: d for d in differences(facts(), facts(), plan(rebuild), overlay_rows=rows)}
    assert diffs[rows[0][0]].rule == "pkg-rebuild"
    assert not diffs[rows[1][0]].explained
    assert not only(differences(facts(), facts(), plan(), overlay_rows=rows[:1])).explained


def test_absent_package_files_present_in_the_image():
    """A file the source's admin removed from a package that the image has: a difference, unless it is a boot path
    the Plan keeps (warned under overlay-absent)."""
    from dib_migrate.compare.overlay import absent_rows
    from dib_migrate.plan.model import Warning
    import tempfile
    import os
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "etc/cron.daily"))
        open(os.path.join(root, "etc/cron.daily/man-db"), "w").close()
        os.makedirs(os.path.join(root, "usr/lib/modules/6.1/foo.ko"))
        source = {"absent_package_files": [{"path": "/etc/cron.daily/man-db", "package": "man-db"},
                                           {"path": "/etc/cron.weekly/man-db", "package": "man-db"},
                                           {"path": "/usr/lib/modules/6.1/foo.ko", "package": "linux-image"}]}
        rows = absent_rows(source, root)
    assert rows == [("/etc/cron.daily/man-db", "present", None, "file"),
                    ("/usr/lib/modules/6.1/foo.ko", "present", None, "dir")]
    kept = Warning("overlay-absent", "1 package path(s) absent from the source are kept in the image")
    p = replace(plan(Change("remove-absent-files", "man-db", "overlay-absent", "r", {"paths": []})), warnings=(kept,))
    diffs = {d.subject: d for d in differences(facts(), facts(), p, overlay_rows=rows)}
    assert not diffs["/etc/cron.daily/man-db present"].explained
    assert diffs["/usr/lib/modules/6.1/foo.ko present"].rule == "overlay-absent"
