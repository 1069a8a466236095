"""User options for a migration, and the white-box install profile (--install-profile)."""
import ipaddress
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

from .errors import InputError
from .report import read_yaml

STRATEGIES = ("packages", "rootfs")
IDENTITIES = ("keep", "reset")


@dataclass(frozen=True)
class NicChange:
    name: str
    mode: str
    addresses: Tuple[str, ...] = ()
    gateway: Optional[str] = None
    dns: Tuple[str, ...] = ()


@dataclass(frozen=True)
class BootScript:
    name: str
    content: str


@dataclass(frozen=True)
class Profile:
    """A white-box install profile: what the first boot configures."""
    path: str
    root_password_hash: Optional[str] = None
    keyboard: Optional[str] = None
    timezone: Optional[str] = None
    nics: Tuple[NicChange, ...] = ()
    boot_scripts: Tuple[BootScript, ...] = ()

    def nic(self, name):
        for n in self.nics:
            if n.name == name:
                return n
        return None


@dataclass(frozen=True)
class Options:
    firewall: bool = False
    profile: Optional[Profile] = None
    strategy: str = "packages"
    pin_versions: bool = False
    identity: str = "keep"
    network: str = "keep"          # keep: the scanned addressing; dhcp: every interface on DHCP
    extra_elements: Tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    packer_key: Optional[str] = None     # OpenSSH public key for Packer's provisioning boot (--packer)


_KEYS = {"root_password_hash", "keyboard", "timezone", "nics", "boot_scripts"}
_PATTERNS = {
    "keyboard": r"^[A-Za-z0-9_-]{1,32}$",
    "timezone": r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,2}$",
    "root_password_hash": r"^\$(1|5|6|y|2[aby])\$[./A-Za-z0-9$=,]{8,200}$",
    "nic_name": r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$",
    "script_name": r"^[0-9]{2}-[A-Za-z0-9_.-]{1,64}$",
}


def _check(path, field_name, value, pattern_key):
    import re
    if not isinstance(value, str) or not re.match(_PATTERNS[pattern_key], value):
        raise InputError(path, field_name, value, "not a valid %s" % pattern_key.replace("_", " "))
    return value


def _ip(path, where, value, cidr=False):
    try:
        if cidr and "/" not in str(value):
            raise ValueError("no prefix length")    # ip_interface would silently make it a /32
        (ipaddress.ip_interface if cidr else ipaddress.ip_address)(value)
    except (ValueError, TypeError):
        raise InputError(path, where, value, "not an IP address" + (" in CIDR form" if cidr else ""))
    return value


def load_profile(path):
    data = read_yaml(path, "install profile")
    if not isinstance(data, dict):
        raise InputError(path, None, data, "an install profile is a YAML mapping")
    unknown = set(data) - _KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(path, key, data[key], "unknown install-profile field (known: %s)" % ", ".join(sorted(_KEYS)))
    kw = {}
    for key in ("root_password_hash", "keyboard", "timezone"):
        if data.get(key) is not None:
            kw[key] = _check(path, key, data[key], key)
    nics = []
    for i, nic in enumerate(data.get("nics") or []):
        where = "nics[%d]" % i
        if not isinstance(nic, dict):
            raise InputError(path, where, nic, "a NIC is a mapping")
        name = _check(path, where + ".name", nic.get("name"), "nic_name")
        mode = nic.get("mode", "static")
        if mode not in ("static", "dhcp"):
            raise InputError(path, where + ".mode", mode, "must be static or dhcp")
        addrs = tuple(_ip(path, "%s.addresses[%d]" % (where, j), a, cidr=True)
                      for j, a in enumerate(nic.get("addresses") or []))
        if mode == "static" and not addrs:
            raise InputError(path, where + ".addresses", [], "a static NIC needs an address")
        gw = nic.get("gateway")
        if gw is not None:
            _ip(path, where + ".gateway", gw)
        dns = tuple(_ip(path, "%s.dns[%d]" % (where, j), d) for j, d in enumerate(nic.get("dns") or []))
        nics.append(NicChange(name, mode, addrs, gw, dns))
    scripts = []
    for i, sc in enumerate(data.get("boot_scripts") or []):
        where = "boot_scripts[%d]" % i
        if not isinstance(sc, dict) or not isinstance(sc.get("content"), str):
            raise InputError(path, where, sc, "a boot script has a name and a content")
        scripts.append(BootScript(_check(path, where + ".name", sc.get("name"), "script_name"), sc["content"]))
    return Profile(path=str(path), nics=tuple(nics), boot_scripts=tuple(scripts), **kw)
