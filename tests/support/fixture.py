"""The fixture source server of the end-to-end test (issue 5): a Debian 12 Xen PV guest.

Built from a cached debootstrap root (rootfs.py) plus the configuration a real web
server of that kind carries: nginx serving its own page from /srv, ifupdown with a static
eth0 (qemu user networking's addresses, so the kept config really works in the boot
test) bound to a Xen MAC, eth1 on DHCP, NFS lines and a /dev/xvda root in fstab,
libvirtd and netfilter-persistent enabled, an adjtime with drift, a user with an SSH key
the test controls, no kernel and no bootloader (a PV guest boots its host's kernel).
"""
import os
import secrets
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from .rootfs import debian_root

# libvirt-daemon-system (real, ~60 MB of .debs) is what makes libvirtd a real unit here.
# dbus and libpam-systemd are named because debootstrap's resolver cannot pick a provider
# for polkitd's virtual dependencies (dbus-system-bus, logind).
PACKAGES = ("systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "nginx", "ifupdown",
            "iptables-persistent", "isc-dhcp-client", "libvirt-daemon-system")

# per suite: what a suite cannot have cheaply (trixie's libvirt-daemon-system needs a whole
# qemu-system; the service rules are proven on bookworm)
SUITE_PACKAGES = {"trixie": {"drop": ("libvirt-daemon-system",)}}

HOSTNAME = "web-fx"
USER, UID, GID = "webadmin", 1234, 1234
# Xen's OUI: the source's NIC; the VM gets a 52:54:00 qemu MAC, so they always differ
SOURCE_MAC = {"eth0": "00:16:3e:5a:01:02", "eth1": "00:16:3e:5a:01:03"}
ADDRESS, GATEWAY, DNS = "10.0.2.15/24", "10.0.2.2", "10.0.2.3"
ADJTIME = "0.013412 1700000000 0.000000\n1700000000\nUTC\n"

INTERFACES = """\
# written by the fixture: a Xen PV web server
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
    address {address}
    gateway {gateway}
    dns-nameservers {dns}
    hwaddress ether {mac0}

allow-hotplug eth1
iface eth1 inet dhcp
""".format(address=ADDRESS, gateway=GATEWAY, dns=DNS, mac0=SOURCE_MAC["eth0"])

UDEV_RULES = "".join(
    'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="%s", ATTR{type}=="1", NAME="%s"\n'
    % (mac, name) for name, mac in sorted(SOURCE_MAC.items()))

FSTAB = """\
# <file system> <mount point> <type> <options> <dump> <pass>
/dev/xvda1 / ext4 errors=remount-ro 0 1
nas.example.test:/export/www /srv/shared nfs rw,hard,intr 0 0
nas.example.test:/export/backup /backup nfs4 rw,noauto 0 0
"""

NGINX_SITE = """\
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    root /srv/www;
    index index.html;
    server_name _;
}
"""

IPTABLES_V4 = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 8443 -j DROP
COMMIT
"""


@dataclass
class Fixture:
    root: Path
    page: bytes                     # what nginx serves at /
    user: str
    uid: int
    gid: int
    user_files: dict                # path in the root -> (uid, gid, mode)
    host_key_pub: str               # the source's SSH host key (identity keep)
    machine_id: str


def _write(root, path, text, mode=0o644, uid=0, gid=0):
    p = Path(root) / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_symlink() or p.exists():
        p.unlink()
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    os.chown(p, uid, gid)
    os.chmod(p, mode)
    return p


def make_fixture(dest, public_key, suite="bookworm", extra_packages=(), firmware="bios"):
    """Build the fixture root in ``dest`` (must not exist or be empty); return a Fixture.

    ``public_key`` is the OpenSSH public key that may log in as the fixture's user. ``suite`` is
    the Debian release, ``extra_packages`` more of its packages (e.g. cloud-init for a server
    born from a cloud image); ``firmware="uefi"`` gives it the EFI system partition's tree a
    UEFI server has mounted at /boot/efi."""
    tweak = SUITE_PACKAGES.get(suite, {})
    packages = [p for p in PACKAGES if p not in tweak.get("drop", ())] + list(tweak.get("add", ()))
    root = debian_root(dest, include=packages + list(extra_packages), suite=suite)

    def chroot(*argv):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
        subprocess.run(["chroot", str(root)] + list(argv), check=True, stdout=subprocess.DEVNULL, env=env)

    _write(root, "/etc/hostname", HOSTNAME + "\n")
    _write(root, "/etc/hosts", "127.0.0.1\tlocalhost\n%s\t%s.example.test %s\n"
           "::1\t\tlocalhost ip6-localhost ip6-loopback\n" % (ADDRESS.split("/")[0], HOSTNAME, HOSTNAME))
    _write(root, "/etc/resolv.conf", "nameserver %s\n" % DNS)
    _write(root, "/etc/network/interfaces", INTERFACES)
    _write(root, "/etc/udev/rules.d/70-persistent-net.rules", UDEV_RULES)
    _write(root, "/etc/fstab", FSTAB)
    _write(root, "/etc/adjtime", ADJTIME)
    _write(root, "/etc/iptables/rules.v4", IPTABLES_V4)
    _write(root, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    if firmware == "uefi":
        _write(root, "/boot/efi/EFI/debian/grub.cfg",
               "search.fs_uuid 0000 root\nconfigfile ($root)/boot/grub/grub.cfg\n")

    # nginx: a page of its own under /srv (a token per build, so a stale image cannot pass)
    page = ("<html><body><h1>%s</h1><p>migrated fixture %s</p></body></html>\n"
            % (HOSTNAME, secrets.token_hex(8))).encode()
    _write(root, "/srv/www/index.html", page)
    _write(root, "/etc/nginx/sites-available/fixture", NGINX_SITE)
    enabled = root / "etc/nginx/sites-enabled"
    for old in enabled.iterdir():
        old.unlink()
    os.symlink("/etc/nginx/sites-available/fixture", enabled / "fixture")

    # the user, with ids a rebuild would not hand out by itself
    chroot("groupadd", "-g", str(GID), USER)
    chroot("useradd", "-m", "-u", str(UID), "-g", str(GID), "-s", "/bin/bash", USER)
    home = "/home/" + USER
    _write(root, home + "/.ssh/authorized_keys", public_key.strip() + "\n", 0o600, UID, GID)
    os.chown(root / home.lstrip("/") / ".ssh", UID, GID)
    os.chmod(root / home.lstrip("/") / ".ssh", 0o700)
    _write(root, home + "/notes.txt", "deploy notes\n", 0o640, UID, GID)
    _write(root, home + "/bin/deploy.sh", "#!/bin/sh\necho deploy\n", 0o750, UID, GID)
    os.chown(root / home.lstrip("/") / "bin", UID, GID)
    _write(root, "/srv/www/owned-by-user.txt", "user data\n", 0o604, UID, 0)

    # services as the source runs them: libvirtd and the firewall on, like the seed's server
    units = [u for u in ("libvirtd", "netfilter-persistent", "ssh", "nginx", "networking")
             if (root / "lib/systemd/system" / (u + ".service")).exists()]
    subprocess.run(["systemctl", "--root", str(root), "enable"] + units, check=True, capture_output=True)

    return load_fixture(root)


def load_fixture(root):
    """The Fixture facts of an existing fixture root (to reuse one built earlier)."""
    root = Path(root)
    home = "/home/" + USER
    files = {home + "/.ssh/authorized_keys": (UID, GID, 0o600), home + "/notes.txt": (UID, GID, 0o640),
             home + "/bin/deploy.sh": (UID, GID, 0o750), "/srv/www/owned-by-user.txt": (UID, 0, 0o604)}
    return Fixture(root=root, page=(root / "srv/www/index.html").read_bytes(), user=USER, uid=UID, gid=GID,
                   user_files=files,
                   host_key_pub=(root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().strip(),
                   machine_id=(root / "etc/machine-id").read_text().strip())


def ssh_keypair(directory):
    """A fresh ed25519 key pair in ``directory``; returns (private key path, public key text)."""
    key = Path(directory) / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dib-migrate-test",
                        "-f", str(key)], check=True)
    return key, key.with_suffix(".pub").read_text()
