"""Services and their boot state: systemd units, SysV init scripts, upstart jobs."""
import os
import re

from .keyvalue import parse_ini
from .names import valid


SYSTEMD_VENDOR_DIRS = ("/usr/lib/systemd/system", "/lib/systemd/system")
SYSTEMD_ADMIN_DIR = "/etc/systemd/system"
# unit types whose boot state an admin sets; services are reported without their suffix
UNIT_TYPES = (".service", ".timer", ".socket", ".path")


# the kinds of unit whose states a report records (its `scanner.unit_types`); a report that does
# not say was written by a scanner that recorded services only
RECORDED_TYPES = ("service", "timer", "socket", "path", "instance")
LEGACY_TYPES = ("service",)


def unit_type(name):
    """The kind of a report's unit name: getty@tty1 → instance, man-db.timer → timer, nginx → service."""
    if "@" in name:
        return "instance"
    suffix = name.rsplit(".", 1)[-1]
    return suffix if "." in name and suffix in RECORDED_TYPES else "service"


def recorded_types(scanner):
    """The unit kinds a report's ``scanner`` section says its services list covers."""
    return tuple((scanner or {}).get("unit_types") or LEGACY_TYPES)


def unit_name(filename):
    """The report's name of a unit file: nginx (a service), man-db.timer, getty@tty1."""
    return filename[:-len(".service")] if filename.endswith(".service") else filename


def systemd_services(root):
    """Service states from unit files and enablement symlinks, the way systemctl --root sees them."""
    units = {}          # name -> (inner path, masked)
    vendor_dirs, seen = [], set()
    for d in SYSTEMD_VENDOR_DIRS:
        try:
            real = root.resolve(d)
        except OSError:
            continue
        if real not in seen and root.isdir(real):
            seen.add(real)
            vendor_dirs.append(real)
    aliases = set()
    for d in list(reversed(vendor_dirs)) + [SYSTEMD_ADMIN_DIR]:
        for name in root.listdir(d):
            if not name.endswith(UNIT_TYPES) or "@" in name:
                continue      # templates have no state of their own; their instances are below
            inner = "%s/%s" % (d, name)
            target = root.readlink(inner)
            if target is not None:
                if target == "/dev/null":
                    units[name] = (inner, True)
                    continue
                if os.path.basename(target) != name:
                    aliases.add(name)     # alias names (sshd.service -> ssh.service) are not units
                    continue
            elif not os.path.isfile(root.host(inner)):
                continue
            units[name] = (inner, False)
    enabled, instances = set(), set()
    for d in root.listdir(SYSTEMD_ADMIN_DIR):
        if d.endswith((".wants", ".requires")) and root.isdir(SYSTEMD_ADMIN_DIR + "/" + d):
            for link in root.listdir("%s/%s" % (SYSTEMD_ADMIN_DIR, d)):
                target = root.readlink("%s/%s/%s" % (SYSTEMD_ADMIN_DIR, d, link)) or link
                enabled.add(link)
                enabled.add(os.path.basename(target))
                if "@" in link and not link.split("@", 1)[1].startswith(".") and link.endswith(UNIT_TYPES):
                    instances.add(link)      # getty@tty1.service, serial-getty@hvc0.service
    # an instance masked by the admin (/etc/systemd/system/serial-getty@hvc0.service -> /dev/null)
    for name in root.listdir(SYSTEMD_ADMIN_DIR):
        if "@" in name and not name.split("@", 1)[1].startswith(".") and name.endswith(UNIT_TYPES):
            if root.readlink("%s/%s" % (SYSTEMD_ADMIN_DIR, name)) == "/dev/null":
                units[name] = ("%s/%s" % (SYSTEMD_ADMIN_DIR, name), True)
    for name in instances:
        units.setdefault(name, (None, False))
    out = []
    for name in sorted(units):
        inner, masked = units[name]
        if name in aliases and not masked:
            continue
        if masked:
            state = "masked"
        elif name in enabled:
            state = "enabled"
        elif inner and _has_install_section(root.read(inner) or ""):
            state = "disabled"
        else:
            continue      # static units cannot be enabled or disabled
        out.append({"name": unit_name(name), "state": state})
    known = set(s["name"] for s in out) | set(unit_name(n) for n in units) | set(unit_name(n) for n in aliases)
    # init scripts without a unit run through systemd-sysv-generator: rc links decide
    for svc in sysv_services(root, default_runlevel(root, "debian")):
        name = svc["name"][:-3] if svc["name"].endswith(".sh") else svc["name"]
        if name not in known:
            out.append({"name": name, "state": svc["state"]})
    return out


def _has_install_section(text):
    section = None
    for sect, key, _value in parse_ini(text):
        section = sect
        if section == "Install" and key in ("WantedBy", "RequiredBy", "Alias", "UpheldBy"):
            return True
    return False


def default_runlevel(root, family):
    for line in (root.read("/etc/inittab") or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2] == "initdefault" and fields[1].isdigit():
            return fields[1]
    return "2" if family == "debian" else "3"


SYSV_SKIP = {"README", "skeleton", "functions", "halt", "killall", "single", "rc", "rcS", "reboot",
             "sendsigs", "umountfs", "umountnfs.sh", "umountroot", "rc.local", ".depend.boot",
             ".depend.start", ".depend.stop", ".legacy-bootordering"}


def sysv_services(root, runlevel):
    """Init scripts and whether the default runlevel starts them (what chkconfig --list shows)."""
    init_dir = "/etc/rc.d/init.d" if root.isdir("/etc/rc.d/init.d") else "/etc/init.d"
    rc_dir = None
    for d in ("/etc/rc.d/rc%s.d" % runlevel, "/etc/rc%s.d" % runlevel):
        if root.isdir(d):
            rc_dir = d
            break
    started = set()
    for link in root.listdir(rc_dir) if rc_dir else []:
        m = re.match(r"^S[0-9]{2}(.+)$", link)
        if m:
            started.add(m.group(1))
    out = []
    for name in root.listdir(init_dir):
        inner = "%s/%s" % (init_dir, name)
        if name in SYSV_SKIP or name.startswith(".") or name.endswith((".dpkg-dist", ".dpkg-old", ".rpmnew",
                                                                      ".rpmsave", "~")):
            continue
        if not os.path.isfile(root.real(inner)) or not valid("service", name):
            continue
        out.append({"name": name, "state": "enabled" if name in started else "disabled"})
    return out


def upstart_services(root, runlevel):
    out = []
    for inner in root.glob("/etc/init", "*.conf"):
        name = os.path.basename(inner)[:-5]
        override = root.read(inner[:-5] + ".override") or ""
        manual = any(line.strip() == "manual" for line in override.splitlines())
        if valid("service", name):
            out.append({"name": name, "state": "disabled" if manual else "enabled"})
    names = set(s["name"] for s in out)
    return out + [s for s in sysv_services(root, runlevel) if s["name"] not in names]


def scanned_types(init_system):
    """The unit kinds detect_services records for ``init_system`` (SysV and upstart have services only)."""
    return RECORDED_TYPES if init_system == "systemd" else LEGACY_TYPES


def detect_services(root, init_system, family):
    if init_system == "systemd":
        services = systemd_services(root)
    elif init_system == "upstart":
        services = upstart_services(root, default_runlevel(root, family))
    else:
        services = sysv_services(root, default_runlevel(root, family))
    return [s for s in services if valid("service", s["name"])]
