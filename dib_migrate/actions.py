"""Every action of the Plan, once: its area, the verb `plan` shows, the element that applies it,
the data it hands that element and the line docs/element-data.md gives it.

An action is what an element does and what verify checks. Adding one means adding its record
here (with its writer), its check in verify/checks.py (``@check`` on the record's name; the
record finds it) and its hook; the plan table, render, the docs and verify read the record.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from .network_files import network_files

# Areas in the order `plan` shows them.
AREAS = ("network", "packages", "files", "services", "boot")
# an action applied by the target's migrate-cloud-* element (Target.cloud_element), always in the set
BY_TARGET = "migrate-cloud-<target>"


@dataclass(frozen=True)
class Action:
    name: str
    area: str
    verb: str                       # the word `plan` shows
    element: Optional[str]          # static element that applies it; None: DIB's package-installs
    doc: str                        # subject and data of its Changes, for docs/element-data.md
    files: Tuple[str, ...] = ()     # what it writes under migrate-data/
    write: Optional[Callable] = field(default=None, repr=False)   # (change, files dict, plan) -> None
    # (change) -> [(package, pinned version or None, install?)]: its share of package-installs.yaml
    packages: Optional[Callable] = field(default=None, repr=False)

    @property
    def check(self):
        """verify's check of this action (registered in verify/checks.py)."""
        from .verify.checks import CHECKS
        return CHECKS.get(self.name)


def _append(f, key, line):
    f[key] = f.get(key, "") + line + "\n"


def _lines(items):
    return "".join("%s\n" % i for i in items)


# ---------------------------------------------------------------------------- writers
# each writes one Change's share of migrate-data/ (docs/element-data.md); called in Plan order

def _install_packages(c, f, plan):
    for n in c.data["names"]:
        _append(f, "packages/install", n)


def _install_package(c, f, plan):
    _append(f, "packages/install", c.subject)


def _install_kernel(c, f, plan):
    _append(f, "packages/install", c.subject)
    f["boot/kernel"] = "yes\n"


def _remove_package(c, f, plan):
    _append(f, "packages/remove", c.subject)


def _overlay(c, f, plan):
    f["overlay/mode"] = c.data["mode"] + "\n"
    f["overlay/compression"] = c.data["compression"] + "\n"


def _skip_esp(c, f, plan):
    _append(f, "overlay/exclude", c.subject)


def _prune_links(c, f, plan):
    f["overlay/etc-symlinks"] = _lines(c.data["keep"])
    f["overlay/etc-skip"] = _lines(c.data["skip"])


def _service(state):
    def write(c, f, plan):
        _append(f, "services/" + state, c.subject)
    return write


def _keep_fstab(c, f, plan):
    if c.subject != "/":
        _append(f, "fstab/append", c.data["line"])


def _drop_fstab(c, f, plan):
    _append(f, "fstab/dropped", c.data["line"])


def _adjtime(c, f, plan):
    f["clock/adjtime"] = c.data["content"]


def _remove_file(c, f, plan):
    _append(f, "network/remove", c.subject)


def _absent(c, f, plan):
    for path in c.data["paths"]:
        _append(f, "overlay/absent", path)


def _residue(c, f, plan):
    for path in c.data["paths"]:
        _append(f, "base/residue", path)
    for path in c.data.get("empty_dirs", ()):
        _append(f, "base/residue-dirs", path)


def _kernel_args(c, f, plan):
    f["boot/cmdline"] = (f.get("boot/cmdline", "").strip() + " " + " ".join(c.data["args"])).strip() + "\n"


def _regen_grub(c, f, plan):
    f["boot/loader"] = c.data["bootloader"] + "\n"


def _drivers(c, f, plan):
    f["boot/drivers"] = _lines(c.data["drivers"])


def _cloud_config(c, f, plan):
    f["cloud/cloud.cfg"] = c.data["content"]


def _agent_config(c, f, plan):
    f["cloud/waagent"] = _lines("%s=%s" % kv for kv in sorted(c.data["settings"].items()))


def _identity(c, f, plan):
    f["identity/policy"] = c.subject + "\n"


def _selinux(c, f, plan):
    f["selinux/relabel"] = "yes\n"


def _growroot(c, f, plan):
    f["growroot"] = c.data["method"] + "\n"


def _provision_key(c, f, plan):
    f["packer/authorized_key"] = c.data["public_key"].strip() + "\n"


def _firstboot(c, f, plan):
    for key in ("root_password_hash", "keyboard", "timezone"):
        if c.data.get(key):
            f["firstboot/" + key.replace("_", "-")] = c.data[key] + "\n"
    for s in c.data["boot_scripts"]:
        f["firstboot/scripts/" + s["name"]] = s["content"]
    if c.data["nics"]:
        # the NIC settings of the profile are also applied once at first boot, as UForge does
        for path, content in network_files(plan).items():
            f["firstboot/network/tree" + path] = content


def _pkgs_rebuilt(c):
    versions = c.data.get("versions") or {}
    return [(n, versions.get(n), True) for n in c.data["names"]]


def _pkg_installed(c):
    return [(c.subject, None, True)]


def _pkg_removed(c):
    return [(c.subject, None, False)]


# ---------------------------------------------------------------------------- the records
_NET_TREE = ("network/tree/…",)

ACTIONS = {a.name: a for a in (
    Action("set-network", "network", "configure", "migrate-network",
           "subject: interface; data: mode (static, dhcp, manual: no address of its own), addresses, gateway, dns, "
           "file, manager; where the source has them kind (bond, vlan, bridge), members, bond_mode, bond_options "
           "(kernel option name -> value, those the manager's format can say), bond_defaults (the options the Plan "
           "adds: miimon where the source set no link monitor), parent, vlan_id, mtu, routes (to, via), dns_search",
           _NET_TREE),
    Action("remove-file", "network", "remove", "migrate-network",
           "subject: path (a MAC binding, a network file the rendered ones supersede, stale config)",
           ("network/remove",), _remove_file),
    Action("write-network-file", "network", "write", "migrate-network",
           "subject: path; data: content (e.g. an empty rule masking a generator)", _NET_TREE),
    Action("write-hosts", "network", "write", "migrate-network", "subject: /etc/hosts; data: content", _NET_TREE),
    Action("install-packages", "packages", "install", None, "subject: summary; data: names (the rebuilt package "
           "set), versions (--pin-versions)", ("packages/install",), _install_packages, _pkgs_rebuilt),
    Action("install-package", "packages", "install", None, "subject: package name",
           ("packages/install",), _install_package, _pkg_installed),
    Action("install-kernel", "packages", "install", "migrate-kernel",
           "subject: the family's standard kernel or bootloader package, injected",
           ("packages/install", "boot/kernel"), _install_kernel, _pkg_installed),
    Action("remove-package", "packages", "remove", None, "subject: package name",
           ("packages/remove",), _remove_package, _pkg_removed),
    Action("apply-overlay", "files", "overlay", "migrate-overlay",
           "subject: archive name; data: mode, files, bytes, sha256, compression",
           ("overlay/mode", "overlay/compression"), _overlay),
    Action("skip-esp", "files", "skip", "migrate-overlay",
           "subject: /boot/efi (left out of the overlay and the rootfs); data: files, bytes, firmware",
           ("overlay/exclude",), _skip_esp),
    Action("remove-absent-files", "files", "remove", "migrate-overlay",
           "subject: package; data: paths (files or directories it installs that the source lacks)",
           ("overlay/absent",), _absent),
    Action("remove-build-residue", "files", "remove", "migrate-base",
           "subject: diskimage-builder; data: paths (its tools and settings, removed at cleanup), empty_dirs "
           "(removed when empty), kept (named, left in the image)", ("base/residue", "base/residue-dirs"), _residue),
    Action("prune-etc-links", "files", "prune", "migrate-overlay",
           "subject: /etc; data: keep (the source's links), skip (dirs left alone)",
           ("overlay/etc-symlinks", "overlay/etc-skip"), _prune_links),
    Action("drop-fstab-line", "files", "drop", "migrate-fstab", "subject: mountpoint; data: line, index",
           ("fstab/dropped",), _drop_fstab),
    Action("keep-fstab-line", "files", "keep", "migrate-fstab",
           "subject: mountpoint; data: line (as written to the image), index", ("fstab/append",), _keep_fstab),
    Action("reset-adjtime", "files", "reset", "migrate-clock", "subject: /etc/adjtime; data: content, mode",
           ("clock/adjtime",), _adjtime),
    Action("cloud-config", "files", "write", BY_TARGET, "subject: path in the image; data: content",
           ("cloud/cloud.cfg",), _cloud_config),
    Action("agent-config", "files", "set", BY_TARGET, "subject: /etc/waagent.conf; data: settings {key: value}",
           ("cloud/waagent",), _agent_config),
    Action("firstboot", "files", "add", "migrate-firstboot", "subject: first-boot unit; data: profile settings",
           ("firstboot/…",), _firstboot),
    Action("identity", "files", "identity", "migrate-identity", "subject: keep|reset; data: what is kept/reset",
           ("identity/policy",), _identity),
    Action("selinux-relabel", "files", "relabel", "migrate-selinux", "subject: /.autorelabel",
           ("selinux/relabel",), _selinux),
    Action("provision-key", "files", "add-key", "migrate-packer-key",
           "subject: /root/.ssh/authorized_keys; data: public_key (its comment is the marker), marker (--packer)",
           ("packer/authorized_key",), _provision_key),
    Action("enable-service", "services", "enable", "migrate-services", "subject: service; data: present (bool)",
           ("services/enable",), _service("enable")),
    Action("disable-service", "services", "disable", "migrate-services", "subject: service; data: present",
           ("services/disable",), _service("disable")),
    Action("mask-service", "services", "mask", "migrate-services", "subject: service; data: present",
           ("services/mask",), _service("mask")),
    Action("kernel-args", "boot", "cmdline", "migrate-bootloader", "subject: the arguments; data: args (list)",
           ("boot/cmdline",), _kernel_args),
    Action("initramfs-drivers", "boot", "drivers", "migrate-bootloader",
           "subject: drivers; data: drivers (list), files (the family's settings files it writes)",
           ("boot/drivers",), _drivers),
    Action("regen-initramfs", "boot", "regenerate", "migrate-bootloader", "subject: all kernels"),
    Action("regen-grub", "boot", "regenerate", "migrate-bootloader", "subject: the loader; data: bootloader",
           ("boot/loader",), _regen_grub),
    Action("growroot", "boot", "grow", "migrate-growroot", "subject: /; data: method, packages",
           ("growroot",), _growroot),
)}


def markdown():
    """The actions table of docs/element-data.md."""
    out = ["| action | area | plan shows | element | subject / data | writes under migrate-data/ |",
           "|---|---|---|---|---|---|"]
    for a in ACTIONS.values():
        out.append("| `%s` | %s | %s | %s | %s | %s |" % (
            a.name, a.area, a.verb, "`%s`" % a.element if a.element else "package-installs",
            a.doc, ", ".join("`%s`" % x for x in a.files) or "—"))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
