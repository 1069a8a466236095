#!/usr/bin/env python3
"""dib-migrate scanner: capture a Linux root filesystem as a v1 scan report plus an overlay archive.

This one file is the whole scanner. It runs with the standard library only and keeps to
Python 3.6 syntax, because it is meant to be copied alone onto an old source server:

    python3 scanner.py -o /root/scan                 # the live system
    python3 scanner.py --root /mnt/disk -o /root/scan  # a mounted disk or an offline copy

It reads the scanned root and never writes to it; everything goes to OUTDIR.
See docs/scan.md.
"""
from __future__ import print_function

import argparse
import errno
import fnmatch
import gzip
import hashlib
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

SCANNER_VERSION = "0.1.0"
SCHEMA_VERSION = 1
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


class ScanRefused(Exception):
    """The scan cannot start (not a Linux root, unwritable output): exit code 2."""


# ---------------------------------------------------------------------------------------------
# Progress on stderr
# ---------------------------------------------------------------------------------------------

class Progress(object):
    """Phase messages and throttled counters on stderr; stdout stays free for the caller."""

    def __init__(self, stream=None, quiet=False, interval=1.0):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.last = 0.0
        self.start = time.time()

    def phase(self, text):
        if not self.quiet:
            self.stream.write("scan: %s\n" % text)
            self.stream.flush()

    def tick(self, text, force=False):
        now = time.time()
        if self.quiet or (not force and now - self.last < self.interval):
            return
        self.last = now
        self.stream.write("scan:   %s\n" % text)
        self.stream.flush()

    def warn(self, text):
        self.stream.write("scan: warning: %s\n" % text)
        self.stream.flush()


# ---------------------------------------------------------------------------------------------
# YAML output without PyYAML
# ---------------------------------------------------------------------------------------------

# A plain (unquoted) scalar is only emitted when no YAML 1.1 or 1.2 loader can read it as
# anything but this string: it starts with a letter, '_' or '/', holds no characters with
# YAML meaning, and is not one of the words YAML resolves to bools or null. Everything else
# is written as a JSON string, which is valid YAML.
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./+@~-]*$")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}


def _json_string(text):
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7f or 0x80 <= code < 0xa0 or code in (0x2028, 0x2029, 0xfeff):
            out.append("\\u%04x" % code)
        elif 0xd800 <= code < 0xe000:
            # lone surrogates from undecodable bytes: YAML cannot carry them
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def yaml_scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError("cannot write %r to the report" % (value,))
    if _PLAIN.match(value) and value.lower() not in _RESERVED:
        return value
    return _json_string(value)


def _yaml_lines(value, indent):
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            head = pad + yaml_scalar(key) + ":"
            if isinstance(item, dict) and item:
                lines.append(head)
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list) and item:
                lines.append(head)
                lines.extend(_yaml_lines(item, indent))   # block lists sit at the key's indent
            else:
                lines.append(head + " " + _yaml_inline(item))
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = _yaml_lines(item, indent + 2)
                lines.append(pad + "- " + sub[0][indent + 2:])
                lines.extend(sub[1:])
            else:
                lines.append(pad + "- " + _yaml_inline(item))
        return lines
    return [pad + yaml_scalar(value)]


def _yaml_inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def dump_yaml(data, header=None):
    """Block-style YAML for the report's shapes: dicts, lists, str, int, bool, None."""
    lines = []
    for comment in (header or "").splitlines():
        lines.append("# " + comment if comment else "#")
    lines.extend(_yaml_lines(data, 0))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The scanned root
# ---------------------------------------------------------------------------------------------

class Root(object):
    """A root filesystem seen from outside: paths inside it resolve symlinks within it.

    An absolute symlink in a mounted disk (say /etc/resolv.conf -> /run/...) points into
    that disk, not into the scanning host, so links are followed by hand.
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.live = os.path.realpath(self.path) == "/"
        self._dir_cache = {}

    def host(self, inner):
        """Host path of ``inner`` (absolute inside the root), without following links."""
        return os.path.join(self.path, inner.lstrip("/")) if inner.strip("/") else self.path

    def resolve(self, inner, depth=0):
        """Canonical in-root path of ``inner``: every symlink resolved inside the root."""
        parts = [p for p in inner.split("/") if p and p != "."]
        done = []
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join(done + [part])
            try:
                target = os.readlink(self.host(candidate))
            except OSError:
                done.append(part)
                continue
            depth += 1
            if depth > 40:
                raise OSError(errno.ELOOP, "too many symlinks", candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
        return "/" + "/".join(done)

    def canonical(self, inner):
        """Like resolve() but keeps the last component as is (a symlink stays a symlink)."""
        head, tail = os.path.split(inner)
        real = self._real_dir(head)
        return real.rstrip("/") + "/" + tail if tail else real

    def _real_dir(self, inner):
        """resolve(inner), cached, built on the parent's cached result: one readlink per
        directory instead of one per component of every package file's path."""
        real = self._dir_cache.get(inner)
        if real is not None:
            return real
        parent, name = os.path.split(inner)
        if name in ("", ".", "..") or parent == inner:
            candidate = None
        else:
            candidate = self._real_dir(parent).rstrip("/") + "/" + name
            try:
                os.readlink(self.host(candidate))
            except OSError:
                real = candidate        # not a symlink, or missing: resolve() keeps it as is
        if real is None:
            try:
                real = self.resolve(candidate or inner)
            except OSError:
                real = inner
        self._dir_cache[inner] = real
        return real

    def real(self, inner):
        return self.host(self.resolve(inner))

    def exists(self, inner):
        try:
            return os.path.exists(self.real(inner))
        except OSError:
            return False

    def isdir(self, inner):
        try:
            return os.path.isdir(self.real(inner))
        except OSError:
            return False

    def read(self, inner, limit=4 << 20):
        """Text of a file inside the root, or None when it does not exist or cannot be read."""
        try:
            with open(self.real(inner), "rb") as f:
                data = f.read(limit)
        except (OSError, IOError):
            return None
        return data.decode("utf-8", "surrogateescape")

    def listdir(self, inner):
        try:
            return sorted(os.listdir(self.real(inner)))
        except OSError:
            return []

    def readlink(self, inner):
        try:
            return os.readlink(self.host(self.canonical(inner)))
        except OSError:
            return None

    def glob(self, inner_dir, pattern):
        return ["%s/%s" % (inner_dir.rstrip("/"), n) for n in self.listdir(inner_dir)
                if fnmatch.fnmatch(n, pattern)]


def check_linux_root(root):
    """Refuse anything that is not a Linux root filesystem, with a message that says why."""
    if not os.path.isdir(root.path):
        raise ScanRefused("%s is not a directory" % root.path)
    for windows in ("Windows/System32", "WINDOWS/system32", "windows/system32"):
        if os.path.isdir(os.path.join(root.path, windows)):
            raise ScanRefused("%s is a Windows root filesystem; dib-migrate builds Linux images only"
                              % root.path)
    has_etc = root.isdir("/etc")
    has_bin = any(root.exists(p) for p in ("/bin/sh", "/usr/bin/sh", "/sbin/init",
                                           "/usr/lib/systemd/systemd"))
    if not (has_etc and has_bin and (root.exists("/etc/passwd") or root.exists("/etc/os-release"))):
        raise ScanRefused("%s is not a Linux root filesystem (no /etc/passwd or /bin/sh)" % root.path)


# ---------------------------------------------------------------------------------------------
# Small parsers
# ---------------------------------------------------------------------------------------------

def parse_shell_vars(text):
    """KEY=value lines of os-release / ifcfg / sysconfig files (quotes removed, no expansion)."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[7:].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].strip()
        out[key] = value
    return out


def parse_ini(text):
    """[section] key=value triples in file order; repeated keys are kept (systemd, NM keyfiles)."""
    section, out = None, []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            out.append((section, key.strip(), value.strip()))
    return out


# Names that end up in commands are checked against the same character sets as the report
# schema (dib_migrate/schema/report-v1.json); anything else is left out with a warning.
NAME_PATTERNS = {
    "package": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$"),
    "version": re.compile(r"^[A-Za-z0-9.+~:_-]+$"),
    "arch": re.compile(r"^[A-Za-z0-9_-]+$"),
    "service": re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,127}$"),
    "interface": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$"),
    "account": re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$"),
    "hostname": re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"),
    "fqdn": re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*\.?$"),
    "ip": re.compile(r"^[0-9A-Fa-f.:]{2,45}$"),
    "cidr": re.compile(r"^[0-9A-Fa-f.:]+/[0-9]{1,3}$"),
    "mac": re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"),
    "abspath": re.compile(r"^/[A-Za-z0-9._+@/-]*$"),
    "fstab_word": re.compile(r"^[^\s#]{1,4096}$"),
    "fstype": re.compile(r"^[a-z0-9._+-]{1,32}$"),
    "distro": re.compile(r"^[a-z][a-z0-9._-]{0,31}$"),
    "os_version": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"),
    "codename": re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,63}$"),
    "kernel": re.compile(r"^[A-Za-z0-9._+~-]+$"),
}


def valid(kind, value):
    return isinstance(value, str) and NAME_PATTERNS[kind].match(value) is not None


# ---------------------------------------------------------------------------------------------
# Host and OS
# ---------------------------------------------------------------------------------------------

DEBIAN_CODENAMES = {"4": "etch", "5": "lenny", "6": "squeeze", "7": "wheezy", "8": "jessie", "9": "stretch",
                    "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}


def family_of(distro, like=""):
    words = [distro.lower()] + like.lower().split()
    for word in words:
        if word in ("debian", "ubuntu", "raspbian", "linuxmint", "devuan"):
            return "debian"
        if word in ("rhel", "fedora", "centos", "redhat", "rocky", "almalinux", "ol", "amzn", "scientific",
                    "cloudlinux", "eurolinux", "virtuozzo"):
            return "redhat"
        if word in ("suse", "sles", "sled", "opensuse", "opensuse-leap", "opensuse-tumbleweed") \
                or word.startswith("opensuse"):
            return "suse"
    return None


def detect_os(root):
    """family, distro, version, codename: os-release first, then the older release files."""
    text = root.read("/etc/os-release") or root.read("/usr/lib/os-release")
    if text:
        v = parse_shell_vars(text)
        distro = v.get("ID", "linux").lower()
        version = v.get("VERSION_ID", "")
        codename = v.get("VERSION_CODENAME") or None
        if not codename:
            m = re.search(r"\(([^)]+)\)", v.get("VERSION", ""))
            codename = m.group(1) if m else None
        if distro == "debian" and not version:
            # testing/sid have no VERSION_ID; debian_version says e.g. "trixie/sid"
            version = (root.read("/etc/debian_version") or "").strip().split("/")[0]
        family = family_of(distro, v.get("ID_LIKE", ""))
        if family:
            return {"family": family, "distro": distro, "version": version, "codename": codename}
    text = root.read("/etc/redhat-release") or root.read("/etc/centos-release")
    if text:
        return _redhat_release(text)
    text = root.read("/etc/SuSE-release")
    if text:
        v = parse_shell_vars(text.replace(" = ", "="))
        version = v.get("VERSION", "")
        if v.get("PATCHLEVEL", "0") not in ("", "0"):
            version += "." + v["PATCHLEVEL"]
        distro = "opensuse" if "opensuse" in text.lower() else "sles"
        return {"family": "suse", "distro": distro, "version": version, "codename": None}
    text = root.read("/etc/debian_version")
    if text:
        raw = text.strip()
        lsb = parse_shell_vars(root.read("/etc/lsb-release") or "")
        if lsb.get("DISTRIB_ID", "").lower() == "ubuntu":
            return {"family": "debian", "distro": "ubuntu", "version": lsb.get("DISTRIB_RELEASE", raw),
                    "codename": lsb.get("DISTRIB_CODENAME") or None}
        major = raw.split(".")[0]
        codename = DEBIAN_CODENAMES.get(major)
        if not codename and "/" in raw:
            codename = raw.split("/")[0]
        return {"family": "debian", "distro": "debian", "version": major if major.isdigit() else raw,
                "codename": codename}
    raise ScanRefused("%s: cannot tell the distribution (no os-release, redhat-release, SuSE-release or "
                      "debian_version)" % root.path)


def _redhat_release(text):
    line = text.strip().splitlines()[0]
    m = re.match(r"^(.*?) release ([0-9][0-9.]*)\s*(?:\((.*)\))?", line)
    name = (m.group(1) if m else line).lower()
    distro = "rhel"
    for word, ident in (("centos", "centos"), ("fedora", "fedora"), ("scientific", "scientific"),
                        ("oracle", "ol"), ("rocky", "rocky"), ("alma", "almalinux"),
                        ("cloudlinux", "cloudlinux")):
        if word in name:
            distro = ident
    return {"family": "redhat", "distro": distro, "version": m.group(2) if m else "",
            "codename": (m.group(3) if m else None) or None}


ELF_MACHINES = {3: "i686", 62: "x86_64", 183: "aarch64", 40: "armv7l", 21: "ppc64le", 22: "s390x"}


def detect_arch(root):
    """The userland's architecture from the ELF header of its shell; the kernel's when live."""
    for path in ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/env", "/bin/ls"):
        try:
            with open(root.real(path), "rb") as f:
                head = f.read(20)
        except (OSError, IOError):
            continue
        if head[:4] != b"\x7fELF" or len(head) < 20:
            continue
        little = head[5] == 1
        machine = int.from_bytes(head[18:20], "little" if little else "big")
        if machine == 21 and not little:
            continue    # big-endian ppc64 is not a supported target
        if machine in ELF_MACHINES:
            return ELF_MACHINES[machine]
    return os.uname()[4] if root.live else "x86_64"


def detect_host(root):
    hostname = (root.read("/etc/hostname") or "").strip().split("\n")[0].strip()
    if not hostname:
        hostname = parse_shell_vars(root.read("/etc/sysconfig/network") or "").get("HOSTNAME", "")
    if not hostname:
        hostname = (root.read("/etc/HOSTNAME") or "").strip()
    if not hostname and root.live:
        hostname = socket.gethostname()
    fqdn = None
    if "." in hostname:
        fqdn, hostname = hostname, hostname.split(".")[0]
    else:
        for line in (root.read("/etc/hosts") or "").splitlines():
            words = line.split("#", 1)[0].split()
            if hostname and hostname in words[1:]:
                for word in words[1:]:
                    if word.startswith(hostname + "."):
                        fqdn = word
                        break
            if fqdn:
                break
    if not valid("hostname", hostname):
        hostname = "localhost"
    if fqdn is not None and not valid("fqdn", fqdn):
        fqdn = None
    return {"hostname": hostname, "fqdn": fqdn or hostname}


# ---------------------------------------------------------------------------------------------
# Platform
# ---------------------------------------------------------------------------------------------

DMI_VENDORS = (
    ("qemu", "kvm"), ("kvm", "kvm"), ("bochs", "kvm"), ("openstack", "kvm"), ("amazon ec2", "kvm"),
    ("google", "kvm"), ("red hat", "kvm"), ("nutanix", "kvm"), ("vmware", "vmware"),
    ("innotek", "virtualbox"), ("virtualbox", "virtualbox"), ("oracle corporation", "virtualbox"),
    ("microsoft corporation", "hyperv"), ("xen", "xen-hvm"),
)


def detect_virtualization(proc="/proc", sys_="/sys"):
    """Virtualization of a running system from /proc and /sys (parameters make it testable)."""
    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except (OSError, IOError, UnicodeDecodeError):
            return ""

    guest_type = read(os.path.join(sys_, "hypervisor/guest_type")).lower()
    hyp_type = read(os.path.join(sys_, "hypervisor/type")).lower()
    dmi = " ".join(read(os.path.join(sys_, "class/dmi/id", f)) for f in
                   ("sys_vendor", "product_name", "bios_vendor", "board_vendor", "chassis_vendor")).lower()
    xen = hyp_type == "xen" or os.path.exists(os.path.join(proc, "xen"))
    if xen:
        if guest_type == "pv":
            return "xen-pv"
        if guest_type in ("hvm", "pvh"):
            return "xen-hvm"
        if not dmi.strip():
            return "xen-pv"    # PV guests have no emulated BIOS, hence no DMI
        if "hvm" in dmi or "xen" in dmi:
            return "xen-hvm"
    if "hyper-v" in dmi or ("microsoft" in dmi and "virtual" in dmi):
        return "hyperv"
    for needle, kind in DMI_VENDORS:
        if needle in dmi:
            if kind == "hyperv" and "virtual" not in dmi:
                continue
            if kind == "virtualbox" and needle == "oracle corporation" and "virtualbox" not in dmi:
                continue
            return kind
    flags = ""
    for line in read(os.path.join(proc, "cpuinfo")).splitlines():
        if line.startswith("flags"):
            flags = line
            break
    if " hypervisor" in flags:
        return "unknown"
    if dmi.strip() or flags:
        return "bare-metal"
    return "unknown"


def detect_firmware(root, packages):
    if root.live:
        return "uefi" if os.path.isdir("/sys/firmware/efi") else "bios"
    names = set(p["name"] for p in packages)
    if any(n.startswith(("grub-efi", "grub2-efi", "shim")) for n in names):
        return "uefi"
    for efi in ("/boot/efi/EFI", "/efi/EFI", "/boot/EFI"):
        if root.listdir(efi):
            return "uefi"
    return "bios"


def detect_init_system(root, names):
    init = root.readlink("/sbin/init") or root.readlink("/usr/sbin/init") or ""
    try:
        resolved = root.resolve("/sbin/init")
    except OSError:
        resolved = init
    if "systemd" in init or "systemd" in resolved:
        return "systemd"
    if "upstart" in names or (root.exists("/sbin/initctl") and root.glob("/etc/init", "*.conf")
                              and not root.exists("/etc/inittab")):
        return "upstart"
    if not root.exists("/sbin/init") and ("systemd" in names or root.exists("/lib/systemd/systemd")):
        return "systemd"
    return "sysv"


KERNEL_PACKAGE = re.compile(r"^(linux-image-.+|kernel|kernel-(xen|PAE|pae|core|default|uek|ml|lt|smp|"
                            r"hugemem|rt|xenU|bigsmp|desktop|preempt|ec2|azure|64k)|pve-kernel-.+|"
                            r"proxmox-kernel-.+)$")


def kernel_packages(packages):
    return sorted(set(p["name"] for p in packages if KERNEL_PACKAGE.match(p["name"])
                      and not p["name"].startswith("linux-image-dbg")))


def running_kernel(root):
    if root.live:
        return os.uname()[2]
    # an offline root boots its newest installed kernel
    versions = [v for v in root.listdir("/lib/modules") if valid("kernel", v)]
    versions.sort(key=_version_key)
    return versions[-1] if versions else None


def _version_key(text):
    return [int(p) if p.isdigit() else -1 for p in re.split(r"[^0-9]+", text) if p]


def detect_bootloader(root, names):
    if names & {"grub-pc", "grub2", "grub2-pc", "grub2-common", "grub-common", "grub2-tools",
                "grub-efi-amd64", "grub-efi-arm64", "grub2-efi-x64", "grub2-efi"}:
        return "grub2"
    if "grub-legacy" in names or "grub" in names:
        return "grub-legacy"
    if root.exists("/boot/grub/grub.cfg") or root.exists("/boot/grub2/grub.cfg"):
        return "grub2"
    if root.exists("/boot/grub/menu.lst") or root.exists("/boot/grub/grub.conf"):
        return "grub-legacy"
    return "none"


# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------

def run(argv, env=None):
    """Output of a read-only query command, or None when it cannot run."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError:
        return None
    out, err = proc.communicate()
    if proc.returncode not in (0, 1):   # rpm -V exits 1 when something differs
        return None
    return out.decode("utf-8", "surrogateescape")


def package_format(root):
    if root.exists("/var/lib/dpkg/status"):
        return "dpkg"
    if root.isdir("/var/lib/rpm") or root.isdir("/usr/lib/sysimage/rpm"):
        return "rpm"
    return None


def parse_dpkg_status(text):
    """Records of /var/lib/dpkg/status as dicts; 'Conffiles' becomes a list of (path, md5)."""
    records, rec, key = [], {}, None
    for line in (text or "").split("\n"):
        if not line.strip():
            if rec:
                records.append(rec)
            rec, key = {}, None
            continue
        if line[0] in " \t":
            if key == "Conffiles":
                rec.setdefault("Conffiles", []).append(_conffile_line(line))
            elif key:
                rec[key] += "\n" + line
            continue
        key, _, value = line.partition(":")
        rec[key] = value.strip()
        if key == "Conffiles":
            rec["Conffiles"] = []
    if rec:
        records.append(rec)
    for rec in records:
        rec["Conffiles"] = [c for c in rec.get("Conffiles", []) if c]
    return records


def _conffile_line(line):
    words = line.strip().split(" ")
    while len(words) > 2 and words[-1] in ("obsolete", "remove-on-upgrade"):
        words.pop()
    if len(words) < 2:
        return None
    return (" ".join(words[:-1]), words[-1])


def dpkg_installed(record):
    return record.get("Status", "").split(" ")[-1:] in (["installed"],)


def parse_dpkg_query(text):
    """``${Package}\\t${Version}\\t${Architecture}\\t${Status}`` lines -> installed packages."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or fields[3].split(" ")[-1] != "installed":
            continue
        out.append({"name": fields[0], "version": fields[1], "arch": fields[2]})
    return out


def dpkg_packages(root, status_records):
    admindir = root.real("/var/lib/dpkg")
    text = run(["dpkg-query", "--admindir", admindir, "-W",
                "-f", "${Package}\\t${Version}\\t${Architecture}\\t${Status}\\n"])
    if text is not None:
        return parse_dpkg_query(text)
    # no dpkg-query on this host (an rpm machine scanning a Debian disk): read the database itself
    return [{"name": r.get("Package", ""), "version": r.get("Version", ""), "arch": r.get("Architecture", "")}
            for r in status_records if dpkg_installed(r)]


RPM_QUERY_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"


def rpm_command(root, *args):
    argv = ["rpm"]
    if not root.live:
        argv += ["--root", root.path]
    # the database where the scanned distribution keeps it, not where this host's rpm would
    # look by default (Debian's rpm uses ~/.rpmdb)
    for dbpath in ("/var/lib/rpm", "/usr/lib/sysimage/rpm"):
        if root.isdir(dbpath) and root.listdir(dbpath):
            argv += ["--dbpath", root.resolve(dbpath)]
            break
    return argv + list(args)


def parse_rpm_qa(text):
    """``rpm -qa --qf RPM_QUERY_FORMAT`` output -> packages (gpg-pubkey pseudo packages dropped)."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split("\t")
        if len(fields) != 5 or fields[0] == "gpg-pubkey":
            continue
        name, epoch, version, release, arch = fields
        full = "%s-%s" % (version, release)
        if epoch not in ("(none)", "", "0"):
            full = "%s:%s" % (epoch, full)
        out.append({"name": name, "version": full, "arch": arch if arch != "(none)" else "noarch"})
    return out


def parse_rpm_files(text):
    """``[%{FILENAMES}\\t%{FILEFLAGS:fflags}\\n]`` -> owned paths; %ghost files are not owned content."""
    owned = set()
    for line in (text or "").splitlines():
        path, _, flags = line.partition("\t")
        if path.startswith("/") and "g" not in flags:
            owned.add(path)
    return owned


# rpm -V columns: S size, M mode, 5 digest, D device, L link, U user, G group, T mtime, P caps.
# Content, link target, mode and ownership changes are kept; an mtime alone is not a change.
RPM_VERIFY = re.compile(r"^(missing|[.SM5DLUGTP?]{8,9})\s+([cdglr ])\s(/.*)$")


def parse_rpm_verify(text):
    """``rpm -Va`` output -> {path: flags} of files that differ from their package."""
    changed = {}
    for line in (text or "").splitlines():
        m = RPM_VERIFY.match(line)
        if not m:
            continue
        flags, kind, path = m.groups()
        if flags == "missing" or kind == "g":
            continue
        if set(flags) & set("SM5LUG?"):
            changed[path] = flags
    return changed


def sort_packages(packages):
    seen, out = set(), []
    for p in sorted(packages, key=lambda p: (p["name"], p["arch"])):
        key = (p["name"], p["arch"])
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------

SYSTEMD_VENDOR_DIRS = ("/usr/lib/systemd/system", "/lib/systemd/system")
SYSTEMD_ADMIN_DIR = "/etc/systemd/system"


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
            if not name.endswith(".service") or name.endswith("@.service") or "@" in name:
                continue
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
    enabled = set()
    for d in root.listdir(SYSTEMD_ADMIN_DIR):
        if d.endswith((".wants", ".requires")) and root.isdir(SYSTEMD_ADMIN_DIR + "/" + d):
            for link in root.listdir("%s/%s" % (SYSTEMD_ADMIN_DIR, d)):
                target = root.readlink("%s/%s/%s" % (SYSTEMD_ADMIN_DIR, d, link)) or link
                enabled.add(link)
                enabled.add(os.path.basename(target))
    out = []
    for name in sorted(units):
        inner, masked = units[name]
        if name in aliases and not masked:
            continue
        if masked:
            state = "masked"
        elif name in enabled:
            state = "enabled"
        elif _has_install_section(root.read(inner) or ""):
            state = "disabled"
        else:
            continue      # static units cannot be enabled or disabled
        out.append({"name": name[:-len(".service")], "state": state})
    known = set(s["name"] for s in out) | set(n[:-8] for n in units) | set(n[:-8] for n in aliases)
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


def detect_services(root, init_system, family):
    if init_system == "systemd":
        services = systemd_services(root)
    elif init_system == "upstart":
        services = upstart_services(root, default_runlevel(root, family))
    else:
        services = sysv_services(root, default_runlevel(root, family))
    return [s for s in services if valid("service", s["name"])]


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

def mask_to_prefix(mask):
    if mask.isdigit():
        return int(mask)
    try:
        bits = "".join("{0:08b}".format(int(p)) for p in mask.split("."))
    except ValueError:
        return None
    return bits.count("1")


def cidr(address, netmask=None):
    if "/" in address:
        return address
    prefix = mask_to_prefix(netmask) if netmask else (128 if ":" in address else 32)
    return "%s/%s" % (address, prefix) if prefix is not None else None


def new_interface(name, config_file):
    return {"name": name, "mac": None, "mode": None, "addresses": [], "gateway": None, "dns": [],
            "config_file": config_file}


def ifupdown_files(root):
    """/etc/network/interfaces and the files its source / source-directory lines pull in, in order."""
    out, queue, seen = [], ["/etc/network/interfaces"], set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        text = root.read(path)
        if text is None:
            continue
        out.append((path, text))
        for line in text.splitlines():
            words = line.split()
            if len(words) == 2 and words[0] in ("source", "source-directory"):
                target = words[1] if words[1].startswith("/") else "/etc/network/" + words[1]
                if words[0] == "source-directory" or root.isdir(target):
                    queue.extend(p for p in root.glob(target, "*") if re.match(r"^[A-Za-z0-9_-]+$",
                                                                               os.path.basename(p)))
                else:
                    d, pattern = os.path.split(target)
                    queue.extend(root.glob(d, pattern))
    return out


def parse_ifupdown(files):
    ifaces, order = {}, []
    for path, text in files:
        current, family = None, None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if words[0] == "iface" and len(words) >= 4:
                name, family, method = words[1], words[2], words[3]
                if name == "lo" or method in ("loopback",):
                    current = None
                    continue
                current = ifaces.get(name)
                if current is None:
                    current = ifaces[name] = new_interface(name, path)
                    order.append(name)
                if method == "static":
                    current["mode"] = "static"
                elif method in ("dhcp", "auto") and current["mode"] != "static":
                    if family == "inet" or current["mode"] is None:
                        current["mode"] = "dhcp"
                current["_netmask"] = None
                continue
            if words[0] in ("auto", "allow-hotplug", "mapping", "source", "source-directory") \
                    or words[0].startswith("allow-"):
                current = None if words[0] == "mapping" else current
                continue
            if current is None or len(words) < 2:
                continue
            key, value = words[0], words[1]
            if key == "address":
                current["addresses"].append(value)
            elif key == "netmask" and current["addresses"]:
                fixed = cidr(current["addresses"][-1], value)
                if fixed:
                    current["addresses"][-1] = fixed
            elif key == "gateway" and (current["gateway"] is None or family == "inet"):
                current["gateway"] = value
            elif key == "dns-nameservers":
                current["dns"].extend(words[1:])
            elif key == "hwaddress":
                current["mac"] = words[-1]
    out = []
    for name in order:
        iface = ifaces[name]
        iface.pop("_netmask", None)
        iface["addresses"] = [cidr(a) for a in iface["addresses"] if cidr(a)]
        out.append(iface)
    return out


def parse_ifcfg(path, text, global_vars=None):
    """One ifcfg-* file (network-scripts or wicked) -> interface or None."""
    v = parse_shell_vars(text)
    name = v.get("DEVICE") or v.get("NAME") or os.path.basename(path)[len("ifcfg-"):]
    if name == "lo" or not name:
        return None
    iface = new_interface(name, path)
    iface["mac"] = v.get("HWADDR") or v.get("MACADDR") or v.get("LLADDR") or None
    proto = v.get("BOOTPROTO", "none").lower()
    keys = sorted(k for k in v if re.match(r"^IPADDR[0-9]*(_[A-Za-z0-9]+)?$", k))
    for key in keys:
        suffix = key[len("IPADDR"):]
        mask = v.get("PREFIX" + suffix) or v.get("NETMASK" + suffix)
        if not mask and not suffix:
            mask = v.get("PREFIX0") or v.get("NETMASK0")
        addr = cidr(v[key], mask)
        if addr:
            iface["addresses"].append(addr)
    for addr in (v.get("IPV6ADDR", "") + " " + v.get("IPV6ADDR_SECONDARIES", "")).split():
        iface["addresses"].append(cidr(addr))
    if proto in ("dhcp", "bootp", "dhcp4", "dhcp6"):
        iface["mode"] = "dhcp"
    elif iface["addresses"]:
        iface["mode"] = "static"
    iface["gateway"] = v.get("GATEWAY") or (global_vars or {}).get("GATEWAY") or None
    iface["dns"] = [v[k] for k in ("DNS1", "DNS2", "DNS3") if v.get(k)]
    return iface


def network_scripts_interfaces(root):
    glob_vars = parse_shell_vars(root.read("/etc/sysconfig/network") or "")
    out = []
    for d in ("/etc/sysconfig/network-scripts", "/etc/sysconfig/network"):
        for path in root.glob(d, "ifcfg-*"):
            if re.search(r"(\.bak|\.orig|\.rpmnew|\.rpmsave|~|\.old)$", path):
                continue
            iface = parse_ifcfg(path, root.read(path) or "", glob_vars)
            if iface:
                out.append(iface)
    routes = root.read("/etc/sysconfig/network/routes") or ""
    for line in routes.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "default":
            for iface in out:
                if iface["mode"] == "static" and not iface["gateway"]:
                    iface["gateway"] = words[1]
    return out


def nm_keyfile_interfaces(root):
    out = []
    for path in root.glob("/etc/NetworkManager/system-connections", "*"):
        triples = parse_ini(root.read(path) or "")
        get = {}
        for sect, key, value in triples:
            get.setdefault((sect, key), value)
        kind = get.get(("connection", "type"), "")
        if kind not in ("ethernet", "802-3-ethernet", "bond", "bridge", "vlan"):
            continue
        name = get.get(("connection", "interface-name")) or get.get(("connection", "id"), "")
        iface = new_interface(name, path)
        iface["mac"] = get.get(("ethernet", "mac-address")) or get.get(("802-3-ethernet", "mac-address"))
        for family in ("ipv4", "ipv6"):
            method = get.get((family, "method"), "")
            for sect, key, value in triples:
                if sect == family and re.match(r"^address(es)?[0-9]*$", key):
                    for item in value.split(";"):
                        parts = item.split(",")
                        if parts[0].strip():
                            iface["addresses"].append(cidr(parts[0].strip()))
                        if len(parts) > 1 and parts[1].strip() and not iface["gateway"]:
                            iface["gateway"] = parts[1].strip()
            if get.get((family, "gateway")) and not iface["gateway"]:
                iface["gateway"] = get[(family, "gateway")]
            iface["dns"].extend(d for d in get.get((family, "dns"), "").split(";") if d)
            if method == "manual" and iface["addresses"]:
                iface["mode"] = "static"
            elif method in ("auto", "dhcp") and iface["mode"] is None and family == "ipv4":
                iface["mode"] = "dhcp"
        out.append(iface)
    return out


def networkd_interfaces(root):
    out = []
    # only the admin's files: the vendor ones under /usr/lib (container host0, ...) are defaults
    for d in ("/etc/systemd/network",):
        for path in root.glob(d, "*.network"):
            triples = parse_ini(root.read(path) or "")
            names = [w for s, k, v in triples if s == "Match" and k == "Name" for w in v.split()]
            if len(names) != 1 or any(c in names[0] for c in "*?["):
                continue    # a pattern matches many links; no single interface to describe
            iface = new_interface(names[0], path)
            for sect, key, value in triples:
                if sect == "Match" and key in ("MACAddress", "PermanentMACAddress") and value:
                    iface["mac"] = value.split()[0]
                elif sect in ("Network", "Address") and key == "Address":
                    iface["addresses"].append(cidr(value))
                elif sect in ("Network", "Route") and key == "Gateway" and not iface["gateway"]:
                    iface["gateway"] = value
                elif sect == "Network" and key == "DNS":
                    iface["dns"].extend(value.split())
                elif sect == "Network" and key == "DHCP" and value in ("yes", "ipv4", "both", "true"):
                    iface["mode"] = "dhcp"
            if iface["addresses"] and iface["mode"] is None:
                iface["mode"] = "static"
            out.append(iface)
    return out


class SimpleYAMLError(ValueError):
    pass


def parse_simple_yaml(text):
    """The block-style YAML subset netplan files use: mappings, lists, [a, b] and scalars.

    Anything beyond it (anchors, multi-line strings, flow mappings) raises SimpleYAMLError so
    the caller can say the file was not understood instead of guessing.
    """
    lines = []
    for raw in text.splitlines():
        stripped = _strip_comment(raw).rstrip()
        if not stripped.strip() or stripped.strip() in ("---", "..."):
            continue
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise SimpleYAMLError("tab indentation")
        lines.append((len(stripped) - len(stripped.lstrip()), stripped.strip()))
    value, pos = _yaml_block(lines, 0, lines[0][0] if lines else 0)
    if pos != len(lines):
        raise SimpleYAMLError("unexpected indentation near %r" % lines[pos][1])
    return value


def _strip_comment(line):
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _is_item(text):
    return text.startswith("- ") or text == "-"


def _yaml_block(lines, pos, indent):
    if pos >= len(lines):
        return None, pos
    if _is_item(lines[pos][1]):
        out = []
        while pos < len(lines) and lines[pos][0] == indent and _is_item(lines[pos][1]):
            rest = lines[pos][1][2:].strip()
            if not rest:
                item, pos = _yaml_block(lines, pos + 1, lines[pos + 1][0] if pos + 1 < len(lines) else indent)
            elif re.match(r"^[^'\"\[{][^:]*:(\s|$)", rest):
                # "- key: value" starts a mapping whose other keys sit two columns further in
                lines[pos] = (indent + 2, rest)
                item, pos = _yaml_block(lines, pos, indent + 2)
            else:
                item, pos = _yaml_value(rest), pos + 1
            out.append(item)
        return out, pos
    out = {}
    while pos < len(lines) and lines[pos][0] == indent:
        text = lines[pos][1]
        m = re.match(r"^([^'\"\[{:][^:]*|\"[^\"]*\"|'[^']*'):(\s+(.*))?$", text)
        if not m:
            raise SimpleYAMLError("not a mapping line: %r" % text)
        key, rest = _yaml_value(m.group(1)), (m.group(3) or "").strip()
        pos += 1
        if rest:
            out[key] = _yaml_value(rest)
        elif pos < len(lines) and lines[pos][0] > indent:
            out[key], pos = _yaml_block(lines, pos, lines[pos][0])
        elif pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("-"):
            out[key], pos = _yaml_block(lines, pos, indent)
        else:
            out[key] = None
    return out, pos


def _yaml_value(text):
    text = text.strip()
    if text.startswith(("&", "*", "!", "|", ">", "{")):
        raise SimpleYAMLError("unsupported YAML: %r" % text)
    if text.startswith("["):
        if not text.endswith("]"):
            raise SimpleYAMLError("unterminated list: %r" % text)
        inner = text[1:-1].strip()
        return [_yaml_value(p) for p in _split_flow(inner)] if inner else []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("null", "~"):
        return None
    if re.match(r"^-?[0-9]+$", text):
        return int(text)
    return text


def _split_flow(text):
    parts, quote, cur = [], None, ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def netplan_interfaces(root, progress):
    out = []
    for path in root.glob("/etc/netplan", "*.yaml"):
        try:
            doc = parse_simple_yaml(root.read(path) or "") or {}
            network = doc.get("network") or {}
        except (SimpleYAMLError, AttributeError, IndexError) as e:
            progress.warn("%s: not understood, its interfaces are left out (%s)" % (path, e))
            continue
        for kind in ("ethernets", "bonds", "bridges", "vlans"):
            for name, conf in sorted((network.get(kind) or {}).items()):
                conf = conf if isinstance(conf, dict) else {}
                name = conf.get("set-name") or name
                iface = new_interface(str(name), path)
                match = conf.get("match") if isinstance(conf.get("match"), dict) else {}
                iface["mac"] = match.get("macaddress") or conf.get("macaddress")
                iface["addresses"] = [cidr(a) for a in (conf.get("addresses") or []) if isinstance(a, str)]
                iface["gateway"] = conf.get("gateway4") or conf.get("gateway6")
                for route in conf.get("routes") or []:
                    if isinstance(route, dict) and route.get("to") in ("default", "0.0.0.0/0") \
                            and not iface["gateway"]:
                        iface["gateway"] = route.get("via")
                ns = conf.get("nameservers") if isinstance(conf.get("nameservers"), dict) else {}
                iface["dns"] = [str(a) for a in (ns.get("addresses") or [])]
                if conf.get("dhcp4") is True or (conf.get("dhcp6") is True and not iface["addresses"]):
                    iface["mode"] = "dhcp"
                elif iface["addresses"]:
                    iface["mode"] = "static"
                out.append(iface)
    return out


def udev_macs(root):
    """NAME -> MAC from persistent-net udev rules, the only record of a MAC on an offline disk."""
    macs = {}
    for path in root.glob("/etc/udev/rules.d", "*net*.rules"):
        for line in (root.read(path) or "").splitlines():
            mac = re.search(r'ATTR\{address\}=="([0-9A-Fa-f:]{17})"', line)
            name = re.search(r'NAME="([^"]+)"', line)
            if mac and name and not line.lstrip().startswith("#"):
                macs[name.group(1)] = mac.group(1).lower()
    return macs


def resolv_nameservers(root):
    out = []
    for line in (root.read("/etc/resolv.conf") or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and not words[1].startswith("127."):
            out.append(words[1])
    return out


def detect_network(root, names, services, progress):
    enabled = set(s["name"] for s in services if s["state"] == "enabled")
    sources = {
        "netplan": lambda: netplan_interfaces(root, progress),
        "NetworkManager": lambda: nm_keyfile_interfaces(root),
        "systemd-networkd": lambda: networkd_interfaces(root),
        "wicked": lambda: network_scripts_interfaces(root),
        "ifupdown": lambda: parse_ifupdown(ifupdown_files(root)),
        "network-scripts": lambda: network_scripts_interfaces(root),
    }
    if root.glob("/etc/netplan", "*.yaml") and ("netplan.io" in names or "netplan" in names):
        manager = "netplan"
    elif "NetworkManager" in enabled and ({"network-manager", "NetworkManager"} & names):
        manager = "NetworkManager"
    elif "systemd-networkd" in enabled and root.glob("/etc/systemd/network", "*.network"):
        manager = "systemd-networkd"
    elif "wicked" in names or "wicked" in enabled:
        manager = "wicked"
    elif root.exists("/etc/network/interfaces") and ("ifupdown" in names or "ifupdown2" in names
                                                     or not root.isdir("/etc/sysconfig/network-scripts")):
        manager = "ifupdown"
    elif root.isdir("/etc/sysconfig/network-scripts"):
        manager = "network-scripts"
    else:
        manager = "ifupdown" if "ifupdown" in names else "systemd-networkd"
    order = [manager] + [m for m in ("network-scripts", "NetworkManager", "netplan", "systemd-networkd",
                                     "ifupdown") if m != manager]
    if manager == "NetworkManager":
        order.insert(1, "network-scripts")   # NetworkManager's ifcfg-rh plugin reads those files
    interfaces, seen = [], set()
    for source in order:
        if source != manager and interfaces and source not in ("network-scripts",):
            continue
        for iface in sources[source]():
            base = iface["name"].split(":")[0]
            if ":" in iface["name"] and base in seen:
                # ifupdown/ifcfg alias (eth0:1): one more address of the real interface
                for known in interfaces:
                    if known["name"] == base:
                        known["addresses"].extend(a for a in iface["addresses"]
                                                  if a not in known["addresses"])
                continue
            if iface["name"] in seen or iface["mode"] is None:
                continue
            seen.add(iface["name"])
            interfaces.append(iface)
    macs = udev_macs(root)
    fallback_dns = resolv_nameservers(root)
    out = []
    for iface in interfaces:
        if iface["mac"] is None:
            iface["mac"] = live_mac(iface["name"]) if root.live else macs.get(iface["name"])
        if iface["mode"] == "static" and not iface["dns"]:
            iface["dns"] = list(fallback_dns)   # static configs often leave DNS to resolv.conf
        cleaned = clean_interface(iface)
        if cleaned is None:
            progress.warn("interface %r left out: its name or addresses are not valid" % iface["name"])
        else:
            out.append(cleaned)
    return {"manager": manager, "interfaces": out, "hosts": root.read("/etc/hosts")}


def live_mac(name):
    try:
        with open("/sys/class/net/%s/address" % name) as f:
            return f.read().strip()
    except (OSError, IOError):
        return None


def clean_interface(iface):
    if not valid("interface", iface["name"]):
        return None
    mac = (iface["mac"] or "").lower() or None
    addresses = [a for a in iface["addresses"] if valid("cidr", a or "")]
    if iface["mode"] == "static" and not addresses:
        return None
    path = iface["config_file"]
    return {
        "name": iface["name"],
        "mac": mac if valid("mac", mac or "") else None,
        "mode": iface["mode"],
        "addresses": addresses,
        "gateway": iface["gateway"] if valid("ip", iface["gateway"] or "") else None,
        "dns": [d for d in iface["dns"] if valid("ip", d)],
        "config_file": path if valid("abspath", path or "") else None,
    }


# ---------------------------------------------------------------------------------------------
# fstab, clock, firewall, SELinux, accounts
# ---------------------------------------------------------------------------------------------

def parse_fstab(text, progress=None):
    out = []
    for line in (text or "").splitlines():
        words = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not words:
            continue
        if len(words) < 3:
            if progress:
                progress.warn("fstab line skipped: %r" % line)
            continue
        entry = {"spec": words[0], "mountpoint": words[1], "fstype": words[2],
                 "options": words[3] if len(words) > 3 else "defaults",
                 "dump": int(words[4]) if len(words) > 4 and words[4].isdigit() else 0,
                 "pass": int(words[5]) if len(words) > 5 and words[5].isdigit() else 0}
        if not valid("fstype", entry["fstype"]):
            if progress:
                progress.warn("fstab line skipped (file system type): %r" % line)
            continue
        out.append(entry)
    return out


def detect_firewall(root, names, services):
    state = dict((s["name"], s["state"]) for s in services)

    def on(*svcs):
        return any(state.get(s) == "enabled" for s in svcs)

    candidates = []
    if "firewalld" in names:
        candidates.append(("firewalld", on("firewalld")))
    if "ufw" in names:
        conf = parse_shell_vars(root.read("/etc/ufw/ufw.conf") or "")
        candidates.append(("ufw", conf.get("ENABLED", "no").lower() == "yes" and on("ufw")))
    if "nftables" in names:
        rules = root.read("/etc/nftables.conf") or ""
        has_rules = any(line.strip().startswith(("table", "add rule", "add table"))
                        for line in rules.splitlines())
        candidates.append(("nftables", on("nftables") and has_rules))
    rule_files = ("/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/etc/sysconfig/iptables",
                  "/etc/sysconfig/ip6tables")
    iptables_rules = any(_has_rules(root.read(p)) for p in rule_files)
    if iptables_rules or names & {"iptables", "iptables-services", "iptables-persistent",
                                  "netfilter-persistent"}:
        candidates.append(("iptables", iptables_rules and on("netfilter-persistent", "iptables", "ip6tables",
                                                             "iptables-persistent")))
    for tool, active in candidates:
        if active:
            return {"active": True, "tool": tool}
    return {"active": False, "tool": candidates[0][0] if candidates else "none"}


def _has_rules(text):
    """An iptables-save file that sets something (an empty file, as the package leaves it, does not)."""
    return any(line.strip() and not line.startswith("#") for line in (text or "").splitlines())


def detect_selinux(root):
    text = root.read("/etc/selinux/config")
    if text is None:
        return "absent"
    mode = parse_shell_vars(text).get("SELINUX", "disabled").lower()
    return mode if mode in ("enforcing", "permissive", "disabled") else "disabled"


def etc_symlinks(root):
    """Every symlink under /etc, by name.

    A changed-files overlay cannot say that the source *removed* something; the links
    packages create in their install scripts (a web server's default site, say) come back
    in a rebuild, and the list lets the image drop those the source did not have.
    """
    top = root.host("/etc")
    out = []
    for dirpath, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                inner = "/etc/" + os.path.relpath(path, top)
                if "\n" not in inner:
                    out.append(inner)
    return sorted(out)


def parse_accounts(passwd_text, group_text, progress=None):
    users, groups = [], []
    for line in (passwd_text or "").splitlines():
        f = line.split(":")
        if len(f) < 4 or not f[2].isdigit() or not f[3].isdigit():
            continue      # NIS '+' lines and junk
        if valid("account", f[0]):
            users.append({"name": f[0], "uid": int(f[2]), "gid": int(f[3])})
        elif progress:
            progress.warn("user %r left out: not a valid account name" % f[0])
    for line in (group_text or "").splitlines():
        f = line.split(":")
        if len(f) < 3 or not f[2].isdigit():
            continue
        if valid("account", f[0]):
            groups.append({"name": f[0], "gid": int(f[2])})
        elif progress:
            progress.warn("group %r left out: not a valid group name" % f[0])
    return users, groups


# ---------------------------------------------------------------------------------------------
# Package file verification (what differs from the packages)
# ---------------------------------------------------------------------------------------------

class PackageFiles(object):
    """Which paths packages own, and which of those differ from the package.

    Paths are canonical in-root paths (directory symlinks such as /bin -> usr/bin
    resolved), so they compare with what a walk of the physical tree finds.
    """

    def __init__(self, method=None):
        self.owned = set()
        self.changed = set()
        self.method = method         # "ctime", "thorough" or "rpm -Va" (the report's scanner.verify)
        self.verified_files = 0      # package files checked, hashed or not
        self.hashed_files = 0
        self.hashed_bytes = 0
        self.skipped_files = 0       # unchanged since their package was installed (ctime)
        self._finish = None

    def wait(self):
        """Block until the verification running in the background is complete."""
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        return self


def unchanged_since_install(path, installed_ns):
    """True when the host ``path`` is a regular file whose ctime is older than
    ``installed_ns`` (see install_times()): dpkg wrote it before it recorded its package as
    installed, and nothing has written, chmod'ed, chown'ed, renamed or linked it since (each
    of those sets ctime to the current time, and no system call sets it back)."""
    if installed_ns is None:
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    # strictly older: a write in the same clock tick as dpkg's own is hashed
    return stat.S_ISREG(st.st_mode) and st.st_ctime_ns < installed_ns


def md5_matches(job):
    """(host path, expected md5) -> (matches?, bytes read); unreadable files count as differing."""
    return _md5_compare(job[0], job[1])


def _md5_compare(path, expected):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOATIME", 0))
    except OSError as e:
        if e.errno == errno.EPERM:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                return (None, 0)
        elif e.errno == errno.ELOOP:
            return (False, 0)       # the admin replaced the file with a symlink: archive the link
        else:
            return (None, 0)        # deleted by the admin: nothing to archive
    digest = hashlib.md5()
    size = 0
    # one reusable buffer per thread: a fresh 1 MiB bytes object per read costs more than
    # hashing the typical small package file
    buf = getattr(_buffers, "buf", None)
    if buf is None:
        buf = _buffers.buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            n = os.readv(fd, [buf])
            if not n:
                break
            size += n
            digest.update(view[:n])
    except OSError:
        return (False, size)
    finally:
        view.release()
        os.close(fd)
    return (digest.hexdigest() == expected, size)


_buffers = threading.local()


def dpkg_diversions(root):
    """path -> (diverted-to path, diverting package) from /var/lib/dpkg/diversions."""
    lines = (root.read("/var/lib/dpkg/diversions") or "").split("\n")
    out = {}
    for i in range(0, len(lines) - 2, 3):
        out[lines[i]] = (lines[i + 1], lines[i + 2])
    return out


def _read_info(info_dir, name):
    """Text of a file in dpkg's info directory (host path), '' when missing; a symlink there
    is not dpkg's and is not followed (it could point out of the scanned root)."""
    try:
        fd = os.open(os.path.join(info_dir, name), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        return f.read().decode("utf-8", "surrogateescape")


def install_times(root, entries):
    """{package entry of info/ (name or name:arch): install time in ns, or None when unknown}.

    dpkg unpacks a package in this order (src/main/unpack.c): every file is written as
    <path>.dpkg-new and renamed into place, then info/<pkg>.list is written, then the control
    files, md5sums among them, are renamed into info/. So every file of that unpack has a
    ctime no later than both the .list's mtime and the .md5sums' ctime. The smaller of the two
    is taken: dpkg rewrites another package's .list when it takes over one of its files, and
    `debsums --generate=keep` writes a .md5sums long after the install, and either would
    otherwise move the install time later and hide an earlier edit. The .md5sums' mtime is
    the package's build time (dpkg keeps it from the .deb), so it is not used. Conffiles
    are not covered: dpkg moves them into place when it configures the package, after all
    this, and keeps an admin's version across upgrades, so they are always hashed.
    """
    info = root.real("/var/lib/dpkg/info")
    out = {}
    for entry in entries:
        try:
            listed = os.lstat(os.path.join(info, entry + ".list")).st_mtime_ns
            sums = os.lstat(os.path.join(info, entry + ".md5sums")).st_ctime_ns
        except OSError:
            out[entry] = None
            continue
        out[entry] = min(listed, sums)
    return out


def dpkg_package_files(root, status_records, progress, threads, thorough=False):
    result = PackageFiles("thorough" if thorough else "ctime")
    info = "/var/lib/dpkg/info"
    installed = set()
    conffiles = {}
    for rec in status_records:
        if not dpkg_installed(rec):
            continue
        name = rec.get("Package", "")
        installed.add(name)
        installed.add("%s:%s" % (name, rec.get("Architecture", "")))
        for path, md5 in rec.get("Conffiles", []):
            conffiles[path] = (md5, name)
    diversions = dpkg_diversions(root)
    jobs = {}
    listing = root.listdir(info)
    info_dir = root.real(info)
    sums_entries = [e[:-8] for e in listing if e.endswith(".md5sums") and e[:-8] in installed]
    installed_at = {} if thorough else install_times(root, sums_entries)
    now_ns = int(time.time() * 1e9)
    future = [e for e, t in installed_at.items() if t is not None and t > now_ns]
    if future:
        # the clock has gone back since those installs: a later edit may carry an older ctime
        progress.warn("%d packages were installed after this scan's clock time (%s, ...); hashing every "
                      "package file" % (len(future), sorted(future)[0]))
        installed_at = {}
        result.method = "thorough"
    for entry in sums_entries:
        package = entry.split(":")[0]
        when = installed_at.get(entry)
        for line in _read_info(info_dir, entry + ".md5sums").splitlines():
            if len(line) < 35:
                continue
            md5, path = line[:32], "/" + line[34:]
            diverted = diversions.get(path)
            if diverted and diverted[1] != package:
                path = diverted[0]    # another package moved this one aside
            path = root.canonical(path)
            if path in jobs:
                # a file in two packages (Multi-Arch: same): the earlier install time is the safe one
                earlier = jobs[path][1]
                when_here = None if (earlier is None or when is None) else min(earlier, when)
            else:
                when_here = when
            jobs[path] = (md5, when_here)
    for path, (md5, package) in conffiles.items():
        if md5 in ("newconffile", ""):
            continue
        jobs[root.canonical(path)] = (md5, None)    # always hashed, see install_times()
    progress.phase("verifying %d package files against dpkg md5sums (%s, in the background)"
                   % (len(jobs), "every file hashed" if result.method == "thorough"
                      else "files unchanged since their install skipped"))
    result._finish = _start_verify(root, jobs, result, progress, threads)
    # ownership is only needed once the walk starts: read it while the threads hash
    for entry in listing:
        if entry.endswith(".list") and entry[:-5] in installed:
            for line in _read_info(info_dir, entry).splitlines():
                if line.startswith("/") and line != "/.":
                    result.owned.add(root.canonical(line))
    for path, (to, _pkg) in diversions.items():
        result.owned.add(root.canonical(to))
    return result


def _start_verify(root, jobs, result, progress, threads):
    """Check ``jobs`` ({in-root path: (md5, install time in ns or None)}) on ``threads``
    threads; the returned function waits for them and fills result.changed.

    hashlib and file reads release the GIL, so plain threads scale, and the scan goes on
    walking the tree meanwhile; each thread takes every n-th file (no per-file task objects).
    """
    items = sorted(jobs.items())
    work = [(root.host(path), md5) for path, (md5, _when) in items]
    outcomes = [None] * len(work)
    counters = [[0, 0] for _ in range(max(1, threads))]
    # The ctime checks run here, before the threads start: a stat each, mostly Python work;
    # in the threads they took turns on the GIL with the scan's main thread and slowed both.
    todo = []
    for i, (_path, (_md5, when)) in enumerate(items):
        if unchanged_since_install(work[i][0], when):
            outcomes[i] = (True, 0, False)
        else:
            todo.append(i)

    def worker(index):
        count = counters[index]
        for i in todo[index::len(counters)]:
            matches, size = md5_matches(work[i])
            outcomes[i] = (matches, size, True)
            count[0] += 1
            count[1] += size

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(len(counters))]
    for thread in pool:
        thread.daemon = True
        thread.start()

    def finish():
        for thread in pool:
            while thread.is_alive():
                thread.join(0.5)
                done = sum(c[0] for c in counters)
                done_bytes = sum(c[1] for c in counters)
                progress.tick("%d/%d files hashed, %s" % (done, len(todo), human_bytes(done_bytes)))
        for (path, _job), (matches, size, hashed) in zip(items, outcomes):
            result.verified_files += 1
            if hashed:
                result.hashed_files += 1
                result.hashed_bytes += size
            else:
                result.skipped_files += 1
            if matches is False:
                result.changed.add(path)
    return finish


def rpm_package_files(root, progress):
    result = PackageFiles("rpm -Va")     # rpm compares size and mtime itself before digests
    progress.phase("reading rpm file lists")
    text = run(rpm_command(root, "-qa", "--qf", "[%{FILENAMES}\\t%{FILEFLAGS:fflags}\\n]"))
    for path in parse_rpm_files(text):
        result.owned.add(root.canonical(path))
    progress.phase("verifying package files with rpm -Va (in the background)")
    outputs = []
    thread = threading.Thread(target=lambda: outputs.append(run(rpm_command(
        root, "-Va", "--nodeps", "--noscripts", "--nodigest", "--nosignature"))))
    thread.daemon = True
    thread.start()

    def finish():
        thread.join()
        text = outputs[0] if outputs else None
        if text is None:
            progress.warn("rpm -Va failed; no package file is treated as changed")
        for path in parse_rpm_verify(text):
            result.changed.add(root.canonical(path))
    result._finish = finish
    return result


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0
    return str(n)


# ---------------------------------------------------------------------------------------------
# Walking the root and choosing what goes into the overlay
# ---------------------------------------------------------------------------------------------

ALWAYS_EXCLUDED = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/run", "/var/lock")
PACKAGE_CACHES = ("/var/cache/apt", "/var/cache/yum", "/var/cache/dnf", "/var/cache/zypp",
                  "/var/lib/apt/lists", "/var/cache/PackageKit")
# In `changed` mode the overlay is laid over a freshly installed image: the source's package
# databases would contradict the image's own, so they stay out (the report lists the packages).
PACKAGE_DATABASES = ("/var/lib/dpkg", "/var/lib/rpm", "/usr/lib/sysimage/rpm", "/var/lib/yum", "/var/lib/dnf",
                     "/var/lib/apt", "/var/cache/debconf")
NETWORK_FS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "sshfs", "fuse.sshfs", "glusterfs", "fuse.glusterfs",
              "ceph", "fuse.ceph", "ocfs2", "gfs2", "9p", "davfs", "fuse.davfs", "afs", "lustre", "beegfs",
              "fuse.s3fs"}
PSEUDO_FS = {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs", "debugfs",
             "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs",
             "binfmt_misc", "efivarfs", "rpc_pipefs", "nfsd", "selinuxfs", "ramfs", "overlay", "squashfs",
             "nsfs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal"}


def unescape_mount(text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mounted_excludes(root, mounts_text=None):
    """In-root paths of network and pseudo file systems mounted under the scanned root."""
    if mounts_text is None:
        try:
            with open("/proc/self/mounts") as f:
                mounts_text = f.read()
        except (OSError, IOError):
            return set()
    base = os.path.realpath(root.path)
    out = set()
    for line in mounts_text.splitlines():
        words = line.split()
        if len(words) < 3:
            continue
        mountpoint, fstype = unescape_mount(words[1]), words[2]
        if fstype not in NETWORK_FS and fstype not in PSEUDO_FS:
            continue
        if base == "/":
            inner = mountpoint
        elif mountpoint == base or mountpoint.startswith(base + "/"):
            inner = mountpoint[len(base):] or "/"
        else:
            continue
        if inner != "/":
            out.add(inner)
    return out


SECRET_PATTERNS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd",
                   "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_key")
PRIVATE_KEY_MARK = re.compile(br"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File")


def is_secret(inner, host_path, st):
    """Shadow files, SSH host private keys, and private keys under /root and /home."""
    for pattern in SECRET_PATTERNS:
        if fnmatch.fnmatch(inner, pattern):
            return True
    if not (inner.startswith("/root/") or inner.startswith("/home/")) or not stat.S_ISREG(st.st_mode):
        return False
    base = os.path.basename(inner)
    if base.startswith("id_") and not base.endswith(".pub") and "/.ssh/" in inner:
        return True
    if st.st_size > (1 << 20):
        return False
    try:
        with open(host_path, "rb") as f:
            head = f.read(4096)
    except (OSError, IOError):
        return False
    return PRIVATE_KEY_MARK.search(head) is not None


class Selection(object):
    """The overlay's member list (in-root paths, archive order) with its counts."""

    def __init__(self):
        self.candidates = []     # (in-root path, regular file size or 0, owned by a package?)
        self.paths = []
        self.files = 0
        self.bytes = 0
        self.secrets = []

    def finalize(self, changed):
        """Keep unowned entries and the owned ones that differ from their package."""
        for inner, size, owned in self.candidates:
            if owned and inner not in changed:
                continue
            self.paths.append(inner)
            self.files += 1
            self.bytes += size
        self.candidates = []
        return self


def excluded_by_pattern(inner, patterns):
    for pattern in patterns:
        if fnmatch.fnmatch(inner, pattern) or fnmatch.fnmatch(inner, pattern.rstrip("/") + "/*"):
            return True
    return False


def select_overlay(root, mode, package_files, hollow, skip, patterns, exclude_secrets, progress):
    """Walk the physical tree (no symlink followed) and pick the overlay members.

    ``hollow`` paths (/proc, caches, pseudo and network mounts) keep their own entry, so a full
    root still has its mount points, but not their contents; ``skip`` paths and ``patterns``
    leave out the entry and everything under it.
    """
    sel = Selection()
    owned = package_files.owned if (package_files and mode == "changed") else set()
    skip = set(skip)
    hollow = set(hollow)
    walked = [0]

    def consider(inner, host_path, st, is_dir):
        walked[0] += 1
        if exclude_secrets and not is_dir and is_secret(inner, host_path, st):
            sel.secrets.append(inner)
            return
        if stat.S_ISSOCK(st.st_mode):
            return
        sel.candidates.append((inner, st.st_size if stat.S_ISREG(st.st_mode) else 0, inner in owned))

    stack = ["/"]
    while stack:
        inner_dir = stack.pop()
        host_dir = root.host(inner_dir)
        try:
            entries = sorted(os.listdir(host_dir))
        except OSError as e:
            progress.warn("cannot read %s: %s" % (inner_dir, e.strerror))
            continue
        subdirs = []
        for name in entries:
            inner = (inner_dir.rstrip("/") + "/" + name)
            if inner in skip or excluded_by_pattern(inner, patterns):
                continue
            host_path = os.path.join(host_dir, name)
            try:
                st = os.lstat(host_path)
            except OSError:
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            consider(inner, host_path, st, is_dir)
            if is_dir and inner not in hollow:
                subdirs.append(inner)
        progress.tick("walked %d entries" % walked[0])
        stack.extend(reversed(subdirs))
    return sel


# ---------------------------------------------------------------------------------------------
# The archive
# ---------------------------------------------------------------------------------------------

def gnu_tar_flags():
    """GNU tar's flags for xattrs/ACLs where this tar has them; None when there is no GNU tar."""
    try:
        proc = subprocess.Popen(["tar", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = proc.communicate()[0].decode("utf-8", "replace")
    except OSError:
        return None
    if "--no-recursion" not in out or "--null" not in out:
        return None
    flags = []
    for flag in ("--xattrs", "--acls", "--selinux"):
        if flag in out:
            flags.append(flag)
    if "--xattrs-include" in out:
        flags.append("--xattrs-include=*")
    if "--verbatim-files-from" in out:
        flags.append("--verbatim-files-from")
    return flags


def compressor():
    """(argv, archive suffix): zstd where it exists, else gzip."""
    if shutil.which("zstd"):
        return (["zstd", "-q", "-c", "-T0", "-3"], ".zst")
    if shutil.which("gzip"):
        return (["gzip", "-c", "-6"], ".gz")
    return (None, ".gz")


def write_archive(root, paths, fileobj, progress):
    """Write a PAX tar of ``paths`` (in-root) to ``fileobj``, compressed; returns the suffix."""
    argv, suffix = compressor()
    flags = gnu_tar_flags()
    if flags is not None:
        names = [p.lstrip("/") for p in paths]
        if "--verbatim-files-from" not in flags:
            names = ["./" + n for n in names]    # old tar takes a leading '-' for an option
        listing = tempfile.NamedTemporaryFile(prefix="dib-migrate-scan-", suffix=".list")
        try:
            listing.write(b"\0".join(n.encode("utf-8", "surrogateescape") for n in names) + b"\0")
            listing.flush()
            tar_argv = (["tar", "--create", "--format=pax", "--numeric-owner", "--no-recursion", "--null",
                         "--sparse", "-C", root.path] + flags + ["-T", listing.name, "-f", "-"])
            _pipe_tar(tar_argv, argv, fileobj, progress)
        finally:
            listing.close()
        return suffix
    progress.warn("GNU tar not found: archiving with Python's tarfile (no xattrs or ACLs)")
    if argv is None:
        with gzip.GzipFile(fileobj=fileobj, mode="wb", mtime=0) as gz:
            _tarfile_archive(root, paths, gz)
        return ".gz"
    comp = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=fileobj)
    _tarfile_archive(root, paths, comp.stdin)
    comp.stdin.close()
    if comp.wait() != 0:
        raise RuntimeError("%s failed" % argv[0])
    return suffix


def _pipe_tar(tar_argv, comp_argv, fileobj, progress):
    stderr = tempfile.TemporaryFile()
    if comp_argv is None:
        tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE, stderr=stderr)
        with gzip.GzipFile(fileobj=fileobj, mode="wb", mtime=0) as gz:
            shutil.copyfileobj(tar.stdout, gz, 1 << 20)
        comp_rc = 0
    else:
        tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE, stderr=stderr)
        comp = subprocess.Popen(comp_argv, stdin=tar.stdout, stdout=fileobj)
        tar.stdout.close()
        comp_rc = comp.wait()
    tar_rc = tar.wait()
    stderr.seek(0)
    messages = stderr.read().decode("utf-8", "replace").strip()
    stderr.close()
    if messages:
        for line in messages.splitlines()[:20]:
            progress.warn(line)
    # GNU tar exits 1 when a file changed while it was read: normal on a live system
    if tar_rc not in (0, 1) or comp_rc != 0:
        raise RuntimeError("archiving failed (tar exit %s, compressor exit %s)" % (tar_rc, comp_rc))


def _tarfile_archive(root, paths, stream):
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for inner in paths:
            host_path = root.host(inner)
            try:
                info = tar.gettarinfo(host_path, arcname=inner.lstrip("/"))
            except OSError:
                continue
            if info is None:
                continue
            info.uname = info.gname = ""     # numeric owners only
            if info.isreg():
                try:
                    with open(host_path, "rb") as f:
                        tar.addfile(info, f)
                except (OSError, IOError):
                    continue
            else:
                tar.addfile(info)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Output directory
# ---------------------------------------------------------------------------------------------

def prepare_outdir(outdir):
    try:
        if not os.path.isdir(outdir):
            os.makedirs(outdir, 0o700)
        fd, probe = tempfile.mkstemp(prefix=".dib-migrate-probe-", dir=outdir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ScanRefused("output directory %s is not writable: %s" % (outdir, e.strerror or e))
    return os.path.abspath(outdir)


def private_tempfile(outdir, name):
    """A 0600 file under a temporary name in OUTDIR, renamed into place when complete."""
    fd, path = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=outdir)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb"), path


# ---------------------------------------------------------------------------------------------
# The scan
# ---------------------------------------------------------------------------------------------

def scan(root_path="/", outdir=None, excludes=(), full=False, exclude_secrets=False, threads=None,
         progress=None, mounts_text=None, thorough=False):
    """Scan ``root_path`` and write OUTDIR/report.yaml and the overlay; returns the report dict."""
    progress = progress or Progress()
    started = time.time()
    root = Root(root_path)
    check_linux_root(root)
    outdir = prepare_outdir(outdir)
    threads = threads or min(8, max(2, (os.cpu_count() or 1) * 2))

    progress.phase("scanning %s" % root.path)
    os_info = detect_os(root)
    os_info["arch"] = detect_arch(root)
    report = {"schema_version": SCHEMA_VERSION,
              "scanned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "scanner": {"name": "dib-migrate", "version": SCANNER_VERSION},
              "host": detect_host(root)}
    for key, kind in (("distro", "distro"), ("version", "os_version"), ("codename", "codename")):
        if os_info.get(key) is not None and not valid(kind, os_info[key]):
            if key == "codename":
                os_info[key] = None
            else:
                raise ScanRefused("%s: unexpected os %s %r" % (root.path, key, os_info[key]))
    report["os"] = {"family": os_info["family"], "distro": os_info["distro"], "version": os_info["version"],
                    "codename": os_info["codename"], "arch": os_info["arch"]}

    progress.phase("reading the package database")
    fmt = package_format(root)
    status_records = []
    if fmt == "dpkg":
        status_records = parse_dpkg_status(root.read("/var/lib/dpkg/status", limit=1 << 30))
        packages = dpkg_packages(root, status_records)
    elif fmt == "rpm":
        text = run(rpm_command(root, "-qa", "--qf", RPM_QUERY_FORMAT))
        if text is None:
            raise ScanRefused("%s has an rpm database but rpm cannot read it (is rpm installed here?)"
                              % root.path)
        packages = parse_rpm_qa(text)
    else:
        progress.warn("no dpkg or rpm database: package list empty")
        packages = []
    packages = [p for p in sort_packages(packages) if _package_ok(p, progress)]
    names = set(p["name"] for p in packages)
    progress.phase("%d packages installed" % len(packages))

    mode = "full" if full else "changed"
    package_files = None
    if mode == "changed":
        # starts hashing threads / rpm -Va; the detections and the walk below overlap with them
        if fmt == "dpkg":
            package_files = dpkg_package_files(root, status_records, progress, threads, thorough)
        elif fmt == "rpm":
            package_files = rpm_package_files(root, progress)

    report["platform"] = {"virtualization": _virtualization(root, names),
                          "firmware": detect_firmware(root, packages)}
    init_system = detect_init_system(root, names)
    report["init_system"] = init_system
    running = running_kernel(root)
    report["kernel"] = {"running": running if running and valid("kernel", running) else None,
                        "packages": kernel_packages(packages)}
    report["bootloader"] = detect_bootloader(root, names)
    report["packages"] = packages
    progress.phase("reading services, network, fstab, accounts")
    services = detect_services(root, init_system, os_info["family"])
    report["services"] = services
    report["network"] = detect_network(root, names, services, progress)
    report["fstab"] = [e for e in parse_fstab(root.read("/etc/fstab"), progress) if _fstab_ok(e, progress)]
    report["clock"] = {"adjtime": root.read("/etc/adjtime")}
    report["firewall"] = detect_firewall(root, names, services)
    report["selinux"] = detect_selinux(root)
    report["etc_symlinks"] = etc_symlinks(root)
    users, groups = parse_accounts(root.read("/etc/passwd"), root.read("/etc/group"), progress)
    report["users"], report["groups"] = users, groups

    hollow = set(ALWAYS_EXCLUDED) | set(PACKAGE_CACHES) | mounted_excludes(root, mounts_text)
    skip = set(PACKAGE_DATABASES) if mode == "changed" else set()
    inner_out = _inside(root, outdir)
    if inner_out:
        skip.add(inner_out)
    progress.phase("selecting overlay files (%s)" % mode)
    selection = select_overlay(root, mode, package_files, hollow, skip, list(excludes), exclude_secrets,
                               progress)
    if package_files is not None:
        package_files.wait()
        progress.phase("%d package files verified (%d hashed, %s; %d unchanged since their install), "
                       "%d differ from their package"
                       % (package_files.verified_files, package_files.hashed_files,
                          human_bytes(package_files.hashed_bytes), package_files.skipped_files,
                          len(package_files.changed)))
        verify = {"method": package_files.method}
        if fmt == "dpkg":
            verify.update(files=package_files.verified_files, hashed=package_files.hashed_files,
                          skipped=package_files.skipped_files)
        report["scanner"]["verify"] = verify
    selection.finalize(package_files.changed if package_files else set())
    if selection.secrets:
        progress.phase("left out %d secret files (--exclude-secrets)" % len(selection.secrets))
    progress.phase("archiving %d entries, %s" % (selection.files, human_bytes(selection.bytes)))

    fileobj, tmp_archive = private_tempfile(outdir, "overlay")
    try:
        with fileobj:
            suffix = write_archive(root, selection.paths, fileobj, progress)
        archive_name = "overlay.tar" + suffix
        digest = sha256_file(tmp_archive)
        os.rename(tmp_archive, os.path.join(outdir, archive_name))
    except BaseException:
        _unlink(tmp_archive)
        raise
    for stale in ("overlay.tar.gz", "overlay.tar.zst"):
        if stale != archive_name:
            _unlink(os.path.join(outdir, stale))
    report["overlay"] = {"archive": archive_name, "sha256": digest, "files": selection.files,
                         "bytes": selection.bytes, "mode": mode, "excluded_secrets": bool(exclude_secrets)}

    header = ("dib-migrate scan report of %s (%s %s), scanned %s"
              % (report["host"]["fqdn"], os_info["distro"], os_info["version"], report["scanned_at"]))
    fileobj, tmp_report = private_tempfile(outdir, "report")
    try:
        with fileobj:
            fileobj.write(dump_yaml(report, header).encode("utf-8", "surrogateescape"))
        os.rename(tmp_report, os.path.join(outdir, "report.yaml"))
    except BaseException:
        _unlink(tmp_report)
        raise
    elapsed = time.time() - started
    progress.phase("done in %.1fs: %d packages, %d services, %d interfaces; overlay %s: %d entries, %s "
                   "(archive %s)" % (elapsed, len(packages), len(services),
                                     len(report["network"]["interfaces"]), mode, selection.files,
                                     human_bytes(selection.bytes), os.path.join(outdir, archive_name)))
    return report


def _package_ok(p, progress):
    if valid("package", p["name"]) and valid("version", p["version"]) and valid("arch", p["arch"]):
        return True
    progress.warn("package %r left out of the report: unexpected characters" % (p,))
    return False


def _fstab_ok(entry, progress):
    if all(valid("fstab_word", entry[k]) for k in ("spec", "mountpoint", "options")):
        return True
    progress.warn("fstab entry left out: %r" % (entry,))
    return False


def _virtualization(root, names):
    if root.live:
        return detect_virtualization()
    # a disk seen from outside has no /proc or /sys of its own; only a Xen PV kernel says anything
    if names & {"kernel-xen", "kernel-xenU"} or any(n.startswith("linux-image-") and n.endswith("-xen")
                                                    for n in names):
        return "xen-pv"
    return "unknown"


def _inside(root, outdir):
    base = os.path.realpath(root.path)
    out = os.path.realpath(outdir)
    if base == "/":
        return out if out != "/" else None
    if out.startswith(base + "/"):
        return out[len(base):]
    return None


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="dib-migrate scan",
        description="Capture a Linux root filesystem as a dib-migrate scan report plus overlay archive.")
    parser.add_argument("--root", default="/", help="root filesystem to scan (default: the live system /)")
    parser.add_argument("-o", "--output", dest="outdir", required=True,
                        help="output directory for report.yaml and overlay.tar.*")
    parser.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                        help="shell pattern of in-root paths to leave out of the overlay (repeatable)")
    parser.add_argument("--full", action="store_true",
                        help="archive the whole root filesystem instead of only changed and unowned files")
    parser.add_argument("--exclude-secrets", action="store_true",
                        help="leave out shadow files, SSH host private keys and private keys under /root "
                        "and /home")
    parser.add_argument("--thorough", action="store_true",
                        help="hash every dpkg package file, also those whose ctime shows they are unchanged "
                        "since their package was installed")
    parser.add_argument("--threads", type=int, default=None,
                        help="hashing threads (default: 2 x CPUs, max 8)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    progress = Progress(quiet=args.quiet)
    try:
        scan(args.root, args.outdir, excludes=args.exclude, full=args.full,
             exclude_secrets=args.exclude_secrets, threads=args.threads, progress=progress,
             thorough=args.thorough)
    except ScanRefused as e:
        sys.stderr.write("dib-migrate scan: error: %s\n" % e)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        sys.stderr.write("dib-migrate scan: interrupted\n")
        return EXIT_FAILED
    except (OSError, RuntimeError) as e:
        sys.stderr.write("dib-migrate scan: failed: %s\n" % e)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
