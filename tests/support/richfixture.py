"""The richer source server of issue 11's proof: a Debian 12 shop server.

Apache + PHP showing the rows of a PostgreSQL database, a custom systemd timer (enabled) and
a package timer the admin disabled (apt's ``apt-daily-upgrade.timer``), a cron job, an admin
(uid >= 1500) with an SSH key and a sudoers drop-in, root's own authorized_keys, a sysctl
file, a DNS search domain, and two NICs bonded (active-backup) with a VLAN on the bond and a
static route through the VLAN, in ifupdown's format (Debian's default: ``ifenslave`` and
``vlan``).

The bond's address is qemu user networking's (10.0.2.15, gateway 10.0.2.2), so the kept
configuration really carries SSH in the boot test; the VLAN's network exists only inside the
guest (user networking drops tagged frames), so its address and the route through it are
checked in the guest's tables, not by traffic.

The database is created by the root's own PostgreSQL running in a chroot (pgfixture's
mounts), without a TCP listener (the host's port 5432 is not ours), and stopped cleanly
before the scan.
"""
import os
import re
import secrets
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from .fixture import _write, ssh_keypair
from .pgfixture import _chroot, _mounted
from .rootfs import debian_root

PACKAGES = ("systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "ifupdown", "ifenslave", "vlan", "iproute2",
            "isc-dhcp-client", "sudo", "cron", "ca-certificates", "postgresql", "apache2", "libapache2-mod-php",
            "php-pgsql")

HOSTNAME = "shop-fx"
USER, UID, GID = "shopadmin", 1501, 1501
ADDRESS, GATEWAY, DNS, SEARCH = "10.0.2.15/24", "10.0.2.2", "10.0.2.3", "example.lan"
BOND, MEMBERS, BOND_MODE = "bond0", ("eth0", "eth1"), "active-backup"
VLAN, VLAN_ID, VLAN_ADDRESS = "bond0.100", 100, "192.168.100.10/24"
ROUTE_TO, ROUTE_VIA = "172.16.50.0/24", "192.168.100.1"
CUSTOM_TIMER, DISABLED_TIMER = "shop-report.timer", "apt-daily-upgrade.timer"
SYSCTL = {"vm.swappiness": "13", "net.ipv4.tcp_keepalive_time": "321"}
SYSCTL_FILE = "/etc/sysctl.d/60-shop.conf"
SUDOERS_FILE = "/etc/sudoers.d/shopadmin"
CRON_FILE = "/etc/cron.d/shop-vacuum"
# a package's file the admin deleted (apache2's daily htcacheclean job): a rebuild installs it again
REMOVED_PACKAGE_FILE = "/etc/cron.daily/apache2"
PAGE = "/var/www/html/index.php"

INTERFACES = """\
# written by the fixture: two NICs bonded, a VLAN on the bond, a route through the VLAN
auto lo
iface lo inet loopback

auto {bond}
iface {bond} inet static
    address {address}
    gateway {gateway}
    dns-nameservers {dns}
    dns-search {search}
    bond-slaves {members}
    bond-mode {mode}
    bond-miimon 100
    bond-primary {primary}

auto {vlan}
iface {vlan} inet static
    address {vlan_address}
    vlan-raw-device {bond}
    up ip route add {route_to} via {route_via}
""".format(bond=BOND, address=ADDRESS, gateway=GATEWAY, dns=DNS, search=SEARCH, members=" ".join(MEMBERS),
           mode=BOND_MODE, primary=MEMBERS[0], vlan=VLAN, vlan_address=VLAN_ADDRESS, route_to=ROUTE_TO,
           route_via=ROUTE_VIA)

REPORT_SERVICE = """\
[Unit]
Description=Hourly sales report of the shop

[Service]
Type=oneshot
User=postgres
ExecStart=/usr/bin/psql -XAtq -d shop -c "SELECT count(*) FROM products"
"""

REPORT_TIMER = """\
[Unit]
Description=Run the shop's sales report hourly

[Timer]
OnCalendar=hourly
Persistent=true

[Install]
WantedBy=timers.target
"""

PHP_PAGE = """\
<?php
// the shop's product list, straight from PostgreSQL (peer authentication as www-data)
$db = pg_connect("dbname=shop") or die("no database\\n");
$rows = pg_query($db, "SELECT id, name, price FROM products ORDER BY id");
echo "<h1>shop %(token)s</h1>\\n";
while ($row = pg_fetch_row($rows)) {
    echo "<p>" . implode(" ", $row) . "</p>\\n";
}
"""

PRODUCTS = (("widget", "4.20"), ("gadget", "17.00"), ("sprocket", "0.99"))


@dataclass
class RichFixture:
    root: Path
    token: str                  # in the page's heading and every product name: a stale image cannot pass
    user: str
    uid: int
    gid: int
    root_keys: str              # /root/.ssh/authorized_keys: must come out unchanged
    host_key_pub: str
    machine_id: str

    def rows(self):
        """The <p> lines the PHP page must show."""
        return ["<p>%d %s-%s %s</p>" % (i, name, self.token, price) for i, (name, price) in enumerate(PRODUCTS, 1)]


def _cluster(root):
    """(version, name) of the root's one PostgreSQL cluster (bookworm: 15 main)."""
    clusters = [(v, n) for v in os.listdir(root / "etc/postgresql") for n in os.listdir(root / "etc/postgresql" / v)]
    assert len(clusters) == 1, clusters
    return clusters[0]


def _load_database(root, token):
    version, name = _cluster(root)
    ctl = ["pg_ctlcluster", "--skip-systemctl-redirect"]
    with _mounted(root):
        # a Unix socket only: the host's TCP port 5432 may be anyone's
        _chroot(root, *ctl, "-o", "-c listen_addresses=''", version, name, "start", capture_output=True)
        try:
            values = ", ".join("('%s-%s', %s)" % (n, token, p) for n, p in PRODUCTS)
            for db, sql in (("postgres", "CREATE ROLE \"www-data\" LOGIN"),
                            ("postgres", "CREATE DATABASE shop"),
                            ("shop", "CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL, "
                                     "price numeric(8,2) NOT NULL)"),
                            ("shop", "INSERT INTO products (name, price) VALUES " + values),
                            ("shop", "GRANT SELECT ON products TO \"www-data\"")):
                _chroot(root, "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                        "-d", db, "-c", sql, capture_output=True)
        finally:
            # a clean shutdown: the data directory the scan carries is consistent
            _chroot(root, *ctl, version, name, "stop", "-m", "fast", capture_output=True)


def make_rich_fixture(dest, public_key):
    """Build the shop server's root in ``dest``; ``public_key`` may log in as its admin."""
    root = debian_root(dest, include=PACKAGES)
    token = secrets.token_hex(4)

    _write(root, "/etc/hostname", HOSTNAME + "\n")
    fqdn = "%s.%s" % (HOSTNAME, SEARCH)
    _write(root, "/etc/hosts", "127.0.0.1\tlocalhost\n%s\t%s %s\n" % (ADDRESS.split("/")[0], fqdn, HOSTNAME))
    _write(root, "/etc/resolv.conf", "search %s\nnameserver %s\n" % (SEARCH, DNS))
    _write(root, "/etc/network/interfaces", INTERFACES)
    _write(root, "/etc/fstab", "/dev/vda1 / ext4 errors=remount-ro 0 1\n")
    _write(root, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    _write(root, SYSCTL_FILE, "".join("%s = %s\n" % kv for kv in sorted(SYSCTL.items())))
    _write(root, CRON_FILE, "# nightly vacuum of the shop's database\n"
                            "17 3 * * * postgres /usr/bin/vacuumdb --all --quiet\n")

    # the admin, with ids a rebuild would not hand out, and root's own key (not the cloud's)
    _chroot(root, "groupadd", "-g", str(GID), USER)
    _chroot(root, "useradd", "-m", "-u", str(UID), "-g", str(GID), "-s", "/bin/bash", USER)
    _write(root, SUDOERS_FILE, "%s ALL=(ALL) NOPASSWD: ALL\n" % USER, 0o440)
    home = root / "home" / USER
    _write(root, "/home/%s/.ssh/authorized_keys" % USER, public_key.strip() + "\n", 0o600, UID, GID)
    os.chown(home / ".ssh", UID, GID)
    os.chmod(home / ".ssh", 0o700)
    root_pub = _root_public_key(Path(dest))
    _write(root, "/root/.ssh/authorized_keys", "# the operator's break-glass key\n" + root_pub, 0o600)
    os.chmod(root / "root/.ssh", 0o700)

    # the shop: PHP page over PostgreSQL (Apache's own index.html would win over index.php)
    _load_database(root, token)
    (root / "var/www/html/index.html").unlink(missing_ok=True)
    _write(root, PAGE, PHP_PAGE % {"token": token})

    # units as the admin left them: the custom timer on, apt's unattended upgrade timer off
    _write(root, "/etc/systemd/system/shop-report.service", REPORT_SERVICE)
    _write(root, "/etc/systemd/system/" + CUSTOM_TIMER, REPORT_TIMER)
    systemctl = ["systemctl", "--root", str(root)]
    subprocess.run(systemctl + ["enable", "ssh", "networking", "apache2", "postgresql", "cron", CUSTOM_TIMER],
                   check=True, capture_output=True)
    subprocess.run(systemctl + ["disable", DISABLED_TIMER], check=True, capture_output=True)
    (root / REMOVED_PACKAGE_FILE.lstrip("/")).unlink()
    return load_rich_fixture(root)


def _root_public_key(dest):
    """A key pair of its own for root's authorized_keys (kept beside the root, outside it)."""
    keydir = dest.parent / (dest.name + "-rootkey")
    keydir.mkdir(exist_ok=True)
    return ssh_keypair(keydir)[1]


def load_rich_fixture(root):
    """The RichFixture facts of an existing root (to reuse one built earlier)."""
    root = Path(root)
    token = re.search(r"<h1>shop ([0-9a-f]+)</h1>", (root / PAGE.lstrip("/")).read_text()).group(1)
    return RichFixture(root=root, token=token, user=USER, uid=UID, gid=GID,
                       root_keys=(root / "root/.ssh/authorized_keys").read_text(),
                       host_key_pub=(root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().strip(),
                       machine_id=(root / "etc/machine-id").read_text().strip())
