"""Scanner pieces on small fake trees: YAML writer, release files, virtualization, network
configs, fstab, accounts, refusals. No root needed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dib_migrate.scan import scanner as S

REPO = Path(__file__).resolve().parents[2]


def write(root, path, text, mode=0o644):
    p = Path(root) / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    os.chmod(p, mode)
    return p


def fake_root(tmp_path, files=()):
    """The least that check_linux_root accepts, plus ``files``."""
    root = tmp_path / "root"
    write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    write(root, "/bin/sh", "#!/bin/sh\n", 0o755)
    for path, text in dict(files).items():
        write(root, path, text)
    return root


# --- YAML -------------------------------------------------------------------------------------

TRICKY = ["12", "yes", "No", "on", "OFF", "y", "n", "null", "~", "", " lead", "trail ", "1:2.3", "a: b",
          "a #b", "- x", "#x", "0x1F", "1e3", ".inf", "2026-11-20", "2026-11-20T09:30:00Z", "tab\there",
          "line\nbreak\n",
          "é unicode", "@x", "`x", "'q'", '"dq"', "{a}", "[a]", "*ref", "&anchor", "!tag", "%x", "|", ">",
          "?", "=", "1_000", "0o17", "+1", "-1", "3.14", "web01", "/etc/hosts", "1:9.2p1-2+deb12u10",
          "\x07bell", "back\\slash", "x\u2028y", "ok-name_1.2"]


def test_yaml_scalars_round_trip():
    data = {"strings": TRICKY, "ints": [0, 1, -5, 4294967294], "bools": [True, False], "none": None,
            "empty_list": [], "empty_map": {}, "nested": [{"a": [], "b": {"c": [1, {"d": "e"}]}}, []]}
    assert yaml.safe_load(S.dump_yaml(data, "header\n\nline")) == data


@pytest.mark.parametrize("example", sorted((REPO / "examples").glob("*/report.yaml")))
def test_yaml_writes_the_examples_back(example):
    data = yaml.safe_load(example.read_text())
    text = S.dump_yaml(data)
    assert yaml.safe_load(text) == data
    # same block layout as PyYAML's: list items at their key's indentation
    assert "\npackages:\n- name: " in text


# --- OS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("files, expected", [
    ({"/etc/os-release": 'ID=debian\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\n'},
     ("debian", "debian", "12", "bookworm")),
    ({"/usr/lib/os-release": 'ID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nVERSION="7 (Core)"\n'},
     ("redhat", "centos", "7", "Core")),
    ({"/etc/os-release": 'ID="sles"\nID_LIKE="suse"\nVERSION_ID="15.5"\n'}, ("suse", "sles", "15.5", None)),
    ({"/etc/redhat-release": "CentOS release 6.10 (Final)\n"}, ("redhat", "centos", "6.10", "Final")),
    ({"/etc/redhat-release": "Red Hat Enterprise Linux Server release 5.11 (Tikanga)\n"},
     ("redhat", "rhel", "5.11", "Tikanga")),
    ({"/etc/SuSE-release": "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n"},
     ("suse", "sles", "11.4", None)),
    ({"/etc/debian_version": "7.11\n"}, ("debian", "debian", "7", "wheezy")),
    ({"/etc/debian_version": "squeeze/sid\n", "/etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\n"
      "DISTRIB_CODENAME=lucid\n"}, ("debian", "ubuntu", "10.04", "lucid")),
])
def test_detect_os(tmp_path, files, expected):
    info = S.detect_os(S.Root(str(fake_root(tmp_path, files))))
    assert (info["family"], info["distro"], info["version"], info["codename"]) == expected


def test_arch_from_the_shell_binary(tmp_path):
    root = fake_root(tmp_path)
    (root / "bin/sh").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 11 + b"\xb7\x00" + b"\0" * 40)
    assert S.detect_arch(S.Root(str(root))) == "aarch64"


def test_host_names_from_hostname_and_hosts(tmp_path):
    root = fake_root(tmp_path, {"/etc/hostname": "web01\n",
                                "/etc/hosts": "127.0.0.1 localhost\n192.0.2.10 web01.example.com web01\n"})
    assert S.detect_host(S.Root(str(root))) == {"hostname": "web01", "fqdn": "web01.example.com"}
    root = fake_root(tmp_path, {"/etc/hostname": "",
                                "/etc/sysconfig/network": "HOSTNAME=db02.corp.example\n"})
    assert S.detect_host(S.Root(str(root))) == {"hostname": "db02", "fqdn": "db02.corp.example"}


# --- platform ---------------------------------------------------------------------------------

def fake_platform(tmp_path, dmi=None, xen=False, guest_type=None, hypervisor_flag=False):
    proc, sys_ = tmp_path / "proc", tmp_path / "sys"
    proc.mkdir()
    sys_.mkdir()
    flags = "flags\t\t: fpu vme de pse tsc msr" + (" hypervisor" if hypervisor_flag else "") + "\n"
    (proc / "cpuinfo").write_text("processor\t: 0\n" + flags)
    if xen:
        (proc / "xen").mkdir()
        write(sys_, "/hypervisor/type", "xen\n")
    if guest_type:
        write(sys_, "/hypervisor/guest_type", guest_type + "\n")
    for name, value in (dmi or {}).items():
        write(sys_, "/class/dmi/id/" + name, value + "\n")
    return str(proc), str(sys_)


@pytest.mark.parametrize("kw, expected", [
    (dict(xen=True), "xen-pv"),
    (dict(xen=True, guest_type="PV", dmi={"sys_vendor": "Xen"}), "xen-pv"),
    (dict(xen=True, dmi={"sys_vendor": "Xen", "product_name": "HVM domU"}, hypervisor_flag=True), "xen-hvm"),
    (dict(dmi={"sys_vendor": "QEMU", "product_name": "Standard PC (i440FX + PIIX, 1996)"},
          hypervisor_flag=True), "kvm"),
    (dict(dmi={"sys_vendor": "OpenStack Foundation", "product_name": "OpenStack Nova"}, hypervisor_flag=True),
     "kvm"),
    (dict(dmi={"sys_vendor": "VMware, Inc.", "product_name": "VMware Virtual Platform"}), "vmware"),
    (dict(dmi={"sys_vendor": "Microsoft Corporation", "product_name": "Virtual Machine"}), "hyperv"),
    (dict(dmi={"sys_vendor": "innotek GmbH", "product_name": "VirtualBox"}), "virtualbox"),
    (dict(dmi={"sys_vendor": "Dell Inc.", "product_name": "PowerEdge R640"}), "bare-metal"),
    (dict(dmi={"sys_vendor": "Some Cloud"}, hypervisor_flag=True), "unknown"),
])
def test_detect_virtualization(tmp_path, kw, expected):
    assert S.detect_virtualization(*fake_platform(tmp_path, **kw)) == expected


def test_offline_root_virtualization_is_unknown_unless_a_xen_kernel_says_so(tmp_path):
    root = S.Root(str(fake_root(tmp_path)))
    assert S._virtualization(root, {"bash"}) == "unknown"
    assert S._virtualization(root, {"kernel-xen"}) == "xen-pv"
    for name in ("linux-image-2.6.32-5-xen-amd64", "linux-image-2.6.26-2-xen-686", "linux-image-4.19.0-xen",
                 "kernel-xenU"):
        assert S._virtualization(root, {name}) == "xen-pv", name
    assert S._virtualization(root, {"linux-image-6.1.0-27-amd64"}) == "unknown"


# --- network ----------------------------------------------------------------------------------

def test_ifupdown_with_source_directory(tmp_path):
    root = fake_root(tmp_path, {
        "/etc/network/interfaces": "auto lo\niface lo inet loopback\nsource-directory interfaces.d\n"
                                   "auto eth0\niface eth0 inet static\n  address 192.0.2.10\n"
                                   "  netmask 255.255.255.0\n  gateway 192.0.2.1\n"
                                   "  dns-nameservers 192.0.2.53 192.0.2.54\n"
                                   "  hwaddress ether 52:54:00:12:34:56\n"
                                   "iface eth0 inet6 static\n  address 2001:db8::10/64\n",
        "/etc/network/interfaces.d/eth1": "allow-hotplug eth1\niface eth1 inet dhcp\n",
        "/etc/network/interfaces.d/skip.bak~": "iface eth9 inet dhcp\n",
    })
    ifaces = S.parse_ifupdown(S.ifupdown_files(S.Root(str(root))))
    assert [i.pop("_files") for i in ifaces] == [["/etc/network/interfaces"], ["/etc/network/interfaces.d/eth1"]]
    assert ifaces == [
        {"name": "eth0", "mac": "52:54:00:12:34:56", "mode": "static",
         "addresses": ["192.0.2.10/24", "2001:db8::10/64"], "gateway": "192.0.2.1",
         "dns": ["192.0.2.53", "192.0.2.54"], "config_file": "/etc/network/interfaces"},
        {"name": "eth1", "mac": None, "mode": "dhcp", "addresses": [], "gateway": None, "dns": [],
         "config_file": "/etc/network/interfaces.d/eth1"}]


def test_network_scripts_like_the_centos6_example(tmp_path):
    root = fake_root(tmp_path, {
        "/etc/redhat-release": "CentOS release 6.10 (Final)\n",
        "/etc/sysconfig/network": "NETWORKING=yes\nHOSTNAME=db02.corp.example\nGATEWAY=10.20.30.1\n",
        "/etc/sysconfig/network-scripts/ifcfg-eth0": 'DEVICE=eth0\nHWADDR="00:16:3E:5A:01:02"\n'
                                                     "BOOTPROTO=none\nIPADDR=10.20.30.42\n"
                                                     "NETMASK=255.255.255.0\n"
                                                     "DNS1=10.20.30.2\nDNS2=10.20.30.3\nONBOOT=yes\n",
        "/etc/sysconfig/network-scripts/ifcfg-lo": "DEVICE=lo\nIPADDR=127.0.0.1\n",
        "/etc/sysconfig/network-scripts/ifcfg-eth1": "DEVICE=eth1\nBOOTPROTO=dhcp\n",
    })
    net = S.detect_network(S.Root(str(root)), {"initscripts"}, [], S.Progress(quiet=True))
    assert net["manager"] == "network-scripts"
    assert net["interfaces"] == [
        {"name": "eth0", "mac": "00:16:3e:5a:01:02", "mode": "static", "addresses": ["10.20.30.42/24"],
         "gateway": "10.20.30.1", "dns": ["10.20.30.2", "10.20.30.3"],
         "config_file": "/etc/sysconfig/network-scripts/ifcfg-eth0"},
        {"name": "eth1", "mac": None, "mode": "dhcp", "addresses": [], "gateway": "10.20.30.1", "dns": [],
         "config_file": "/etc/sysconfig/network-scripts/ifcfg-eth1"}]


def test_networkmanager_keyfile(tmp_path):
    root = fake_root(tmp_path, {"/etc/NetworkManager/system-connections/eth0.nmconnection":
                                "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n"
                                "[ethernet]\nmac-address=52:54:00:AA:BB:CC\n"
                                "[ipv4]\nmethod=manual\naddress1=192.0.2.5/24,192.0.2.1\ndns=192.0.2.53;\n"})
    services = [{"name": "NetworkManager", "state": "enabled"}]
    net = S.detect_network(S.Root(str(root)), {"network-manager"}, services, S.Progress(quiet=True))
    assert net["manager"] == "NetworkManager"
    assert net["interfaces"][0] == {
        "name": "eth0", "mac": "52:54:00:aa:bb:cc", "mode": "static", "addresses": ["192.0.2.5/24"],
        "gateway": "192.0.2.1", "dns": ["192.0.2.53"],
        "config_file": "/etc/NetworkManager/system-connections/eth0.nmconnection"}


NETPLAN = """\
# written by the installer
network:
  version: 2
  renderer: networkd
  ethernets:
    ens3:
      match:
        macaddress: "52:54:00:12:34:56"
      set-name: ens3
      addresses: [192.0.2.10/24, "2001:db8::10/64"]
      routes:
        - to: default
          via: 192.0.2.1
      nameservers:
        addresses:
          - 192.0.2.53
        search: [example.com]
    ens4:
      dhcp4: true
"""


def test_netplan_subset_parses_like_pyyaml():
    assert S.parse_simple_yaml(NETPLAN) == yaml.safe_load(NETPLAN)


def test_netplan_interfaces_and_unparsed_files(tmp_path, capsys):
    root = fake_root(tmp_path, {"/etc/netplan/50-cloud-init.yaml": NETPLAN,
                                "/etc/netplan/90-odd.yaml": "network: &anchor\n  version: 2\n"})
    net = S.detect_network(S.Root(str(root)), {"netplan.io"}, [], S.Progress())
    assert net["manager"] == "netplan"
    keys = ("name", "mode", "mac", "addresses", "gateway", "dns")
    assert [tuple(i[k] for k in keys) for i in net["interfaces"]] \
        == [("ens3", "static", "52:54:00:12:34:56", ["192.0.2.10/24", "2001:db8::10/64"], "192.0.2.1",
             ["192.0.2.53"]), ("ens4", "dhcp", None, [], None, [])]
    assert "90-odd.yaml: not understood" in capsys.readouterr().err


def test_systemd_networkd(tmp_path):
    root = fake_root(tmp_path, {"/etc/systemd/network/10-eth0.network":
                                "[Match]\nName=eth0\nMACAddress=52:54:00:12:34:56\n[Network]\n"
                                "Address=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n",
                                "/etc/systemd/network/20-all.network":
                                "[Match]\nName=en*\n[Network]\nDHCP=yes\n"})
    services = [{"name": "systemd-networkd", "state": "enabled"}]
    net = S.detect_network(S.Root(str(root)), set(), services, S.Progress(quiet=True))
    assert net["manager"] == "systemd-networkd"
    assert net["interfaces"] == [{"name": "eth0", "mac": "52:54:00:12:34:56", "mode": "static",
                                  "addresses": ["192.0.2.10/24"], "gateway": "192.0.2.1",
                                  "dns": ["192.0.2.53"],
                                  "config_file": "/etc/systemd/network/10-eth0.network"}]


# --- systemd units of every type --------------------------------------------------------------

def _link(root, path, target):
    p = Path(root) / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, p)


def test_units_of_every_type_and_template_instances(tmp_path):
    install = "[Unit]\nDescription=x\n[Install]\nWantedBy=%s\n"
    root = fake_root(tmp_path, {
        "/lib/systemd/system/nginx.service": install % "multi-user.target",
        "/lib/systemd/system/man-db.timer": install % "timers.target",
        "/lib/systemd/system/backup.timer": install % "timers.target",
        "/lib/systemd/system/ssh.socket": install % "sockets.target",
        "/lib/systemd/system/certs.path": install % "paths.target",
        "/lib/systemd/system/getty@.service": install % "getty.target",
        "/lib/systemd/system/serial-getty@.service": install % "getty.target",
        "/lib/systemd/system/systemd-journald.socket": "[Unit]\nDescription=static\n",
    })
    wants = "/etc/systemd/system/%s.wants/%s"
    _link(root, wants % ("multi-user.target", "nginx.service"), "/lib/systemd/system/nginx.service")
    _link(root, wants % ("timers.target", "backup.timer"), "/lib/systemd/system/backup.timer")
    _link(root, wants % ("getty.target", "getty@tty1.service"), "/lib/systemd/system/getty@.service")
    _link(root, wants % ("getty.target", "serial-getty@hvc0.service"), "/lib/systemd/system/serial-getty@.service")
    _link(root, "/etc/systemd/system/certs.path", "/dev/null")
    got = {s["name"]: s["state"] for s in S.detect_services(S.Root(str(root)), "systemd", "debian")}
    assert got == {"nginx": "enabled", "man-db.timer": "disabled", "backup.timer": "enabled",
                   "ssh.socket": "disabled", "certs.path": "masked", "getty@tty1": "enabled",
                   "serial-getty@hvc0": "enabled"}


# --- services on sysv -------------------------------------------------------------------------

def test_sysv_rc_links_in_the_default_runlevel(tmp_path):
    root = fake_root(tmp_path, {"/etc/inittab": "id:3:initdefault:\n", "/etc/rc.d/init.d/sshd": "#!/bin/sh\n",
                                "/etc/rc.d/init.d/nfs": "#!/bin/sh\n", "/etc/rc.d/init.d/functions": "\n"})
    rc3 = root / "etc/rc.d/rc3.d"
    rc3.mkdir(parents=True)
    os.symlink("../init.d/sshd", rc3 / "S55sshd")
    os.symlink("../init.d/nfs", rc3 / "K20nfs")
    services = S.detect_services(S.Root(str(root)), "sysv", "redhat")
    assert services == [{"name": "nfs", "state": "disabled"}, {"name": "sshd", "state": "enabled"}]


# --- files ------------------------------------------------------------------------------------

def test_fstab_and_accounts():
    fstab = S.parse_fstab("# c\n/dev/xvda1 / ext4 errors=remount-ro 0 1\n\nUUID=ab-cd none swap sw\n"
                          "nas:/export /srv nfs rw,hard  0 0 # trailing\n")
    assert fstab == [
        {"spec": "/dev/xvda1", "mountpoint": "/", "fstype": "ext4", "options": "errors=remount-ro",
         "dump": 0, "pass": 1},
        {"spec": "UUID=ab-cd", "mountpoint": "none", "fstype": "swap", "options": "sw", "dump": 0, "pass": 0},
        {"spec": "nas:/export", "mountpoint": "/srv", "fstype": "nfs", "options": "rw,hard", "dump": 0,
         "pass": 0}]
    users, groups = S.parse_accounts("root:x:0:0::/root:/bin/bash\n+@nis::::::\nbad name:x:5:5::/:/bin/sh\n"
                                     "deploy:x:1001:1001::/home/deploy:/bin/bash\n",
                                     "root:x:0:\ndeploy:x:1001:\n")
    assert users == [{"name": "root", "uid": 0, "gid": 0}, {"name": "deploy", "uid": 1001, "gid": 1001}]
    assert groups == [{"name": "root", "gid": 0}, {"name": "deploy", "gid": 1001}]


def test_dpkg_status_conffiles():
    recs = S.parse_dpkg_status("Package: nginx-common\nStatus: install ok installed\nArchitecture: all\n"
                               "Conffiles:\n /etc/nginx/nginx.conf 3c3e3a9d0b6a2a3cb8a3c1bbd1c1c0a1\n"
                               " /etc/old file.conf 0123456789abcdef0123456789abcdef obsolete\n"
                               "Description: x\n more\n\nPackage: gone\nStatus: deinstall ok config-files\n")
    assert [r["Package"] for r in recs if S.dpkg_installed(r)] == ["nginx-common"]
    assert recs[0]["Conffiles"] == [("/etc/nginx/nginx.conf", "3c3e3a9d0b6a2a3cb8a3c1bbd1c1c0a1"),
                                    ("/etc/old file.conf", "0123456789abcdef0123456789abcdef")]


def test_root_resolves_absolute_symlinks_inside_the_root(tmp_path):
    root = fake_root(tmp_path, {"/usr/lib/os-release": "ID=debian\n"})
    os.symlink("/usr/lib/os-release", root / "etc/os-release")
    (root / "usr/bin").mkdir(parents=True)
    os.symlink("usr/bin", root / "sbin")
    r = S.Root(str(root))
    assert r.read("/etc/os-release") == "ID=debian\n"
    assert r.canonical("/sbin/init") == "/usr/bin/init"


def test_mounted_excludes_only_pseudo_and_network_under_the_root():
    mounts = ("/dev/vda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\nnas:/x /mnt/root/srv/nfs nfs4 rw 0 0\n"
              "tmpfs /mnt/root/run tmpfs rw 0 0\n/dev/vdb1 /mnt/root/home ext4 rw 0 0\n"
              "nas:/y /other nfs rw 0 0\n/dev/x /mnt/root/with\\040space fuse.sshfs rw 0 0\n")
    root = S.Root("/mnt/root")
    assert S.mounted_excludes(root, mounts) == {"/srv/nfs", "/run", "/with space"}


# --- refusals ---------------------------------------------------------------------------------

def test_refuses_a_root_that_is_not_linux(tmp_path, capsys):
    (tmp_path / "win/Windows/System32").mkdir(parents=True)
    assert S.main(["--root", str(tmp_path / "win"), "-o", str(tmp_path / "out")]) == 2
    assert "Windows" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert S.main(["--root", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert "not a Linux root filesystem" in capsys.readouterr().err


def test_refuses_an_unwritable_output_directory(tmp_path, capsys):
    root = fake_root(tmp_path, {"/etc/os-release": "ID=debian\nVERSION_ID=12\n"})
    (tmp_path / "file").write_text("x")
    assert S.main(["--root", str(root), "-o", str(tmp_path / "file/out")]) == 2
    assert "not writable" in capsys.readouterr().err


# --- network devices: bonds, VLANs, bridges, routes, MTU, DNS search ------------------------------

IFUPDOWN_DEVICES = """\
auto eno1
iface eno1 inet manual
    bond-master bond0
auto eno2
iface eno2 inet manual
    bond-master bond0
auto bond0
iface bond0 inet static
    address 10.0.0.5/24
    gateway 10.0.0.1
    bond-slaves none
    bond-mode active-backup
    mtu 9000
    dns-nameservers 10.0.0.2
    dns-search example.lan
    post-up ip route add 10.9.0.0/16 via 10.0.0.254
    up route add -net 172.16.0.0 netmask 255.255.0.0 gw 10.0.0.253
auto bond0.100
iface bond0.100 inet static
    address 10.100.0.5/24
    vlan-raw-device bond0
auto br0
iface br0 inet dhcp
    bridge_ports eth3 eth4
"""

NETPLAN_DEVICES = """\
network:
  version: 2
  ethernets:
    eno1: {}
    eno2: {}
  bonds:
    bond0:
      interfaces: [eno1, eno2]
      parameters:
        mode: active-backup
      addresses: [10.0.0.5/24]
      mtu: 9000
      nameservers:
        addresses: [10.0.0.2]
        search: [example.lan]
      routes:
        - to: default
          via: 10.0.0.1
        - to: 10.9.0.0/16
          via: 10.0.0.254
  vlans:
    bond0.100:
      id: 100
      link: bond0
      addresses: [10.100.0.5/24]
  bridges:
    br0:
      interfaces: [eth3, eth4]
      dhcp4: true
"""


@pytest.mark.parametrize("manager,path,text,names", [
    ("ifupdown", "/etc/network/interfaces", IFUPDOWN_DEVICES, {"ifupdown"}),
    ("netplan", "/etc/netplan/50-cloud.yaml", NETPLAN_DEVICES, {"netplan.io"}),
])
def test_network_device_kinds(tmp_path, manager, path, text, names):
    root = fake_root(tmp_path, {path: text})
    net = S.detect_network(S.Root(str(root)), names, [], S.Progress(quiet=True))
    assert net["manager"] == manager
    got = {i["name"]: i for i in net["interfaces"]}
    bond, vlan, br = got["bond0"], got["bond0.100"], got["br0"]
    assert (bond["kind"], bond["members"], bond["bond_mode"]) == ("bond", ["eno1", "eno2"], "active-backup")
    assert bond["mtu"] == 9000 and bond["dns_search"] == ["example.lan"] and bond["gateway"] == "10.0.0.1"
    assert {"to": "10.9.0.0/16", "via": "10.0.0.254"} in bond["routes"]
    assert (vlan["kind"], vlan["parent"], vlan["vlan_id"], vlan["addresses"]) == ("vlan", "bond0", 100,
                                                                                  ["10.100.0.5/24"])
    assert (br["kind"], br["members"], br["mode"]) == ("bridge", ["eth3", "eth4"], "dhcp")
    if manager == "ifupdown":
        assert {"to": "172.16.0.0/16", "via": "10.0.0.253"} in bond["routes"]


def test_swap_files_are_never_captured(tmp_path):
    import io
    import subprocess
    import tarfile
    root = fake_root(tmp_path, {"/etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n",
                                "/etc/fstab": "/dev/vda1 / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n",
                                "/swap.img": "SWAPSPACE2" + "\0" * 4096,
                                "/srv/data.txt": "kept\n"})
    out = tmp_path / "out"
    assert S.main(["--root", str(root), "-o", str(out), "-q"]) == 0
    report = yaml.safe_load((out / "report.yaml").read_text())
    data = (out / report["overlay"]["archive"]).read_bytes()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = {m.name.lstrip("./") for m in tar.getmembers()}
    assert "srv/data.txt" in names and "swap.img" not in names
    assert [e["spec"] for e in report["fstab"] if e["fstype"] == "swap"] == ["/swap.img"]


def test_live_addresses_of_a_host_without_network_configuration():
    from dib_migrate.scan.network.detect import live_interfaces
    addr = ("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
            "2: eth0    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\\       valid_lft forever\n"
            "2: eth0    inet6 fe80::42:acff:fe11:2/64 scope link \\       valid_lft forever\n"
            "3: ens4    inet 10.1.2.3/24 metric 100 brd 10.1.2.255 scope global dynamic ens4\\ valid_lft 3000sec\n")
    route = "default via 172.17.0.1 dev eth0 \n"
    got = {i["name"]: i for i in live_interfaces(addr, route)}
    assert got["eth0"]["mode"] == "static" and got["eth0"]["addresses"] == ["172.17.0.2/16"]
    assert got["eth0"]["gateway"] == "172.17.0.1"
    assert got["ens4"]["mode"] == "dhcp" and got["ens4"]["addresses"] == []
    assert "lo" not in got


def test_pid1_decides_the_init_system_of_a_live_scan(tmp_path):
    from dib_migrate.scan.boot import pid1_init
    (tmp_path / "1").mkdir()
    os.symlink("/usr/lib/systemd/systemd", tmp_path / "1" / "exe")
    assert pid1_init(str(tmp_path)) == "systemd"
    other = tmp_path / "other"
    (other / "1").mkdir(parents=True)
    (other / "1" / "comm").write_text("init\n")
    assert pid1_init(str(other)) is None


def test_netplan_files_merge_in_netplans_order(tmp_path):
    """Like `netplan generate`: a device in two files gets both addresses, the later file's MTU and match."""
    eth0 = "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [%s]\n      mtu: %d\n"
    root = fake_root(tmp_path, {"/etc/netplan/60-b.yaml": eth0 % ("10.0.0.6/24", 1400)
                                + "      match:\n        macaddress: \"52:54:00:00:00:01\"\n",
                                "/etc/netplan/50-a.yaml": eth0 % ("10.0.0.5/24", 9000)})
    warned = []
    progress = S.Progress(quiet=True)
    progress.warn = warned.append
    net = S.detect_network(S.Root(str(root)), {"netplan.io"}, [], progress)
    (eth0,) = net["interfaces"]
    assert (eth0["addresses"], eth0["mtu"], eth0["mac"]) == (["10.0.0.5/24", "10.0.0.6/24"], 1400, "52:54:00:00:00:01")
    assert eth0["config_file"] == "/etc/netplan/60-b.yaml" and not warned
    assert net["config_files"] == ["/etc/netplan/50-a.yaml", "/etc/netplan/60-b.yaml"]


def test_netplan_renderer_global_and_per_device(tmp_path):
    """The last file's global renderer applies to every device without one of its own."""
    root = fake_root(tmp_path, {
        "/etc/netplan/01-a.yaml": "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n"
                                  "    eth0:\n      dhcp4: true\n",
        "/etc/netplan/50-b.yaml": "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n"
                                  "    eth1:\n      renderer: networkd\n      dhcp4: true\n"})
    net = S.detect_network(S.Root(str(root)), {"netplan.io"}, [], S.Progress(quiet=True))
    assert {i["name"]: i.get("renderer") for i in net["interfaces"]} == {"eth0": "NetworkManager",
                                                                         "eth1": "networkd"}


def test_an_interface_configured_twice_is_warned(tmp_path):
    eth0 = "auto eth0\niface eth0 inet static\n    address %s\n"
    root = fake_root(tmp_path, {"/etc/network/interfaces": "source interfaces.d/*\n" + eth0 % "10.0.0.5/24",
                                "/etc/network/interfaces.d/b": eth0 % "10.0.0.6/24"})
    warned = []
    progress = S.Progress(quiet=True)
    progress.warn = warned.append
    net = S.detect_network(S.Root(str(root)), {"ifupdown"}, [], progress)
    assert [i["addresses"] for i in net["interfaces"]] == [["10.0.0.5/24", "10.0.0.6/24"]]


NM_BOND = "[connection]\nid=bond0\nuuid=1111\ntype=bond\ninterface-name=bond0\n[bond]\nmode=active-backup\n" \
          "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\ndns=10.0.0.2;\ndns-search=example.lan;\n" \
          "route1=10.9.0.0/16,10.0.0.254\n[ethernet]\nmtu=9000\n"
NM_PORT = "[connection]\nid=%s\ntype=ethernet\ninterface-name=%s\nmaster=1111\nslave-type=bond\n"
NM_VLAN = "[connection]\nid=vlan100\ntype=vlan\ninterface-name=bond0.100\n[vlan]\nid=100\nparent=bond0\n" \
          "[ipv4]\nmethod=manual\naddress1=10.100.0.5/24\n"
IFCFG = {
    "/etc/sysconfig/network-scripts/ifcfg-bond0":
        "DEVICE=bond0\nTYPE=Bond\nBONDING_MASTER=yes\nBONDING_OPTS=\"mode=active-backup miimon=100\"\n"
        "BOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\nGATEWAY=10.0.0.1\nDNS1=10.0.0.2\nDOMAIN=example.lan\n"
        "MTU=9000\n",
    "/etc/sysconfig/network-scripts/ifcfg-eno1": "DEVICE=eno1\nMASTER=bond0\nSLAVE=yes\nBOOTPROTO=none\n",
    "/etc/sysconfig/network-scripts/ifcfg-eno2": "DEVICE=eno2\nMASTER=bond0\nSLAVE=yes\nBOOTPROTO=none\n",
    "/etc/sysconfig/network-scripts/ifcfg-bond0.100":
        "DEVICE=bond0.100\nVLAN=yes\nBOOTPROTO=none\nIPADDR=10.100.0.5\nPREFIX=24\n",
    "/etc/sysconfig/network-scripts/route-bond0": "10.9.0.0/16 via 10.0.0.254\n",
}


@pytest.mark.parametrize("manager", ["NetworkManager", "network-scripts"])
def test_network_device_kinds_keyfiles_and_ifcfg(tmp_path, manager):
    if manager == "NetworkManager":
        d = "/etc/NetworkManager/system-connections/"
        files = {d + "bond0.nmconnection": NM_BOND, d + "eno1.nmconnection": NM_PORT % ("eno1", "eno1"),
                 d + "eno2.nmconnection": NM_PORT % ("eno2", "eno2"), d + "vlan100.nmconnection": NM_VLAN}
        names, services = {"network-manager"}, [{"name": "NetworkManager", "state": "enabled"}]
    else:
        files, names, services = IFCFG, {"initscripts"}, []
    root = fake_root(tmp_path, files)
    net = S.detect_network(S.Root(str(root)), names, services, S.Progress(quiet=True))
    assert net["manager"] == manager
    got = {i["name"]: i for i in net["interfaces"]}
    assert set(got) == {"bond0", "bond0.100"}
    bond, vlan = got["bond0"], got["bond0.100"]
    assert (bond["kind"], sorted(bond["members"])) == ("bond", ["eno1", "eno2"])
    assert bond["bond_mode"] == "active-backup"
    assert bond["mtu"] == 9000 and bond["dns_search"] == ["example.lan"]
    assert bond["routes"] == [{"to": "10.9.0.0/16", "via": "10.0.0.254"}]
    assert (vlan["kind"], vlan["parent"], vlan["vlan_id"]) == ("vlan", "bond0", 100)


@pytest.mark.parametrize("manager,names,services,files", [
    ("NetworkManager", {"network-manager"}, [{"name": "NetworkManager", "state": "enabled"}], {
        "/etc/NetworkManager/system-connections/eth0.nmconnection":
            "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=manual\n"
            "address1=192.0.2.5/24\n",
        "/etc/NetworkManager/system-connections/Wired connection 2.nmconnection":
            "[connection]\nid=Wired connection 2\ntype=ethernet\n[ethernet]\nmac-address=52:54:00:00:00:09\n"
            "[ipv4]\nmethod=disabled\n[ipv6]\nmethod=ignore\n"}),
    ("network-scripts", {"initscripts"}, [], {
        "/etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nBOOTPROTO=none\nIPADDR=192.0.2.5\nPREFIX=24\n",
        "/etc/sysconfig/network-scripts/ifcfg-eth1": "DEVICE=eth1\nHWADDR=52:54:00:00:00:09\nBOOTPROTO=none\n"}),
])
def test_a_file_binding_a_mac_without_address_is_listed_for_the_plan(tmp_path, manager, names, services, files):
    """No address, so no interface of the report; its MAC binding would still come back from the overlay."""
    net = S.detect_network(S.Root(str(fake_root(tmp_path, files))), names, services, S.Progress(quiet=True))
    assert [i["name"] for i in net["interfaces"]] == ["eth0"]
    assert sorted(net["config_files"]) == sorted(files)


def test_root_read_allocates_what_the_file_holds_not_its_limit(tmp_path):
    # the dpkg status is read with a 1 GiB limit; a server with 1 GiB of RAM refused read(1 GiB)
    # with MemoryError (found on a real Debian 12 guest): a 256 MiB address-space cap shows it
    root = fake_root(tmp_path, {"/var/lib/dpkg/status": "Package: bash\n" * 1000})
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20)); "
            "from dib_migrate.scan.root import Root; "
            "text = Root(sys.argv[1]).read('/var/lib/dpkg/status', limit=1 << 30); "
            "print(len(text), len(Root(sys.argv[1]).read('/var/lib/dpkg/status', limit=20)))")
    r = subprocess.run([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(len("Package: bash\n") * 1000), "20"]
