"""Load a scan report: YAML → validated, immutable report objects (SPEC §2).

Everything in a report is untrusted: the JSON Schema pins every name that can reach a
command to its real character set, the loader adds the checks a schema cannot express
(IP addresses, the overlay archive), and the result is frozen so no later stage can
quietly change what was scanned.
"""
import hashlib
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import jsonschema

from . import safe_yaml
from .errors import InputError
from .overlay import inspect_archive
from .scan.units import LEGACY_TYPES, recorded_types

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.json"
SUPPORTED_VERSIONS = (1,)


@dataclass(frozen=True)
class Package:
    name: str
    version: str = ""
    arch: str = ""


@dataclass(frozen=True)
class Service:
    name: str
    state: str


@dataclass(frozen=True)
class Interface:
    name: str
    mode: str
    mac: Optional[str] = None
    addresses: Tuple[str, ...] = ()
    gateway: Optional[str] = None
    dns: Tuple[str, ...] = ()
    config_file: Optional[str] = None
    # device facts (scanned where the configuration has them)
    kind: Optional[str] = None               # bond, vlan, bridge; None: a plain NIC
    members: Tuple[str, ...] = ()
    bond_mode: Optional[str] = None
    # the bond's other options, kernel names -> values (scan/network/bond.py); the mode is bond_mode
    bond_options: Tuple[Tuple[str, str], ...] = ()
    renderer: Optional[str] = None   # netplan's backend for this device (networkd, NetworkManager)
    parent: Optional[str] = None
    vlan_id: Optional[int] = None
    mtu: Optional[int] = None
    routes: Tuple[Tuple[str, str], ...] = ()   # (to, via)
    dns_search: Tuple[str, ...] = ()

    def device_facts(self):
        """The scanned device facts, as words: what a renderer must carry."""
        out = []
        if self.kind == "bond":
            out.append("bond%s over %s" % (" (%s)" % self.bond_mode if self.bond_mode else "",
                                           ", ".join(self.members) or "no members"))
            out += ["bond option %s %s" % kv for kv in self.bond_options]
        elif self.kind == "vlan":
            out.append("VLAN %s on %s" % (self.vlan_id, self.parent))
        elif self.kind == "bridge":
            out.append("bridge over %s" % (", ".join(self.members) or "no ports"))
        out += ["route %s via %s" % r for r in self.routes]
        if self.mtu:
            out.append("MTU %d" % self.mtu)
        if self.dns_search:
            out.append("DNS search %s" % " ".join(self.dns_search))
        return out


@dataclass(frozen=True)
class FstabEntry:
    index: int          # 1-based position among the report's entries, cited in reasons
    spec: str
    mountpoint: str
    fstype: str
    options: str = "defaults"
    dump: int = 0
    passno: int = 0

    def line(self):
        return "%s %s %s %s %d %d" % (self.spec, self.mountpoint, self.fstype, self.options,
                                      self.dump, self.passno)


@dataclass(frozen=True)
class Account:
    name: str
    id: int
    gid: Optional[int] = None


@dataclass(frozen=True)
class Overlay:
    path: Path           # absolute path of the archive
    sha256: str
    mode: str
    files: int = 0
    bytes: int = 0
    compression: str = "gzip"
    setuid: Tuple[str, ...] = ()     # setuid/setgid files the archive carries: the Plan lists them
    # trees and patterns the scan's walk left out; None: not recorded (the overlay is not known complete)
    left_out: Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]] = None

    def complete_at(self, path):
        """Whether the scan saw ``path``'s place: a changed-files walk that records what it left out, and
        ``path`` outside those trees and patterns (an unowned file not carried was not on the source)."""
        from .scan.overlay.selection import excluded_by_pattern
        if self.mode != "changed" or self.left_out is None:
            return False
        trees, patterns = self.left_out
        return not any(path == t or path.startswith(t.rstrip("/") + "/") for t in trees) and \
            not excluded_by_pattern(path, patterns)


@dataclass(frozen=True)
class StatefulService:
    """A database cluster or a running service writing under /var/lib (scan's ``stateful``)."""
    kind: str
    service: str
    data_dir: str
    running: bool
    bytes: int
    version: Optional[str] = None


@dataclass(frozen=True)
class LiveChanges:
    """Files that vanished or changed while a live scan read them."""
    vanished: int
    changed: int
    vanished_paths: Tuple[str, ...] = ()
    changed_paths: Tuple[str, ...] = ()
    services: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Delta:
    """What a ``scan --since`` report adds to the scan it follows."""
    since: str                        # scanned_at of the previous scan
    deleted: Tuple[str, ...]
    changes: dict


@dataclass(frozen=True)
class Report:
    path: Path
    hostname: str
    fqdn: Optional[str]
    family: str
    distro: str
    version: str
    codename: Optional[str]
    arch: str
    virtualization: str
    firmware: str
    init_system: str
    kernel_running: Optional[str]
    kernel_packages: Tuple[str, ...]
    bootloader: str
    packages: Tuple[Package, ...]
    services: Tuple[Service, ...]
    network_manager: str
    interfaces: Tuple[Interface, ...]
    hosts: Optional[str]
    fstab: Tuple[FstabEntry, ...]
    adjtime: Optional[str]
    firewall_active: bool
    firewall_tool: str
    selinux: str
    users: Tuple[Account, ...]
    groups: Tuple[Account, ...]
    overlay: Optional[Overlay]
    etc_symlinks: Optional[Tuple[str, ...]] = None   # None: the scan did not record them
    # (path, package or None) a package installs and the source lacks (its admin removed them)
    absent_package_files: Tuple[Tuple[str, Optional[str]], ...] = ()
    stateful: Tuple[StatefulService, ...] = ()
    live: Optional[LiveChanges] = None
    quiesced: Tuple[Tuple[str, float], ...] = ()     # (service, downtime in s) stopped during the scan
    delta: Optional[Delta] = None
    scanned_at: Optional[str] = None
    unit_types: Tuple[str, ...] = LEGACY_TYPES    # the unit kinds ``services`` covers
    network_files: Tuple[str, ...] = ()              # the manager's files that configured the interfaces

    def has_package(self, *names):
        installed = {p.name for p in self.packages}
        return any(n in installed for n in names)

    def service_state(self, name):
        for s in self.services:
            if s.name == name:
                return s.state
        return None


def _path_str(path):
    return ".".join(str(p) if not isinstance(p, int) else "[%d]" % p for p in path).replace(".[", "[")


def _schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


def _refuse_windows(path, data):
    os_ = data.get("os") if isinstance(data.get("os"), dict) else {}
    for field in ("family", "distro"):
        value = os_.get(field)
        if isinstance(value, str) and value.lower().startswith("windows"):
            raise InputError(path, "os." + field, value,
                             "this builder produces Linux images; a Windows source cannot be migrated")


def validate(path, data):
    """Schema + semantic checks; raises InputError naming the first bad field."""
    if not isinstance(data, dict):
        raise InputError(path, None, type(data).__name__, "a scan report is a YAML mapping")
    version = data.get("schema_version")
    if version not in SUPPORTED_VERSIONS:
        raise InputError(path, "schema_version", version,
                         "unknown schema version (this dib-migrate reads %s)"
                         % ", ".join(map(str, SUPPORTED_VERSIONS)))
    _refuse_windows(path, data)
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        message = error.message if len(error.message) < 200 else error.validator + " check failed"
        if list(error.absolute_path)[-1:] == ["bond_options"] and error.instance == "mode":
            message = "the bond's mode is the interface's bond_mode, not one of its bond_options"
        raise InputError(path, _path_str(error.absolute_path), error.instance, message)
    for i, p in enumerate(data["network"].get("config_files") or ()):
        if ".." in p.split("/") or "." in p.split("/") or "//" in p:
            # the Plan removes these files from the image: only normalised paths
            raise InputError(path, "network.config_files[%d]" % i, p, "not a normalised absolute path")
    names = {}
    for i, iface in enumerate(data["network"]["interfaces"]):
        where = "network.interfaces[%d]" % i
        if iface["name"] in names:
            # merging them would silently lose one's addresses
            raise InputError(path, where + ".name", iface["name"],
                             "duplicate interface name (also network.interfaces[%d])" % names[iface["name"]])
        names[iface["name"]] = i
        for j, addr in enumerate(iface.get("addresses") or []):
            try:
                ipaddress.ip_interface(addr)
            except ValueError:
                raise InputError(path, "%s.addresses[%d]" % (where, j), addr, "not an address in CIDR form")
        for field, values in (("gateway", [iface.get("gateway")]), ("dns", iface.get("dns") or [])):
            for v in values:
                if v is None:
                    continue
                try:
                    ipaddress.ip_address(v)
                except ValueError:
                    raise InputError(path, "%s.%s" % (where, field), v, "not an IP address")
        if iface["mode"] == "static" and not iface.get("addresses"):
            raise InputError(path, where + ".addresses", [], "a static interface needs an address")
        if iface.get("bond_options") and iface.get("kind") != "bond":
            raise InputError(path, where + ".bond_options", iface["bond_options"], "bond options on an interface "
                             "that is not a bond (kind: bond)")
        if iface["mode"] == "manual" and not iface.get("kind"):
            raise InputError(path, where + ".mode", "manual", "only a bond, bridge or VLAN (kind) is configured "
                             "without an address of its own")


def _compression(archive_path):
    with open(archive_path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return "none"


def _load_overlay(path, data):
    ov = data.get("overlay")
    if not ov:
        return None
    archive = (path.parent / ov["archive"]).resolve()
    if not archive.is_file():
        raise InputError(path, "overlay.archive", ov["archive"], "archive not found at %s" % archive)
    digest = hashlib.sha256()
    with open(archive, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != ov["sha256"]:
        raise InputError(path, "overlay.sha256", ov["sha256"],
                         "does not match the archive (its sha256 is %s)" % digest.hexdigest())
    compression = _compression(archive)
    problem, privileged = inspect_archive(archive, compression, ov["mode"])
    if problem:
        raise InputError(path, "overlay.archive", ov["archive"], problem)
    left = ov.get("left_out")
    return Overlay(path=archive, sha256=ov["sha256"], mode=ov["mode"], files=ov.get("files", 0),
                   bytes=ov.get("bytes", 0), compression=compression, setuid=privileged,
                   left_out=(tuple(left.get("trees") or ()), tuple(left.get("patterns") or ())) if left else None)


def read_yaml(path, what="report"):
    """Untrusted YAML: bounded, no aliases, no duplicate keys (see safe_yaml)."""
    return safe_yaml.load(path, what)


def load_report(path):
    """Read, validate and freeze a scan report; the overlay archive is checked too."""
    path = Path(os.path.abspath(path))
    data = read_yaml(path)
    validate(path, data)
    host, os_, net = data["host"], data["os"], data["network"]
    fstab = tuple(
        FstabEntry(index=i + 1, spec=e["spec"], mountpoint=e["mountpoint"], fstype=e["fstype"],
                   options=e.get("options", "defaults"), dump=e.get("dump", 0), passno=e.get("pass", 0))
        for i, e in enumerate(data["fstab"]))
    return Report(
        path=path,
        hostname=host["hostname"],
        fqdn=host.get("fqdn"),
        family=os_["family"],
        distro=os_["distro"],
        version=str(os_["version"]),
        codename=os_.get("codename"),
        arch=os_["arch"],
        virtualization=data["platform"]["virtualization"],
        firmware=data["platform"].get("firmware", "bios"),
        init_system=data["init_system"],
        kernel_running=data["kernel"].get("running"),
        kernel_packages=tuple(data["kernel"]["packages"]),
        bootloader=data["bootloader"],
        packages=tuple(Package(p["name"], p.get("version", ""), p.get("arch", "")) for p in data["packages"]),
        services=tuple(Service(s["name"], s["state"]) for s in data["services"]),
        network_manager=net["manager"],
        interfaces=tuple(
            Interface(name=i["name"], mode=i["mode"], mac=i.get("mac"), addresses=tuple(i.get("addresses") or ()),
                      gateway=i.get("gateway"), dns=tuple(i.get("dns") or ()), config_file=i.get("config_file"),
                      kind=i.get("kind"), members=tuple(i.get("members") or ()), bond_mode=i.get("bond_mode"),
                      bond_options=tuple(sorted((i.get("bond_options") or {}).items())),
                      parent=i.get("parent"), vlan_id=i.get("vlan_id"), mtu=i.get("mtu"),
                      routes=tuple((r["to"], r["via"]) for r in i.get("routes") or ()),
                      dns_search=tuple(i.get("dns_search") or ()), renderer=i.get("renderer"))
            for i in net["interfaces"]),
        hosts=net.get("hosts"),
        network_files=tuple(net.get("config_files") or ()),
        fstab=fstab,
        adjtime=(data.get("clock") or {}).get("adjtime"),
        firewall_active=data["firewall"]["active"],
        firewall_tool=data["firewall"]["tool"],
        selinux=data.get("selinux", "absent"),
        users=tuple(Account(u["name"], u["uid"], u.get("gid")) for u in data["users"]),
        groups=tuple(Account(g["name"], g["gid"]) for g in data["groups"]),
        overlay=_load_overlay(path, data),
        etc_symlinks=tuple(data["etc_symlinks"]) if "etc_symlinks" in data else None,
        absent_package_files=tuple((a["path"], a.get("package")) for a in data.get("absent_package_files") or ()),
        stateful=tuple(StatefulService(e["kind"], e["service"], e["data_dir"], e["running"], e["bytes"],
                                       e.get("version")) for e in data.get("stateful") or ()),
        live=_load_live(data.get("live")),
        quiesced=tuple((q["service"], float(q["downtime_s"])) for q in (data.get("quiesce") or {}).get("services", ())
                       if q["was_running"]),
        delta=_load_delta(path, data),
        scanned_at=str(data["scanned_at"]) if data.get("scanned_at") is not None else None,
        unit_types=recorded_types(data.get("scanner")),
    )


def _load_live(live):
    if not live:
        return None
    return LiveChanges(vanished=live["vanished"]["count"], changed=live["changed"]["count"],
                       vanished_paths=tuple(live["vanished"]["paths"]), changed_paths=tuple(live["changed"]["paths"]),
                       services=tuple(live.get("services") or ()))


def _load_delta(path, data):
    delta = data.get("delta")
    mode = (data.get("overlay") or {}).get("mode")
    if (delta is None) != (mode != "delta"):
        raise InputError(path, "delta" if delta is None else "overlay.mode", mode,
                         "a delta report has both a `delta` section and an overlay of mode delta")
    if delta is None:
        return None
    for i, p in enumerate(delta["deleted"]):
        parts = p.split("/")
        if p == "/" or ".." in parts or "." in parts or "" in parts[1:]:
            raise InputError(path, "delta.deleted[%d]" % i, p, "not a normalised absolute path below /")
    return Delta(since=delta["since"]["scanned_at"], deleted=tuple(delta["deleted"]), changes=delta["changes"])
