"""Source facts vs image facts: every difference, each with the Change that explains it or none.

A pure function of its inputs (two report-shaped dicts, the Plan, the overlay rows), so
each kind of difference is unit-tested without an image. A difference is *explained* when a
Change (or a warning) of the Plan names it: its rule id and reason travel with it.
"""
import fnmatch
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

from ..distros import distro_class
from ..network_files import interface_files
from ..plan.model import Change, Warning
from .. import rule_registry as R
from ..plan.rules.files import boot_path
from ..rule_registry import PREFLIGHT_UNITS
from ..scan.network.bond import renamed as bond_renamed
from ..scan.units import recorded_types, unit_type
from ..verify.checks import package_state_path, rebuilt_bytecode, trigger_output

AREAS = ("host", "packages", "services", "network", "fstab", "accounts", "sysctl", "identity", "files")


@dataclass(frozen=True)
class Difference:
    area: str
    subject: str
    source: Any          # the value on the source (None: absent there)
    image: Any           # the value in the image (None: absent there)
    rule: Optional[str] = None     # the Change or warning that explains it; None: unexplained
    reason: str = ""

    @property
    def explained(self):
        return self.rule is not None

    def to_dict(self):
        return {"area": self.area, "subject": self.subject, "source": self.source, "image": self.image,
                "explained": self.explained, "rule": self.rule, "reason": self.reason}


def _why(area, subject, source, image, why):
    """A Difference explained by ``why`` (a Change, a Warning or a (rule, reason) pair), or unexplained."""
    if why is None:
        return Difference(area, subject, source, image)
    if isinstance(why, Change):
        return Difference(area, subject, source, image, why.rule, why.reason)
    if isinstance(why, Warning):
        return Difference(area, subject, source, image, why.rule, why.message)
    return Difference(area, subject, source, image, why[0], why[1])


class Explainer:
    """Looks up the Change of a Plan that accounts for a difference."""

    SERVICE_ACTIONS = {"enabled": "enable-service", "disabled": "disable-service", "masked": "mask-service"}

    def __init__(self, plan):
        self.plan = plan
        self.by = {}
        for c in plan.changes:
            self.by.setdefault((c.action, c.subject), c)

    def change(self, action, subject):
        return self.by.get((action, subject))

    def first(self, action):
        for c in self.plan.changes:
            if c.action == action:
                return c
        return None

    def warning_naming(self, rule, text):
        for w in self.plan.warnings:
            if w.rule == rule and w.message.startswith(text):
                return w
        return None

    def warning(self, rule):
        for w in self.plan.warnings:
            if w.rule == rule:
                return w
        return None

    def service(self, name, image_state):
        if image_state is None:
            return None
        why = self.change(self.SERVICE_ACTIONS.get(image_state, ""), name)
        if why is None and image_state == "enabled":
            # units the Plan's own elements install (first boot, growroot)
            why = self.change("firstboot", name) or next(
                (c for c in self.plan.changes if c.data.get("unit") == name), None)
        return why

    def file(self, path):
        """The Change that writes or removes ``path`` in the image."""
        for action in ("write-hosts", "cloud-config", "agent-config", "reset-adjtime", "write-network-file",
                       "remove-file", "selinux-relabel"):
            c = self.change(action, path)
            if c:
                return c
        nets = self.plan.by_action("set-network")
        for c in nets:
            if c.data.get("file") == path:
                return c
        if nets and path in interface_files(nets):
            return nets[0]      # a file the rendering writes besides the scanned ones (members, .netdev, routes)
        if path in ("/etc/default/grub",):
            return self.first("regen-grub")
        for c in self.plan.by_action("initramfs-drivers"):
            if path in c.data.get("files", ()):
                return c
        element = _element_file(path)
        if element:
            from ..actions import ACTIONS
            for c in self.plan.changes:
                if ACTIONS[c.action].element == element:
                    return c
        for c in self.plan.by_action("skip-esp"):
            if path == c.subject or path.startswith(c.subject + "/"):
                return c
        return None


# where the elements' hooks install their own programs and units (their migrate-sbin/ and migrate-units/)
ELEMENT_FILES = (("/usr/local/sbin/", "migrate-sbin"), ("/etc/systemd/system/", "migrate-units/systemd"),
                 ("/etc/init/", "migrate-units/upstart"))


def _element_file(path):
    """The migrate-* element that installs ``path`` (a program or unit of its own), or None."""
    from ..render import ELEMENTS_DIR
    for prefix, sub in ELEMENT_FILES:
        name = path[len(prefix):]
        if path.startswith(prefix) and name and "/" not in name:
            for element in sorted(ELEMENTS_DIR.iterdir()):
                if (element / sub / name).is_file():
                    return element.name
    return None


# ------------------------------------------------------------------------------------- host
def host(source, image, ex):
    out = []
    for key in ("hostname", "fqdn"):
        a, b = (source.get("host") or {}).get(key), (image.get("host") or {}).get(key)
        if a != b:
            out.append(_why("host", key, a, b, None))
    return out


# ------------------------------------------------------------------------------------- packages
def _provides(relations):
    prov = {}
    for name, rel in relations.items():
        prov.setdefault(name, set()).add(name)
        for p in rel.get("provides", ()):
            prov.setdefault(p, set()).add(name)
    return prov


def _reach(roots, relations, kinds=("depends",)):
    """package -> the root it is reached from, through ``kinds`` relations (first root wins)."""
    prov = _provides(relations)
    seen = {}
    queue = deque()
    for name, why in roots:
        if name in relations and name not in seen:
            seen[name] = why
            queue.append(name)
    while queue:
        name = queue.popleft()
        for kind in kinds:
            for dep in relations.get(name, {}).get(kind, ()):
                for real in sorted(prov.get(dep, ())):
                    if real not in seen:
                        seen[real] = seen[name]
                        queue.append(real)
    return seen


def _rootfs_install(ex, path, verb):
    """(rule, reason) when a rootfs build's package installs wrote ``path`` into the source's own tree
    (its package database, its triggers' outputs), else None."""
    who = package_state_path(ex.plan, path)
    if not who:
        return None
    first = _installs(ex)[0]
    return (first.rule, "%s by %s when the build installed packages into the source's own tree (rootfs strategy): "
            "%s" % (verb, who, first.reason))


def _installs(ex):
    """The Changes that install one named package (the kernel and loader have their own action)."""
    return ex.plan.by_action("install-package") + ex.plan.by_action("install-kernel")


def package_explanations(source, image, ex):
    """name -> (rule, reason) for every image package the Plan accounts for."""
    relations = image.get("relations") or {}
    src = {p["name"] for p in source.get("packages", ())}
    roots = []
    for c in _installs(ex):
        roots.append((c.subject, (c.rule, "%s (%s)" % (c.reason, c.subject))))
    rebuild = ex.first("install-packages")
    if rebuild is not None:
        roots += [(n, (rebuild.rule, "dependency of the source's %s at the rebuilt release's version" % n))
                  for n in sorted(src)]
    reached = _reach(roots, relations)
    # Recommends count only where the Change says the installer brought them
    with_recs = [(c.subject, (c.rule, "%s (%s)" % (c.reason, c.subject)))
                 for c in _installs(ex) if c.data.get("recommends")]
    for name, why in _reach(with_recs, relations, ("depends", "recommends")).items():
        reached.setdefault(name, why)
    for c in _installs(ex):
        reached[c.subject] = (c.rule, c.reason)
    return reached


def packages(source, image, ex):
    out = []
    src = {p["name"]: p.get("version") for p in source.get("packages", ())}
    img = {p["name"]: p.get("version") for p in image.get("packages", ())}
    rebuild = ex.first("install-packages")
    pinned = bool(rebuild and rebuild.data.get("versions"))
    explained = package_explanations(source, image, ex)
    for name in sorted(set(src) | set(img)):
        a, b = src.get(name), img.get(name)
        if name in src and name not in img:
            out.append(_why("packages", name, a, None, ex.change("remove-package", name)))
        elif name in img and name not in src:
            out.append(_why("packages", name, None, b, explained.get(name)))
        elif a != b:
            why = None
            if rebuild is not None and not pinned:
                why = (rebuild.rule, "rebuilt from the mirror's current version (versions not pinned)")
            out.append(_why("packages", name, a, b, why))
    return out


# ------------------------------------------------------------------------------------- services
def services(source, image, ex, package_diffs):
    out = []
    src = {s["name"]: s["state"] for s in source.get("services", ())}
    img = {s["name"]: s["state"] for s in image.get("services", ())}
    by_package = {d.subject: d for d in package_diffs}
    owners = image.get("unit_packages") or {}
    wanted = {c.subject: (c, state) for state, action in Explainer.SERVICE_ACTIONS.items()
              for c in ex.plan.by_action(action)}
    recorded = recorded_types(source.get("scanner"))
    for name in sorted(set(src) | set(img)):
        a, b = src.get(name), img.get(name)
        if a == b:
            change, state = wanted.get(name, (None, None))
            if change is not None and b is not None and state != b:
                # as on the source, but not as the Plan says: the Plan's change was not made
                out.append(Difference("services", name, a, b, None,
                                      "the Plan (%s) wants it %s" % (change.rule, state)))
            continue
        why = ex.service(name, b)
        if why is None and a is None:
            pkg = owners.get(name)
            d = by_package.get(pkg)
            if d is not None and d.source is None and d.explained:
                why = (d.rule, "unit of %s, which the image adds: %s" % (pkg, d.reason))
            elif unit_type(name) not in recorded:
                # the source's scanner never looked at this kind of unit: the Plan says so
                why = ex.warning(PREFLIGHT_UNITS)
        out.append(_why("services", name, a, b, why))
    return out


# ------------------------------------------------------------------------------------- network
IFACE_FIELDS = ("mode", "addresses", "gateway", "dns", "mac", "config_file")
DEVICE_FIELDS = ("kind", "members", "bond_mode", "bond_options", "parent", "vlan_id", "mtu", "routes", "dns_search",
                 "renderer")


def network(source, image, ex):
    out = []
    snet, inet = source.get("network") or {}, image.get("network") or {}
    if snet.get("manager") != inet.get("manager"):
        out.append(_why("network", "manager", snet.get("manager"), inet.get("manager"), None))
    ifnames = ex.change("kernel-args", "net.ifnames=0 biosdevname=0")
    renamed = dict(ifnames.data.get("renamed") or {}) if ifnames is not None else {}
    for c in ex.plan.by_action("set-network"):
        renamed[c.data.get("source_name", c.subject)] = c.subject
    src = {}
    for i in snet.get("interfaces", ()):
        # the source's names as the image has them (slot names of the old hardware become ethN)
        i = dict(i, members=[renamed.get(m, m) for m in i.get("members") or []])
        if i.get("parent"):
            i["parent"] = renamed.get(i["parent"], i["parent"])
        if i.get("bond_options"):
            i["bond_options"] = dict(bond_renamed(tuple(i["bond_options"].items()), renamed))   # its primary
        src[renamed.get(i["name"], i["name"])] = i
    img = {i["name"]: i for i in inet.get("interfaces", ())}
    mac_change = ex.change("remove-file", "/etc/udev/rules.d/70-persistent-net.rules")
    for name in sorted(set(src) | set(img)):
        a, b = src.get(name), img.get(name)
        change = ex.change("set-network", name)
        if a is None or b is None:
            out.append(_why("network", "interface " + name, a, b, None))
            continue
        a, b = _flat(a), _flat(b)
        planned = _flat(change.data) if change is not None else {}
        fields = sorted(set(a) | set(b) - {"name"})
        for f in [f for f in IFACE_FIELDS if f in fields] + [f for f in fields if f not in IFACE_FIELDS]:
            va, vb = _norm(a.get(f)), _norm(b.get(f))
            if va == vb or f == "members" and va and vb and sorted(va) == sorted(vb):
                continue    # the order ports are listed in (files read in name order) is not the bond's
            why = None
            if f == "mac" and vb is None and mac_change is not None:
                why = mac_change
            elif change is not None and f.split(".")[0] in ("mode", "addresses", "gateway", "dns") + DEVICE_FIELDS \
                    and _norm(planned.get(f)) == vb and not (vb is None and f.split(".")[0] in DEVICE_FIELDS):
                why = change    # a device fact the Change leaves out is lost: only the Plan's warning explains it
            elif change is not None and f == "config_file" and change.data.get("file") == vb:
                why = change
            elif f.split(".")[0] in DEVICE_FIELDS:
                why = ex.warning_naming("preflight-network", name + ":")
            out.append(_why("network", "%s.%s" % (name, f), va, vb, why))
    sres, ires = source.get("resolv"), image.get("resolv")
    if sres is not None and ires is not None:
        dns = [ns for c in ex.plan.by_action("set-network") for ns in c.data.get("dns") or ()]
        for key in ("nameserver", "search", "options"):
            if sres.get(key) != ires.get(key):
                why = None
                if key == "nameserver" and ires.get(key) and set(ires[key]) <= set(dns):
                    why = next(c for c in ex.plan.by_action("set-network") if c.data.get("dns"))
                elif key == "search":
                    planned = [d for c in ex.plan.by_action("set-network") for d in c.data.get("dns_search") or ()]
                    why = next((c for c in ex.plan.by_action("set-network") if c.data.get("dns_search")
                                and set(ires.get(key) or ()) <= set(planned)), None) or next(
                        (w for w in ex.plan.warnings if w.rule == "preflight-network" and "DNS search" in w.message),
                        None)
                out.append(_why("network", "resolv.conf " + key, sres.get(key) or None, ires.get(key) or None, why))
    if (snet.get("hosts") or "") != (inet.get("hosts") or ""):
        c = ex.change("write-hosts", "/etc/hosts")
        why = c if c is not None and c.data.get("content") == inet.get("hosts") else None
        out.append(_why("network", "/etc/hosts", _lines(snet.get("hosts")), _lines(inet.get("hosts")), why))
    return out


def _flat(iface):
    """An interface's fields with each bond option a field of its own (bond_options.primary): a difference
    names the option."""
    out = dict(iface)
    out.update(("bond_options." + k, v) for k, v in (out.pop("bond_options", None) or {}).items())
    return out


def _norm(v):
    if isinstance(v, (list, tuple)):
        return list(v) or None
    return v if v not in ("", {}) else None


def _lines(text):
    return len((text or "").splitlines()) if text is not None else None


# ------------------------------------------------------------------------------------- fstab
def _fline(e):
    return "%s %s %s %s" % (e["spec"], e["mountpoint"], e["fstype"], e.get("options", "defaults"))


def fstab(source, image, ex):
    out = []
    img_lines = {_fline(e): e for e in image.get("fstab", ())}
    img_mounts = {e["mountpoint"]: e for e in image.get("fstab", ())}
    accounted = set()
    for e in source.get("fstab", ()):
        line = _fline(e)
        if line in img_lines:
            accounted.add(line)
            key = e["spec"] if e["fstype"] == "swap" else e["mountpoint"]
            drop = ex.change("drop-fstab-line", key)
            if drop is not None:
                # as on the source, but the Plan drops it: its change was not made
                out.append(Difference("fstab", e["mountpoint"], line, line, None,
                                      "the Plan (%s) drops it" % drop.rule))
            continue
        key = e["spec"] if e["fstype"] == "swap" else e["mountpoint"]
        drop = ex.change("drop-fstab-line", key) or ex.change("drop-fstab-line", e["mountpoint"])
        keep = ex.change("keep-fstab-line", key) or ex.change("keep-fstab-line", e["mountpoint"])
        now = img_mounts.get(e["mountpoint"]) if e["fstype"] != "swap" else None
        if keep is not None and " ".join(keep.data.get("line", "").split()[:4]) in img_lines:
            accounted.add(" ".join(keep.data["line"].split()[:4]))
            out.append(_why("fstab", e["mountpoint"], line, " ".join(keep.data["line"].split()[:4]), keep))
        elif drop is not None:
            if now is not None and e["mountpoint"] in ("/", "/boot", "/boot/efi"):
                accounted.add(_fline(now))
                out.append(_why("fstab", e["mountpoint"], line, _fline(now), drop))
            elif now is None:
                out.append(_why("fstab", e["mountpoint"], line, None, drop))
            else:
                out.append(_why("fstab", e["mountpoint"], line, _fline(now), None))
        else:
            out.append(_why("fstab", e["mountpoint"], line, _fline(now) if now else None, None))
    for line, e in img_lines.items():
        if line not in accounted:
            drop = ex.change("drop-fstab-line", e["mountpoint"])
            why = drop if drop is not None and e["mountpoint"] in ("/", "/boot", "/boot/efi") else None
            if why is None and e["mountpoint"] == "/":
                why = ex.warning_naming("fstab-blockdev", "/:")     # the source had no root line
            if why is None and e["mountpoint"] == "/boot/efi":
                # the image's own ESP, whose content skip-esp leaves to the image's boot loader
                why = ex.change("skip-esp", "/boot/efi")
            out.append(_why("fstab", e["mountpoint"], None, line, why))
    return out


# ------------------------------------------------------------------------------------- accounts
def accounts(source, image, ex):
    out = []
    overlay = ex.first("apply-overlay")
    needed = image.get("sysusers") or {}
    for kind, key in (("users", "uid"), ("groups", "gid")):
        src = {a["name"]: a[key] for a in source.get(kind, ())}
        img = {a["name"]: a[key] for a in image.get(kind, ())}
        for name in sorted(set(src) | set(img)):
            a, b = src.get(name), img.get(name)
            if a == b:
                continue
            why = None
            if a is None and overlay is not None and overlay.data.get("accounts") == "merged":
                why = (overlay.rule, "%s %s exists only in the rebuilt image (its packages create it); "
                       "the merge keeps it" % (kind[:-1], name))
            out.append(_why("accounts", "%s %s" % (kind[:-1], name), a, b, why))
        src_packages = {p["name"] for p in source.get("packages", ())}
        for name, (where, package) in sorted((needed.get(kind) or {}).items()):
            # only what a package new in the image needs: the source had the others' accounts as it had them
            if name not in img and name not in src and package and package not in src_packages:
                out.append(_why("accounts", "%s %s" % (kind[:-1], name), None,
                                "missing, declared by %s" % where, None))
    return out


# ------------------------------------------------------------------------------------- sysctl
def sysctl(source_sysctl, image, ex, package_diffs, owners):
    """``source_sysctl``: key -> (value, file) set by the source's own files (the overlay's)."""
    out = []
    img = image.get("sysctl") or {}
    by_package = {d.subject: d for d in package_diffs}
    for key in sorted(set(source_sysctl) | set(img)):
        a = source_sysctl.get(key)
        b = img.get(key)
        va, vb = a[0] if a else None, b[0] if b else None
        if va == vb:
            continue
        why = None
        if a is None and b is not None:
            pkg = owners.get(b[1])
            d = by_package.get(pkg)
            if pkg is not None and (d is None or d.source is not None):
                continue      # a package file the source has as well: the same setting there
            if d is not None and d.explained:
                why = (d.rule, "%s sets it, a package the image adds: %s" % (pkg, d.reason))
        out.append(_why("sysctl", key, va, "%s (%s)" % (vb, b[1]) if b else None, why))
    return out


# ------------------------------------------------------------------------------------- identity
def identity(source_identity, image, ex):
    out = []
    policy = ex.first("identity")
    img = image.get("identity") or {}
    pairs = [("machine-id", source_identity.get("machine_id"), img.get("machine_id"))]
    skeys, ikeys = source_identity.get("ssh_host_keys") or {}, img.get("ssh_host_keys") or {}
    for name in sorted(set(skeys) | set(ikeys)):
        pairs.append(("ssh " + name, skeys.get(name), ikeys.get(name)))
    for subject, a, b in pairs:
        if a == b:
            continue
        why = policy if policy is not None and policy.subject == "reset" else None
        out.append(_why("identity", subject, a, b, why))
    return out


# ------------------------------------------------------------------------------------- files
def files(rows, ex):
    """``rows``: (path, what, source, image) for overlay members that differ in the image."""
    out = []
    for path, what, a, b in rows:
        why = ex.file(path)
        if why is None and path.startswith("/var/log/") and what == "content":
            why = ex.warning("preflight-logs")
        if why is None and what == "content" and rebuilt_bytecode(ex.plan, path):
            why = (ex.first("install-packages").rule, "bytecode of a rebuilt package's module, regenerated by the "
                   "image's interpreter")
        if why is None and what == "content":
            why = _rootfs_install(ex, path, "rewritten")
        if why is None and what == "present" and boot_path(path):
            why = ex.warning_naming(R.OVERLAY_ABSENT, "")
        if why is None and what == "missing" and a == "symlink":
            prune = ex.first("prune-etc-links")
            if prune is not None and path.startswith("/etc/") and path not in prune.data.get("keep", ()):
                why = prune
        out.append(_why("files", "%s %s" % (path, what) if what != "content" else path, a, b, why))
    return out


# what the image's boot Changes write: its kernel, initramfs, loader and their links
BOOT_FILES = ("/boot/*", "/vmlinuz", "/vmlinuz.old", "/initrd.img", "/initrd.img.old", "/usr/lib/modules/*/modules.*",
              "/lib/modules/*/modules.*")


def _image_only_owner(path, owners, added):
    """The package a path belongs to through its nearest packaged ancestor, when every package owning that
    ancestor is one the image adds (its scripts made the path), else None."""
    parent = path
    while parent not in ("/", ""):
        parent = parent.rsplit("/", 1)[0] or "/"
        pkgs = owners.get(parent)
        if pkgs:
            return pkgs[0] if all(p in added for p in pkgs) else None
    return None


def _written_below(ex, path, contents):
    """The Change that wrote an extra directory: every file under it is one a Change writes."""
    if not contents:
        return None
    whys = [ex.file(p) for p in contents]
    return whys[0] if all(whys) else None


def _script_output(family, path, added):
    """[package] when ``path`` is what the scripts of a package the image adds create (the family's
    script_outputs), else None."""
    for pattern, globs in list(family.script_outputs.items()) + list(family.default_content.items()):
        if any(fnmatch.fnmatch(path, g) for g in globs):
            hits = [p for p in added if fnmatch.fnmatch(p, pattern)]
            if hits:
                return hits[:1]
    return None


def extras(rows, source, image, ex, context):
    """``rows``: (path, "extra", None, kind) of entries the image has and the source did not, ``context``
    the image's owners and alternatives links (extras.py)."""
    owners, alternatives, made_by = context["owners"], context["alternatives"], context.get("made_by") or {}
    family = distro_class(ex.plan.family, ex.plan.distro)
    residue = ex.first("remove-build-residue")
    src = {p["name"] for p in source.get("packages", ())}
    added = {n: why for n, why in package_explanations(source, image, ex).items() if n not in src}
    rebuild = ex.first("install-packages") or (_installs(ex) or [None])[0]
    boot = ex.first("regen-grub") or ex.first("regen-initramfs") or ex.first("install-kernel")
    out = []
    for path, what, a, b in rows:
        why = ex.file(path)
        if why is None and b == "dir":
            why = _written_below(ex, path, context.get("contents", {}).get(path))
        if why is None and residue is not None and path in residue.data.get("kept", ()):
            why = (residue.rule, "%s: %s" % (path, family.dib_kept.get(path, residue.reason)))
        owner = _image_only_owner(path, owners, added) if why is None else None
        if why is None and not owner:
            made = made_by.get(path) or _script_output(family, path, added)
            owner = made[0] if made and all(p in added for p in made) else None
        if owner:
            rule, reason = added[owner]
            why = (rule, "made by the install of %s, a package the image adds: %s" % (owner, reason))
        if why is None:
            why = _rootfs_install(ex, path, "written")
        if why is None and rebuild is not None:
            trigger = trigger_output(ex.plan, path)
            if trigger:
                why = (rebuild.rule, "regenerated by %s when the rebuild installed packages" % trigger)
            elif "/__pycache__" in path and path.split("/__pycache__")[0] in owners:
                why = (rebuild.rule, "bytecode the image's interpreter compiled for a package's modules at install")
            elif path in alternatives:
                why = (rebuild.rule, "a link of the alternatives system the rebuilt packages registered")
            elif path.startswith("/var/log/"):
                why = (rebuild.rule, "a log the build's package installs wrote")
        if why is None and boot is not None and any(fnmatch.fnmatch(path, g) for g in BOOT_FILES):
            why = boot
        out.append(_why("files", "%s extra" % path, a, b, why))
    return out


def differences(source, image, plan, overlay_rows=(), source_sysctl=None, source_identity=None,
                image_owners=None, extra_rows=(), extra_context=None):
    """Every difference between ``source`` (a report dict) and ``image`` (root_facts of the image)."""
    ex = Explainer(plan)
    pkg = packages(source, image, ex)
    out = host(source, image, ex) + pkg + services(source, image, ex, pkg) + network(source, image, ex)
    out += fstab(source, image, ex) + accounts(source, image, ex)
    if source_sysctl is not None:
        out += sysctl(source_sysctl, image, ex, pkg, image_owners or {})
    if source_identity is not None:
        out += identity(source_identity, image, ex)
    out += files(overlay_rows, ex)
    if extra_rows:
        out += extras(extra_rows, source, image, ex, extra_context)
    return out
