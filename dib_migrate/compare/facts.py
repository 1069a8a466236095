"""The facts of a root filesystem, read with the scanner's own readers.

``root_facts(path)`` returns a report-shaped dict (the keys of a scan report, without the
overlay) plus the few facts compare needs that a report does not carry: which package owns
a unit, each package's dependencies, sysctl settings, the machine-id and host keys, and the
accounts the image's packages declare through sysusers.d. Nothing is written to the root.
"""
import glob
import hashlib
import os
import re

from ..scan import scanner as S
from ..scan.scan_root import _package_ok


class _Quiet(S.Progress):
    """The scanner's progress object, collecting its warnings instead of printing them."""

    def __init__(self):
        S.Progress.__init__(self, quiet=True)
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
SYSUSERS_DIRS = ("/etc/sysusers.d", "/usr/lib/sysusers.d", "/lib/sysusers.d")


def _packages(root):
    fmt = S.package_format(root)
    records = []
    if fmt == "dpkg":
        records = S.parse_dpkg_status(root.read("/var/lib/dpkg/status", limit=1 << 30))
        packages = S.dpkg_packages(root, records)
    elif fmt == "rpm":
        packages = S.parse_rpm_qa(S.run(S.rpm_command(root, "-qa", "--qf", S.RPM_QUERY_FORMAT)) or "")
    else:
        packages = []
    return S.sort_packages(packages), records


_DEP_NAME = re.compile(r"^\s*([a-z0-9][a-z0-9+.-]*)")


def _dep_names(field):
    """Package names of a Depends-style field; alternatives all count (any may be the one installed)."""
    out = []
    for clause in (field or "").replace("\n", " ").split(","):
        for alt in clause.split("|"):
            m = _DEP_NAME.match(alt)
            if m:
                out.append(m.group(1))
    return out


def dpkg_relations(records):
    """name -> {"depends": [...], "recommends": [...], "provides": [...], "priority": str}."""
    out = {}
    for r in records:
        if not S.dpkg_installed(r):
            continue
        out[r.get("Package", "")] = {
            "depends": _dep_names(r.get("Pre-Depends", "")) + _dep_names(r.get("Depends", "")),
            "recommends": _dep_names(r.get("Recommends", "")),
            "provides": _dep_names(r.get("Provides", "")),
            "priority": r.get("Priority", ""),
        }
    return out


def dpkg_owners(root, prefixes, every=False):
    """path -> package, for the files of every package under ``prefixes`` (dpkg's .list files);
    ``every``: path -> [package, ...] (a directory has many)."""
    info = root.host("/var/lib/dpkg/info")
    out = {}
    for f in sorted(glob.glob(os.path.join(info, "*.list"))):
        pkg = os.path.basename(f)[:-5].split(":")[0]
        try:
            with open(f, errors="surrogateescape") as fh:
                for line in fh:
                    path = line.rstrip("\n")
                    if not path.startswith(prefixes) or path == "/.":
                        continue
                    if every:
                        out.setdefault(path, []).append(pkg)
                    else:
                        out.setdefault(path, pkg)
        except OSError:
            continue
    return out


def unit_packages(root):
    """unit name (as the scanner names services) -> the package that ships its unit file or init script.

    dpkg's lists name /lib/systemd/system on merged-/usr systems too: each directory is looked
    up under every vendor name.
    """
    owners = dpkg_owners(root, tuple(d + "/" for d in S.SYSTEMD_VENDOR_DIRS) + ("/etc/init.d/",))
    out = {}
    for d in S.SYSTEMD_VENDOR_DIRS + ("/etc/init.d",):
        for name in root.listdir(d):
            unit = name[:-len(".service")] if name.endswith(".service") else name
            for vendor in (S.SYSTEMD_VENDOR_DIRS if d != "/etc/init.d" else (d,)):
                pkg = owners.get("%s/%s" % (vendor, name))
                if pkg:
                    out.setdefault(unit, pkg)
                    break
    return out


def _sysctl_lines(text):
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.lstrip("-").partition("=")
        if sep:
            yield key.strip().replace("/", "."), " ".join(value.split())


def sysctl_settings(root):
    """key -> (value, file): what systemd-sysctl applies at boot (later files win, /etc/sysctl.conf last)."""
    files = {}
    for d in reversed(SYSCTL_DIRS):         # a name in an earlier directory masks the later ones
        for name in root.listdir(d):
            if name.endswith(".conf"):
                files[name] = "%s/%s" % (d, name)
    out = {}
    for name in sorted(files):
        for key, value in _sysctl_lines(root.read(files[name])):
            out[key] = (value, files[name])
    for key, value in _sysctl_lines(root.read("/etc/sysctl.conf")):
        out[key] = (value, "/etc/sysctl.conf")
    return out


def sysusers_accounts(root):
    """{"users": {name: file}, "groups": {name: file}} that the root's sysusers.d files declare."""
    files = {}
    for d in reversed(SYSUSERS_DIRS):
        for name in root.listdir(d):
            if name.endswith(".conf"):
                files[name] = "%s/%s" % (d, name)
    owners = dpkg_owners(root, tuple(d + "/" for d in SYSUSERS_DIRS))
    users, groups = {}, {}
    for name in sorted(files):
        path = files[name]
        where = "%s (%s)" % (path, owners[path]) if path in owners else path
        for line in (root.read(path) or "").splitlines():
            words = line.split()
            if len(words) < 2 or words[0].startswith("#"):
                continue
            if words[0] == "u":
                users.setdefault(words[1], (where, owners.get(path)))
                # "u name uid:gid" joins an existing group; otherwise a group of the same name is made
                if len(words) < 3 or ":" not in words[2]:
                    groups.setdefault(words[1], (where, owners.get(path)))
            elif words[0] == "g":
                groups.setdefault(words[1], (where, owners.get(path)))
    return {"users": users, "groups": groups}


def resolv(text):
    """What a resolver reads from resolv.conf: name servers, search domains, options."""
    out = {"nameserver": [], "search": [], "options": []}
    for line in (text or "").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] in ("nameserver", "search", "options"):
            out[words[0]] += words[1:] if words[0] != "nameserver" else words[1:2]
        elif len(words) >= 2 and words[0] == "domain":
            out["search"] = words[1:2]
    return out if text is not None else None


def identity(root):
    """machine-id and the SHA-256 of each SSH host public key (what a client's known_hosts pins)."""
    keys = {}
    for inner in root.glob("/etc/ssh", "ssh_host_*_key.pub"):
        text = root.read(inner) or ""
        words = text.split()
        if len(words) >= 2:
            keys[os.path.basename(inner)] = hashlib.sha256(words[1].encode()).hexdigest()[:16]
    return {"machine_id": (root.read("/etc/machine-id") or "").strip() or None, "ssh_host_keys": keys}


def root_facts(path):
    """The report-shaped facts of the root filesystem at ``path`` (read-only)."""
    root = S.Root(path)
    quiet = _Quiet()
    os_info = S.detect_os(root)
    packages, records = _packages(root)
    packages = [p for p in packages if _package_ok(p, quiet)]
    names = set(p["name"] for p in packages)
    init_system = S.detect_init_system(root, names)
    services = S.detect_services(root, init_system, os_info["family"])
    users, groups = S.parse_accounts(root.read("/etc/passwd"), root.read("/etc/group"), quiet)
    return {
        "host": S.detect_host(root),
        "os": {"family": os_info["family"], "distro": os_info["distro"], "version": os_info["version"]},
        "init_system": init_system,
        "packages": packages,
        "services": services,
        "network": S.detect_network(root, names, services, quiet),
        "fstab": S.parse_fstab(root.read("/etc/fstab"), quiet),
        "users": users,
        "groups": groups,
        "etc_symlinks": S.etc_symlinks(root),
        # beyond the report
        "relations": dpkg_relations(records),
        "unit_packages": unit_packages(root),
        "resolv": resolv(root.read("/etc/resolv.conf")),
        "sysctl": sysctl_settings(root),
        "sysusers": sysusers_accounts(root),
        "identity": identity(root),
        "warnings": quiet.warnings,
    }
