"""One check per Plan action, run against the mounted image root.

Each check gets a ``Ctx`` (the mounted image, the whole Plan, helpers with caches) and a
Change, and returns ``(ok, detail)``. ``CHECKS`` maps every action of the Plan model to
its check; an action without a check is a failure, never a silent pass.
"""
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from .. import network_files
from . import initramfs
from ..errors import InputError
from ..resync.record import Layers
from .archive import sha256_file

CHECKS = {}


def check(action):
    def deco(fn):
        CHECKS[action] = fn
        return fn
    return deco


class Ctx:
    """The mounted image plus lazily computed facts shared between checks."""

    def __init__(self, mounted, plan, plan_dir=None, overlay=None, resyncs=()):
        self.m = mounted
        self.root = Path(mounted.root)
        self.plan = plan
        self.plan_dir = Path(plan_dir) if plan_dir else None
        self.overlay = Path(overlay) if overlay else None
        self.resyncs = list(resyncs)     # deltas `resync` laid over the image, in order (IMAGE.resync.json)
        self._packages = None
        self._initrds = {}

    # -- files -------------------------------------------------------------------------
    def p(self, path):
        return self.root / str(path).lstrip("/")

    def read(self, path, default=None):
        try:
            return self.p(path).read_text(errors="replace")
        except OSError:
            return default

    def lexists(self, path):
        return os.path.lexists(self.p(path))

    def resolve(self, path, depth=0):
        """Host path of ``path`` in the image, following symlinks *inside* the image."""
        parts = Path(str(path)).parts[1:]
        cur = "/"
        for i, part in enumerate(parts):
            cand = os.path.join(cur, part)
            host = self.p(cand)
            if os.path.islink(host) and depth < 40:
                target = os.readlink(host)
                target = target if target.startswith("/") else os.path.join(cur, target)
                rest = os.path.join(os.path.normpath(target), *parts[i + 1:])
                return self.resolve(rest, depth + 1)
            cur = cand
        return self.p(cur)

    # -- packages ------------------------------------------------------------------------
    def packages(self):
        """Installed package names, from the image's own package database."""
        if self._packages is None:
            if self.p("/var/lib/dpkg/status").exists():
                self._packages = _dpkg_installed(self.read("/var/lib/dpkg/status", ""))
            elif any(self.p(d).is_dir() for d in ("/var/lib/rpm", "/usr/lib/sysimage/rpm")):
                self._packages = _rpm_installed(self)
            else:
                self._packages = set()
        return self._packages

    # -- boot ----------------------------------------------------------------------------
    def kernels(self):
        """Kernel versions with a vmlinuz in /boot, newest first."""
        vers = []
        for f in glob.glob(str(self.p("/boot")) + "/vmlinuz-*"):
            vers.append(os.path.basename(f)[len("vmlinuz-"):])
        return sorted(vers, key=_version_key, reverse=True)

    def initrd_path(self, version):
        for name in ("initrd.img-%s", "initramfs-%s.img", "initrd-%s", "initrd-%s.img"):
            f = self.p("/boot/" + name % version)
            if f.exists():
                return f
        return None

    def initrd_files(self, version):
        if version not in self._initrds:
            f = self.initrd_path(version)
            self._initrds[version] = initramfs.list_files(f) if f else None
        return self._initrds[version]

    def grub_cfg(self):
        for f in ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst",
                  "/boot/grub/grub.conf"):
            text = self.read(f)
            if text is not None:
                return f, text
        return None, None

    def fstab(self):
        out = []
        for line in (self.read("/etc/fstab", "") or "").splitlines():
            f = line.split()
            if f and not f[0].startswith("#"):
                out.append(f)
        return out


def _version_key(v):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.\-+~_]", v) if x]


def _dpkg_installed(text):
    names = set()
    for para in text.split("\n\n"):
        pkg = status = None
        for line in para.splitlines():
            if line.startswith("Package: "):
                pkg = line[9:].strip()
            elif line.startswith("Status: "):
                status = line[8:].strip()
        if pkg and status and status.endswith(" installed") and status.startswith("install "):
            names.add(pkg)
    return names


def _rpm_installed(ctx):
    # rpm may want to write lock/shm files beside its database: query a copy
    with tempfile.TemporaryDirectory() as tmp:
        for d in ("/usr/lib/sysimage/rpm", "/var/lib/rpm"):
            src = ctx.resolve(d)
            if src.is_dir() and any(src.iterdir()):
                shutil.copytree(src, tmp + "/db", dirs_exist_ok=True)
                break
        r = subprocess.run(["rpm", "--dbpath", tmp + "/db", "-qa", "--qf", "%{NAME}\\n"],
                           capture_output=True, text=True)
        return set(r.stdout.split())


# ---------------------------------------------------------------------------- packages
@check("install-packages")
def _install_packages(ctx, c):
    names = c.data.get("names", [])
    have = ctx.packages()
    missing = [n.split("=")[0] for n in names if n.split("=")[0].split(":")[0] not in have]
    if missing:
        return False, "%d of %d not installed: %s" % (len(missing), len(names), " ".join(missing[:15]))
    return True, "all %d installed" % len(names)


@check("install-package")
@check("install-kernel")
def _install_package(ctx, c):
    ok = c.subject in ctx.packages()
    return ok, "installed" if ok else "not installed"


@check("remove-package")
def _remove_package(ctx, c):
    ok = c.subject not in ctx.packages()
    return ok, "absent" if ok else "still installed"


# ---------------------------------------------------------------------------- services
_UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def _unit_state_links(ctx, unit):
    """is-enabled from the unit links alone, for hosts without systemctl."""
    etc = ctx.p("/etc/systemd/system")
    own = etc / unit
    if os.path.islink(own) and os.readlink(own) == "/dev/null":
        return "masked"
    if glob.glob(str(etc) + "/*.wants/" + unit) or glob.glob(str(etc) + "/*.requires/" + unit):
        return "enabled"
    for d in _UNIT_DIRS:
        f = ctx.p(d) / unit
        if os.path.lexists(f):
            if os.path.islink(f) and os.readlink(f) == "/dev/null":
                return "masked"
            text = ctx.read(str(Path(d) / unit), "") or ""
            return "disabled" if "[Install]" in text else "static"
    return None


def _unit_state(ctx, name):
    """systemd's is-enabled answer for ``name`` in the image, or None if no such unit."""
    unit = name if "." in name else name + ".service"
    if not shutil.which("systemctl"):
        return _unit_state_links(ctx, unit)
    r = subprocess.run(["systemctl", "--root", str(ctx.root), "is-enabled", unit],
                       capture_output=True, text=True)
    state = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    if state:
        return state
    return None


def _sysv_state(ctx, name):
    """'enabled'/'disabled' from /etc/rc?.d links, or None without an init script."""
    if not ctx.lexists("/etc/init.d/" + name):
        return None
    links = glob.glob(str(ctx.p("/etc")) + "/rc[2345].d/S??" + name) + \
        glob.glob(str(ctx.p("/etc/rc.d")) + "/rc[2345].d/S??" + name)
    return "enabled" if links else "disabled"


def service_state(ctx, name):
    if ctx.plan.init_system == "systemd":
        state = _unit_state(ctx, name)
        if state:
            return state
    return _sysv_state(ctx, name)


ENABLED = ("enabled", "enabled-runtime", "alias", "indirect", "generated", "static")


@check("enable-service")
def _enable(ctx, c):
    state = service_state(ctx, c.subject)
    if state is None:
        if not c.data.get("present", True):
            return True, "not in the image (not on the source either; tolerated)"
        return False, "no such service in the image"
    return state in ENABLED, state


def _alias_target(ctx, name):
    """The unit a packaged alias link names (bullseye's iptables.service -> netfilter-persistent.service)."""
    unit = name if "." in name else name + ".service"
    for d in _UNIT_DIRS:
        f = ctx.p(d) / unit
        if os.path.islink(f):
            # through the image's own links (bullseye: /etc/alternatives/iptables.service)
            target = os.path.basename(str(ctx.resolve("%s/%s" % (d, unit))))
            if target != unit and target != "null":
                return target
    return None


@check("disable-service")
def _disable(ctx, c):
    state = service_state(ctx, c.subject)
    if state is None:
        return True, "not in the image"
    if state == "alias":
        # an alias is as enabled as the unit it names: judge that one
        target = _alias_target(ctx, c.subject)
        if target is not None:
            tstate = _unit_state(ctx, target)
            return tstate in ("disabled", "masked", "masked-runtime", None), "alias of %s, which is %s" % (
                target, tstate or "absent")
    if state not in ("disabled", "masked", "masked-runtime"):
        return False, state
    # a socket left enabled starts the service anyway (libvirtd.socket)
    if ctx.plan.init_system == "systemd" and "." not in c.subject:
        sock = _unit_state(ctx, c.subject + ".socket")
        if sock in ("enabled", "enabled-runtime"):
            return False, "%s, but %s.socket is %s" % (state, c.subject, sock)
    return True, state


@check("mask-service")
def _mask(ctx, c):
    state = service_state(ctx, c.subject)
    if state is None:
        return True, "not in the image"
    return state in ("masked", "masked-runtime"), state


# ---------------------------------------------------------------------------- files
def _fields(line):
    return line.split()


@check("drop-fstab-line")
def _drop_fstab(ctx, c):
    old = _fields(c.data.get("line", ""))
    fstab = ctx.fstab()
    if not old:
        return False, "plan has no line"
    for f in fstab:
        if f[:2] == old[:2] or (old[0].startswith("/dev/") and f[0] == old[0]):
            return False, "still in fstab: %s" % " ".join(f)
        if len(f) > 2 and f[2] in ("nfs", "nfs4") and len(old) > 2 and old[2] in ("nfs", "nfs4"):
            if f[0] == old[0]:
                return False, "NFS line still in fstab: %s" % " ".join(f)
    if c.subject == "/":
        root = [f for f in fstab if len(f) > 1 and f[1] == "/"]
        if not root:
            return False, "fstab has no root line"
        spec = root[0][0]
        # SPEC: the image mounts its root by UUID, and that UUID must be the disk's own
        if not spec.startswith("UUID="):
            return False, "root mounted by %s, not by UUID" % spec
        if ctx.m.root_uuid and spec[5:] != ctx.m.root_uuid:
            return False, "root %s, but the root filesystem is UUID=%s" % (spec, ctx.m.root_uuid)
        return True, "root now %s" % spec
    return True, "absent"


@check("keep-fstab-line")
def _keep_fstab(ctx, c):
    want = _fields(c.data.get("line", ""))
    for f in ctx.fstab():
        if f[:4] == want[:4]:
            return True, "present"
    return False, "missing: %s" % " ".join(want)


@check("reset-adjtime")
def _adjtime(ctx, c):
    text = ctx.read("/etc/adjtime")
    if text is None:
        return False, "/etc/adjtime missing"
    lines = text.splitlines()
    if text.strip() == c.data.get("content", "").strip():
        return True, "drift reset, %s kept" % c.data.get("mode")
    drift = lines[0].split()[0] if lines and lines[0].split() else "?"
    mode = lines[2].strip() if len(lines) > 2 else "?"
    return False, "drift %s, mode %s (want %r)" % (drift, mode, c.data.get("content"))


def _same_content(ctx, path, content):
    text = ctx.read(path)
    if text is None:
        return False, "%s missing" % path
    if text == content:
        return True, "content matches"
    return False, "content differs (%d bytes, plan %d)" % (len(text), len(content))


@check("cloud-config")
@check("write-hosts")
@check("write-network-file")
def _file_content(ctx, c):
    return _same_content(ctx, c.subject, c.data.get("content", ""))


@check("agent-config")
def _agent_config(ctx, c):
    text = ctx.read(c.subject)
    if text is None:
        return False, "%s missing" % c.subject
    conf = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            conf[k.strip()] = v.strip()
    bad = ["%s=%s (want %s)" % (k, conf.get(k), v) for k, v in c.data.get("settings", {}).items()
           if conf.get(k) != str(v)]
    return not bad, "; ".join(bad) or "%d settings" % len(c.data.get("settings", {}))


@check("remove-file")
def _remove_file(ctx, c):
    hits = [h for h in glob.glob(str(ctx.p(c.subject))) if os.path.lexists(h)]
    if os.path.lexists(ctx.p(c.subject)) and str(ctx.p(c.subject)) not in hits:
        hits.append(str(ctx.p(c.subject)))
    return not hits, "absent" if not hits else "present"


@check("prune-etc-links")
def _prune_links(ctx, c):
    keep, skip = set(c.data["keep"]), c.data["skip"]
    extra = []
    for dirpath, dirs, files in os.walk(str(ctx.p("/etc"))):
        for name in dirs + files:
            host = os.path.join(dirpath, name)
            if not os.path.islink(host):
                continue
            inner = "/" + os.path.relpath(host, str(ctx.root))
            if inner not in keep and not any(inner == d or inner.startswith(d + "/") for d in skip):
                extra.append(inner)
    return not extra, ("links not on the source: %s" % ", ".join(sorted(extra)[:5]) if extra
                       else "no /etc link beyond the source's")


@check("remove-absent-files")
def _absent_files(ctx, c):
    present = [p for p in c.data["paths"] if ctx.lexists(p)]
    return not present, ("present: %s" % ", ".join(present[:5]) if present
                         else "%d path(s) absent, as on the source" % len(c.data["paths"]))


@check("remove-build-residue")
def _residue(ctx, c):
    present = [p for p in c.data["paths"] if ctx.lexists(p)]
    present += [d for d in c.data.get("empty_dirs", ()) if os.path.isdir(ctx.p(d)) and not os.listdir(ctx.p(d))]
    return not present, ("left in the image: %s" % ", ".join(present[:5]) if present
                         else "%d path(s) of the build removed" % len(c.data["paths"]))


@check("selinux-relabel")
def _selinux(ctx, c):
    ok = ctx.lexists(c.subject)
    return ok, "present" if ok else "%s missing" % c.subject


@check("identity")
def _identity(ctx, c):
    mid = (ctx.read("/etc/machine-id", "") or "").strip()
    keys = glob.glob(str(ctx.p("/etc/ssh")) + "/ssh_host_*_key")
    problems = []
    if c.subject == "reset":
        if mid and mid != "uninitialized":
            problems.append("machine-id set (%s)" % mid[:8])
        if keys:
            problems.append("%d SSH host keys in the image" % len(keys))
        if glob.glob(str(ctx.p("/var/lib/cloud/instances")) + "/*"):
            problems.append("cloud-init instance state present")
    elif c.subject == "keep":
        if not keys and ctx.lexists("/etc/ssh"):
            problems.append("no SSH host keys")
        # "uninitialized"/empty makes systemd invent a new id at first boot: not kept
        if not re.match(r"^[0-9a-f]{32}$", mid):
            problems.append("machine-id is %r: systemd would make a new one" % (mid or "empty"))
    else:
        return False, "unknown identity policy %r" % c.subject
    summary = "machine-id %s, %d host keys" % (mid[:8] or "empty", len(keys))
    return not problems, "; ".join(problems) or summary


@check("provision-key")
def _provision_key(ctx, c):
    # the image verify reads is the one Packer's provisioning boot wrote: the key must be gone
    text = ctx.read(c.subject)
    if text is None:
        return True, "temporary key gone (no %s)" % c.subject
    key = " ".join(c.data["public_key"].split()[:2])
    left = [ln for ln in text.splitlines() if c.data["marker"] in ln or (key and key in ln)]
    if left:
        return False, "temporary key still in %s (%d line(s)): run the provisioning template " \
            "(<host>-<target>.provision.packer.json)" % (c.subject, len(left))
    return True, "temporary key gone; %d other line(s) kept" % len(text.splitlines())


@check("firstboot")
def _firstboot(ctx, c):
    unit = c.subject if "." in c.subject else c.subject + ".service"
    for d in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        if ctx.lexists("%s/%s" % (d, unit)):
            state = service_state(ctx, c.subject)
            return state in ENABLED, "%s %s" % (unit, state)
    if ctx.lexists("/etc/init.d/" + c.subject):
        state = _sysv_state(ctx, c.subject)
        return state == "enabled", "init script %s" % state
    return False, "no %s in the image" % unit


def _excluded(plan, path):
    """Whether the Plan leaves ``path`` out of the overlay (skip-esp: overlay/exclude)."""
    return any(path == c.subject or path.startswith(c.subject.rstrip("/") + "/")
               for c in plan.changes if c.action == "skip-esp")


# a UEFI machine without an NVRAM entry for the image (every new instance) boots this file of the ESP
REMOVABLE_LOADER = "/EFI/BOOT/BOOTX64.EFI"


def _fat_files(device):
    """Paths in a FAT filesystem, read with dosfstools' fsck.fat -n (no mount: no vfat needed); None if unreadable."""
    if not shutil.which("fsck.fat"):
        return None
    r = subprocess.run(["fsck.fat", "-n", "-l", device], capture_output=True, text=True, timeout=120)
    if r.returncode not in (0, 1):
        return None
    return {m.group(1).upper() for m in re.finditer(r"(?m)^Checking file (/\S+)", r.stdout)}


@check("skip-esp")
def _skip_esp(ctx, c):
    left = [str(Path(d, f)) for d, _, files in os.walk(ctx.p(c.subject)) for f in files]
    if left:
        return False, "%d source file(s) under %s in the root filesystem (first: %s)" % (
            len(left), c.subject, left[0][len(str(ctx.root)):])
    if c.data.get("firmware") != "uefi":
        return True, "nothing of the source's ESP in the image (BIOS image: no ESP)"
    esp = [p for p in ctx.m.partitions if p.get("TYPE") == "vfat"]
    if not esp:
        return False, "UEFI image without an EFI system partition (no vfat partition)"
    files = _fat_files(esp[0]["DEVNAME"])
    if files is None:
        return True, "nothing of the source's ESP in the root filesystem; the ESP (%s) not read: no fsck.fat" % (
            esp[0]["DEVNAME"])
    if REMOVABLE_LOADER not in files:
        return False, "the image's ESP has no %s (the removable path a new machine boots): %s" % (
            REMOVABLE_LOADER, ", ".join(sorted(files)[:8]) or "empty")
    return True, "the image's ESP boots through %s (%d files); nothing of the source's ESP carried" % (
        REMOVABLE_LOADER, len(files))


def _find_overlay(ctx, c):
    if ctx.overlay:
        return ctx.overlay
    if ctx.plan_dir is None:
        return None
    for cand in [ctx.plan_dir / c.subject] + sorted(ctx.plan_dir.glob("**/migrate-data/overlay/archive.tar")):
        if cand.is_file():
            return cand
    return None


def package_state_paths(plan):
    """glob -> who rewrites it, for what a package install rewrites in a root that already holds its
    package database (the rootfs strategy's): the databases and caches the scan's changed-files mode
    leaves out, and the outputs of the family's package triggers (distros/: trigger_outputs)."""
    from ..scan.overlay.selection import PACKAGE_DATABASES
    out = {d + "/*": "the package database" for d in PACKAGE_DATABASES}
    out.update((g, "%s's trigger" % package) for g, package in _trigger_globs(plan).items())
    return out


def _trigger_globs(plan):
    """glob -> the package whose trigger regenerates what it matches (the family's trigger_outputs)."""
    from ..distros import distro_class
    return {g: package for package, globs in distro_class(plan.family, plan.distro).trigger_outputs.items()
            for g in globs}


def package_state_path(plan, path):
    """Who rewrites ``path`` when the build installs packages into the source tree, or None."""
    if installs_into_the_source_tree(plan):
        for pattern, who in package_state_paths(plan).items():
            if fnmatch.fnmatch(path, pattern):
                return who
    return None


def trigger_output(plan, path):
    """Which package's trigger regenerates ``path`` whenever packages are installed, or None."""
    return next((package for g, package in _trigger_globs(plan).items() if fnmatch.fnmatch(path, g)), None)


def installs_into_the_source_tree(plan):
    """The rootfs strategy with packages the build installs (the injected kernel or loader, DIB's own)."""
    return plan.strategy == "rootfs" and bool(plan.by_action("install-package") or plan.by_action("install-kernel"))


# bytecode of the system Python's own modules: the image's interpreter (py3compile at package installs)
# writes it for the rebuilt packages' .py files, which the source's copies do not match (the bullseye cells)
SYSTEM_BYTECODE = "/usr/lib/python3*/__pycache__/*.pyc"


def rebuilt_bytecode(plan, path):
    """Whether ``path`` is system-module bytecode a package rebuild regenerates."""
    return bool(plan.by_action("install-packages")) and (
        fnmatch.fnmatch(path, SYSTEM_BYTECODE) or fnmatch.fnmatch(path, "/usr/lib/python3/dist-packages/*.pyc"))


def _managed_paths(plan):
    """Paths that other Changes (or DIB itself) legitimately rewrite after the overlay."""
    # shadow's backups (passwd- &c.) follow the account files whenever a user is added (sysusers at a boot)
    paths = {"/etc/fstab", "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
             "/etc/passwd-", "/etc/group-", "/etc/shadow-", "/etc/gshadow-",
             "/etc/default/grub", "/etc/resolv.conf", "/etc/hostname", "/etc/apt/sources.list",
             "/var/log/*"}   # logs: the build appends to dpkg.log &c.
    if plan.identity != "keep":
        # a template image regenerates these: only a kept identity must equal the source's
        paths |= {"/etc/machine-id", "/var/lib/dbus/machine-id", "/etc/ssh/ssh_host_*"}
    if installs_into_the_source_tree(plan):
        paths |= set(package_state_paths(plan))
    for ch in plan.changes:
        if ch.action in ("write-hosts", "reset-adjtime", "cloud-config", "agent-config", "remove-file"):
            paths.add(ch.subject)
        if ch.action == "set-network":
            paths.add(network_files.config_path(ch))
            if ch.data.get("file"):
                paths.add(ch.data["file"])
    # the members' files, .netdev and route files render writes beside the interfaces' own
    paths |= set(network_files.interface_files(plan.by_action("set-network")))
    return paths


# enable/disable/mask links: the service Changes decide these, not the overlay
_SERVICE_LINKS = re.compile(r"^/etc/(systemd/system/|rc[0-6S]\.d/|rc\.d/rc[0-6]\.d/)")
# unit link directories: a directory whose last link a service Change removed is gone, rightly
SERVICE_DIRS = re.compile(r"^/etc/systemd/system/[^/]+\.(wants|requires)$")


def _member_problems(ctx, path, m, digest):
    """How the image's ``path`` differs from the archive member ``m`` (``digest``: its data's
    sha256): a list, empty when it matches; None for entries the overlay does not decide."""
    if m.issym() and _SERVICE_LINKS.match(path) or m.isdir() and SERVICE_DIRS.match(path):
        return None     # service state is the service Changes' business
    if not (m.issym() or m.isdir() or m.isfile() or m.islnk()):
        return None     # device and fifo nodes: the image's own /dev and /run decide
    host = ctx.p(path)
    try:
        st = os.lstat(host)
    except OSError:
        return ["%s missing" % path]
    if m.issym():
        if not stat.S_ISLNK(st.st_mode) or os.readlink(host) != m.linkname:
            return ["%s: not the symlink to %s" % (path, m.linkname)]
        return []
    bad = []
    if m.isdir():
        if not stat.S_ISDIR(st.st_mode):
            bad.append("%s: not a directory" % path)
    elif m.isfile():
        if not stat.S_ISREG(st.st_mode):
            return ["%s: not a regular file" % path]
        if digest != sha256_file(host):
            bad.append("%s: content differs" % path)
    if stat.S_IMODE(st.st_mode) != m.mode & 0o7777:
        bad.append("%s: mode %o, source %o" % (path, stat.S_IMODE(st.st_mode), m.mode & 0o7777))
    if (st.st_uid, st.st_gid) != (m.uid, m.gid):
        bad.append("%s: owner %d:%d, source %d:%d" % (path, st.st_uid, st.st_gid, m.uid, m.gid))
    return bad


@check("apply-overlay")
def _overlay(ctx, c):
    archive = _find_overlay(ctx, c)
    if archive is None:
        return True, "archive not at hand: contents not compared (give --overlay)"
    if c.data.get("sha256") and sha256_file(archive) != c.data["sha256"] and archive.name == c.subject:
        return False, "%s does not match the plan's sha256" % archive
    try:
        layers = Layers(archive, ctx.resyncs)
    except InputError as e:
        return False, str(e)
    managed = _managed_paths(ctx.plan)
    skipped = {}     # why -> member paths, so the summary says what was not compared
    members = checked = laid = 0
    bad = []
    for path, m, tar, layer in layers.members():
        members += 1
        laid += layer > 0
        if path == "/":
            skipped.setdefault("the root directory itself", []).append(path)
            continue
        if path in managed or any(fnmatch.fnmatch(path, g) for g in managed):
            skipped.setdefault("rewritten by other Changes or the build", []).append(path)
            continue
        if _excluded(ctx.plan, path):
            skipped.setdefault("left out by skip-esp (the image's boot loader fills its ESP)", []).append(path)
            continue
        if rebuilt_bytecode(ctx.plan, path):
            skipped.setdefault("system Python bytecode the rebuilt packages regenerate", []).append(path)
            continue
        digest = hashlib.sha256(tar.extractfile(m).read()).hexdigest() if m.isfile() else None
        problems = _member_problems(ctx, path, m, digest)
        if problems is None:
            why = ("service links (checked by the service Changes)" if m.issym() or m.isdir()
                   else "device and fifo nodes")
            skipped.setdefault(why, []).append(path)
            continue
        checked += 1
        bad.extend(problems)
    for path in sorted(layers.gone):
        if ctx.lexists(path):
            bad.append("%s: deleted at resync, present" % path)
    skip = _skipped_text(skipped)
    if bad:
        return False, "%d differences: %s; of %d members %d compared%s" % (
            len(bad), "; ".join(sorted(bad)[:8]), members, checked, skip)
    extra = (", %d resync(s): %d entries laid, %d deleted" % (len(ctx.resyncs), laid, len(layers.gone))
             if ctx.resyncs else "")
    return True, "%d of %d members match (content, mode, owner)%s%s" % (checked, members, extra, skip)


def _skipped_text(skipped):
    """"; N not compared: k why (first paths), ..." for the verify line."""
    if not skipped:
        return ""
    parts = []
    for why, paths in sorted(skipped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        parts.append("%d %s (%s%s)" % (len(paths), why, ", ".join(paths[:3]), ", ..." if len(paths) > 3 else ""))
    return "; %d not compared: %s" % (sum(len(p) for p in skipped.values()), "; ".join(parts))


# ---------------------------------------------------------------------------- network
_MAC_BINDINGS = re.compile(r"(?im)^\s*(hwaddress|HWADDR|MACADDR|mac-address|macaddress|MACAddress)\b")


def _network_text(ctx, path):
    texts = []
    t = ctx.read(path)
    if t is not None:
        texts.append(t)
    for pattern in network_files.config_texts_paths(path):
        for f in sorted(glob.glob(str(ctx.p(pattern)))):
            try:
                texts.append(Path(f).read_text(errors="replace"))
            except OSError:
                pass
    return "\n".join(texts) if texts else None


@check("set-network")
def _set_network(ctx, c):
    d = c.data
    path = network_files.config_path(c)     # where render wrote it
    text = _network_text(ctx, path)
    if text is None:
        return False, "%s missing" % path
    name = c.subject
    if name not in text:
        return False, "%s not named in %s" % (name, path)
    missing = []
    for a in d.get("addresses") or []:
        if a.split("/")[0] not in text:
            missing.append(a)
    if d.get("gateway") and d["gateway"] not in text:
        missing.append("gateway " + d["gateway"])
    for ns in d.get("dns") or []:
        if ns not in text and ns not in (ctx.read("/etc/resolv.conf", "") or ""):
            missing.append("dns " + ns)
    manager = d.get("manager")
    mode = d.get("mode")
    if manager == "ifupdown":
        m = re.search(r"(?m)^\s*iface\s+%s\s+inet6?\s+(\S+)" % re.escape(name), text)
        if not m:
            missing.append("iface %s stanza" % name)
        elif mode == "static" and m.group(1) != "static" or mode == "dhcp" and m.group(1) != "dhcp":
            missing.append("iface %s is %s" % (name, m.group(1)))
    elif mode == "dhcp" and manager == "network-scripts" and not re.search(r"(?im)^BOOTPROTO=\"?dhcp", text):
        missing.append("BOOTPROTO=dhcp")
    mac = _MAC_BINDINGS.search(text)
    if mac:
        missing.append("MAC binding %s left" % mac.group(1))
    rendered = []
    if ctx.plan is not None:
        # every file render wrote for this interface (its own, its members', its .netdev or route files)
        for p, (content, owners) in sorted(network_files.owned_files(ctx.plan.by_action("set-network")).items()):
            if name in owners:
                ok, detail = _same_content(ctx, p, content)
                rendered.append(p)
                if not ok and ctx.read(p) is None:
                    missing.append(detail)
                elif not ok:
                    # name what differs (a bond option, an address...): the Plan's lines the image's file lacks
                    have = set(ctx.read(p).splitlines())
                    lost = [ln.strip() for ln in content.splitlines()
                            if ln.strip() and not ln.lstrip().startswith("#") and ln not in have]
                    missing.append("%s: %s%s" % (p, detail, " (the Plan's %s not in it)" % ", ".join(
                        repr(ln) for ln in lost[:5]) if lost else ""))
    if missing:
        return False, "; ".join(missing)
    return True, "%s %s in %s" % (name, mode, ", ".join(rendered) or path)


# ---------------------------------------------------------------------------- boot
_GRUB_CMDLINE = re.compile(r"""(?m)^\s*GRUB_CMDLINE_LINUX(?:_DEFAULT)?=["']?([^"'\n]*)""")


def _linux_lines(text):
    return [ln.strip() for ln in text.splitlines() if re.match(r"\s*(linux|linux16|linuxefi|kernel)\s", ln)]


def _grub_kernel_lines(ctx):
    """(grub.cfg path, its kernel lines, why there are none or None)."""
    path, text = ctx.grub_cfg()
    if text is None:
        return path, [], "no grub configuration"
    lines = _linux_lines(text)
    return path, lines, None if lines else "%s has no kernel line" % path


@check("kernel-args")
def _kernel_args(ctx, c):
    path, lines, problem = _grub_kernel_lines(ctx)
    if problem:
        return False, problem
    first = lines[0].split()
    args = c.data.get("args", c.subject.split())
    missing = [a for a in args if a not in first]
    if missing:
        return False, "default entry lacks %s" % " ".join(missing)
    # the next kernel update regenerates grub.cfg from /etc/default/grub: the args must
    # be there too, or they vanish on the first `apt upgrade`
    default = ctx.read("/etc/default/grub")
    if default is not None:
        words = []
        for m in _GRUB_CMDLINE.finditer(default):
            words += m.group(1).split()
        for f in glob.glob(str(ctx.p("/etc/default/grub.d")) + "/*.cfg"):
            for m in _GRUB_CMDLINE.finditer(Path(f).read_text()):
                words += m.group(1).replace("$GRUB_CMDLINE_LINUX_DEFAULT", "").replace(
                    "$GRUB_CMDLINE_LINUX", "").split()
        lost = [a for a in args if a not in words]
        if lost:
            return False, "in %s but not in /etc/default/grub: %s" % (path, " ".join(lost))
    return True, "in the default entry of %s and /etc/default/grub" % path


@check("initramfs-drivers")
def _drivers(ctx, c):
    kernels = ctx.kernels()
    if not kernels:
        return False, "no kernel in /boot"
    want = [d.replace("-", "_") for d in c.data.get("drivers", c.subject.split())]
    problems = []
    for ver in kernels[:1]:      # the default (newest) kernel is the one that boots
        files = ctx.initrd_files(ver)
        if files is None:
            return False, "no initramfs for %s" % ver
        mods = initramfs.modules(files)
        builtin = initramfs.modules((ctx.read("/lib/modules/%s/modules.builtin" % ver, "") or "").split())
        missing = [d for d in want if d not in mods and d not in builtin]
        if missing:
            problems.append("%s lacks %s" % (ver, " ".join(missing)))
    if problems:
        return False, "; ".join(problems)
    return True, "all %d in the initramfs of %s" % (len(want), kernels[0])


@check("regen-initramfs")
def _regen_initramfs(ctx, c):
    kernels = ctx.kernels()
    if not kernels:
        return False, "no kernel in /boot"
    missing = [k for k in kernels if ctx.initrd_path(k) is None]
    if missing:
        return False, "no initramfs for %s" % " ".join(missing)
    for k in kernels[:1]:
        files = ctx.initrd_files(k)
        # host-only initramfs hold a handful of modules; a generic one hundreds
        if len(initramfs.modules(files)) < 50:
            return False, "initramfs of %s is host-only (%d modules)" % (k, len(initramfs.modules(files)))
    return True, "%d kernel(s), each with an initramfs" % len(kernels)


@check("regen-grub")
def _regen_grub(ctx, c):
    path, lines, problem = _grub_kernel_lines(ctx)
    if problem:
        return False, problem
    kernels = ctx.kernels()
    if kernels and not any("vmlinuz-" + kernels[0] in ln for ln in lines):
        return False, "%s does not boot the newest kernel %s" % (path, kernels[0])
    roots = {m.group(1) for ln in lines for m in [re.search(r"\broot=(\S+)", ln)] if m}
    bad = [r for r in roots if r.startswith("/dev/") and not r.startswith("/dev/mapper/")]
    if bad:
        return False, "kernel root= by device name: %s" % " ".join(sorted(bad))
    return True, "%s boots %s with root=%s" % (path, kernels[0] if kernels else "?", ",".join(sorted(roots)))


@check("growroot")
def _growroot(ctx, c):
    have = ctx.packages()
    pkgs = c.data.get("packages", [])
    missing = [p for p in pkgs if p not in have]
    if missing:
        return False, "not installed: %s" % " ".join(missing)
    if c.data.get("method") == "cloud-init" and "cloud-init" not in have:
        return False, "cloud-init not installed"
    return True, "%s (%s)" % (c.data.get("method", "growroot"), " ".join(pkgs) or "no packages")


def image_checks(ctx):
    """Checks of the disk as a whole: (name, ok, detail) rows beyond the Changes."""
    out = []
    fmt_want = {"qcow2": "qcow2", "raw": "raw", "vhd": "vpc", "vpc": "vpc"}.get(ctx.plan.build.output_format)
    out.append(("format", ctx.m.format == fmt_want, "%s (want %s)" % (ctx.m.format, fmt_want)))
    if ctx.plan.target == "azure":
        ok = ctx.m.virtual_size % (1 << 20) == 0
        out.append(("size-mib", ok, "virtual size %d%s a multiple of 1 MiB"
                    % (ctx.m.virtual_size, "" if ok else " NOT")))
    return out


def plan_json_in_image(ctx):
    """The plan the element set recorded in the image, if any (for the log only)."""
    for f in ("/etc/dib-migrate/plan.json", "/var/lib/dib-migrate/plan.json"):
        t = ctx.read(f)
        if t:
            try:
                return json.loads(t)
            except ValueError:
                return None
    return None
