"""Distribution family, distro, version and codename, and the userland's architecture."""
import os
import re

from .errors import ScanRefused
from .keyvalue import parse_shell_vars


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
