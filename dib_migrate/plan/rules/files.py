"""overlay, overlay-absent, dib-residue, fstab-nfs, fstab-blockdev, fstab-swap, fstab-keep, clock-adjtime."""
import re

from ... import rule_registry as R
from ..model import Change

NFS_TYPES = ("nfs", "nfs4")
# network filesystems that stay in fstab: the share may not be reachable from the new network
REMOTE_TYPES = ("cifs", "smbfs", "smb3", "glusterfs", "ceph", "fuse.sshfs", "sshfs", "davfs", "fuse.glusterfs")
DEVICE_PATH = re.compile(r"^/dev/(xvd|sd|hd|vd|nvme|mmcblk|disk/by-(path|id))")
BY_ID = re.compile(r"^(UUID|LABEL|PARTUUID|PARTLABEL)=|^/dev/disk/by-(uuid|label)/")
# mount points the image's own partition layout provides (root is handled on its own)
IMAGE_LAYOUT = ("/boot", "/boot/efi")
PSEUDO_TYPES = ("tmpfs", "proc", "sysfs", "devpts", "devtmpfs", "securityfs", "cgroup", "cgroup2",
                "debugfs", "hugetlbfs", "mqueue", "bind", "none", "efivarfs")


def overlay(ctx):
    ov = ctx.report.overlay
    if ov is None:
        return
    what = ("the whole root filesystem" if ov.mode == "full"
            else "files not owned by a package or changed from it")
    yield Change("apply-overlay", ov.path.name, R.OVERLAY,
                 "%d scanned files (%s) laid over the image with the source's owners and modes; "
                 "ids the rebuild shifted are reconciled to the source's; accounts only the rebuilt image "
                 "has (its packages made them) are kept unless their id is the source's" % (ov.files, what),
                 {"mode": ov.mode, "files": ov.files, "bytes": ov.bytes, "sha256": ov.sha256,
                  "compression": ov.compression, "accounts": "merged"})


ESP = "/boot/efi"


def esp(ctx):
    """The source's ESP tree is the old disk's boot loader, not server data: its grub.cfg stub searches the old
    root's UUID, and a carried EFI/<distro> directory makes DIB's bootloader skip its removable-path install."""
    if ctx.report.overlay is None:
        return
    files, size = ctx.carried_under(ESP)
    if not files:
        return
    if ctx.report.firmware == "uefi":
        why = ("the image's boot loader installs GRUB EFI on the image's own EFI system partition, on the removable "
               "path (EFI/BOOT/BOOTX64.EFI) that a new machine's firmware boots without an NVRAM entry, with a "
               "grub.cfg for the image's disk; the source's copies would name the old disk (and a carried "
               "EFI/<distro> directory stops that install)")
    else:
        why = "the image boots through BIOS and has no EFI system partition"
    yield Change("skip-esp", ESP, R.OVERLAY_ESP,
                 "%d files (%d bytes) of the source's EFI system partition are not laid from the scan: %s; "
                 "anything else the source kept there (firmware tools, other loaders) is not carried"
                 % (files, size, why),
                 {"files": files, "bytes": size, "firmware": ctx.report.firmware})


# links here follow other rules (services, alternatives) or are regenerated (certificates)
PRUNE_SKIP = ("/etc/systemd", "/etc/alternatives", "/etc/rc0.d", "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d",
              "/etc/rc4.d", "/etc/rc5.d", "/etc/rc6.d", "/etc/rcS.d", "/etc/rc.d", "/etc/ssl/certs",
              "/etc/init.d", "/etc/cloud", "/etc/udev")


def prune_links(ctx):
    r = ctx.report
    if r.etc_symlinks is None or ctx.options.strategy != "packages" or r.overlay is None:
        return
    yield Change("prune-etc-links", "/etc", R.OVERLAY_LINKS,
                 "symlinks the rebuild's install scripts create under /etc that the source did not have "
                 "(e.g. a default site it disabled) are removed; the source had %d" % len(r.etc_symlinks),
                 {"keep": list(r.etc_symlinks), "skip": list(PRUNE_SKIP)})


# what the image's own boot needs (its kernel's modules and firmware on new virtual hardware): kept
BOOT_PATHS = ("/boot", "/lib/modules", "/usr/lib/modules", "/lib/firmware", "/usr/lib/firmware")


def boot_path(path):
    return any(path == b or path.startswith(b + "/") for b in BOOT_PATHS)


def _script_outputs_absent(ctx):
    """(package, path): content a source package's scripts put in place (the family's default_content: a
    default page) that the source lacks: its overlay is complete there and does not carry it."""
    import fnmatch
    ov = ctx.report.overlay
    if ov is None or ov.left_out is None:
        return
    for pattern, globs in sorted(ctx.family.default_content.items()):
        for name in sorted(p.name for p in ctx.report.packages if fnmatch.fnmatch(p.name, pattern)):
            for path in globs:
                if not any(c in path for c in "*?[") and ov.complete_at(path) and not ctx.carries(path):
                    yield name, path


def absent_files(ctx):
    """A changed-files overlay cannot carry a removal: what the rebuild installs again of the files the source's
    admin removed from its packages goes again, a Change per package (boot paths: preflight's warning)."""
    r = ctx.report
    if ctx.options.strategy != "packages":
        return
    by_package = {}
    for path, package in r.absent_package_files:
        if not boot_path(path):
            by_package.setdefault(package or "rpm", []).append(path)
    for package, path in _script_outputs_absent(ctx):
        by_package.setdefault(package, []).append(path)
    for package in sorted(by_package):
        paths = by_package[package]
        yield Change("remove-absent-files", package, R.OVERLAY_ABSENT,
                     "%d file(s) %s installs or its scripts create are absent from the source (its admin removed "
                     "them: %s%s); the rebuild installs them again, so they are removed from the image"
                     % (len(paths), package if package != "rpm" else "the packages", ", ".join(paths[:3]),
                        ", ..." if len(paths) > 3 else ""), {"paths": paths})


def dib_residue(ctx):
    fam = ctx.family
    paths = [p for p in fam.dib_residue if not ctx.carries(p)]
    kept = {p: why for p, why in fam.dib_kept.items() if not ctx.carries(p)}
    if not paths and not kept:
        return
    own = ", the source's own files of those names excepted" if len(paths) < len(fam.dib_residue) else ""
    yield Change("remove-build-residue", "diskimage-builder", R.DIB_RESIDUE,
                 "DIB's build tools, package maps and apt settings are removed once the image is built (%d paths%s), "
                 "and the directories it makes for a cloud-init the image may not have, when empty; kept: %s"
                 % (len(paths), own, "; ".join("%s (%s)" % kv for kv in sorted(kept.items()))),
                 {"paths": paths, "empty_dirs": [d for d in fam.dib_residue_dirs if not ctx.carries(d)],
                  "kept": sorted(kept)})


def _with_nofail(options):
    opts = options.split(",")
    return options if "nofail" in opts else ",".join(opts + ["nofail"])


def fstab_entry(ctx, e):
    line = e.line()
    where = "fstab line %d `%s %s %s`" % (e.index, e.spec, e.mountpoint, e.fstype)
    data = {"line": line, "index": e.index}
    if e.fstype in NFS_TYPES:
        return Change("drop-fstab-line", e.mountpoint, R.FSTAB_NFS,
                      "%s removed: NFS mounts are not carried over" % where, data)
    if e.mountpoint == "/":
        return Change("drop-fstab-line", e.mountpoint, R.FSTAB_BLOCKDEV,
                      "%s replaced: the image mounts its root by UUID" % where, data)
    if e.mountpoint in IMAGE_LAYOUT:
        # DIB's fstab mounts the image's own /boot/efi; a second line would mount a missing disk there
        return Change("drop-fstab-line", e.mountpoint, R.FSTAB_BLOCKDEV,
                      "%s replaced: the image's own partition layout provides %s" % (where, e.mountpoint),
                      data)
    if e.fstype == "swap":
        if not ctx.target.swap_on_os_disk:
            why = "%s has no swap on the OS disk" % ctx.target.name
        elif e.spec.startswith("/dev/") or BY_ID.match(e.spec):
            # a partition, LVM volume or dm device of the old disks, not a file in the root filesystem
            why = "the swap device is not part of the image"
        else:
            return Change("keep-fstab-line", e.mountpoint, R.FSTAB_SWAP,
                          "%s kept with nofail; the swap file itself is not carried (the scan leaves swap files "
                          "out): until %s is made again (fallocate, mkswap) the image runs without swap"
                          % (where, e.spec),
                          dict(data, line="%s %s %s %s %d %d" % (e.spec, e.mountpoint, e.fstype,
                                                                 _with_nofail(e.options), e.dump, e.passno)))
        return Change("drop-fstab-line", e.spec, R.FSTAB_SWAP, "%s removed: %s" % (where, why), data)
    if DEVICE_PATH.match(e.spec):
        files, size = ctx.carried_under(e.mountpoint)
        if files:
            why = "its %d files (%d bytes) the scan captured are carried in the image's root filesystem" % (
                files, size)
        else:
            why = "its files are NOT carried: the scan holds none under %s (see the preflight-disk warning)" % (
                e.mountpoint)
        return Change("drop-fstab-line", e.mountpoint, R.FSTAB_BLOCKDEV,
                      "%s removed: %s names a disk of the old platform; %s" % (where, e.spec, why), data)
    if e.fstype in REMOTE_TYPES:
        new = "%s %s %s %s %d %d" % (e.spec, e.mountpoint, e.fstype, _with_nofail(e.options), e.dump, e.passno)
        return Change("keep-fstab-line", e.mountpoint, R.FSTAB_REMOTE,
                      "%s kept with nofail: the share may not be reachable from the new network, and boot must "
                      "not wait for it" % where, dict(data, line=new))
    if BY_ID.match(e.spec) and e.fstype not in PSEUDO_TYPES:
        new = "%s %s %s %s %d %d" % (e.spec, e.mountpoint, e.fstype, _with_nofail(e.options), e.dump, e.passno)
        return Change("keep-fstab-line", e.mountpoint, R.FSTAB_BLOCKDEV,
                      "%s kept with nofail: that disk may not be attached on the new platform" % where,
                      dict(data, line=new))
    return Change("keep-fstab-line", e.mountpoint, R.FSTAB_KEEP, "%s kept as scanned" % where, data)


def adjtime(ctx):
    text = ctx.report.adjtime
    if text is None:
        return
    lines = text.splitlines()
    mode = lines[2].strip() if len(lines) > 2 and lines[2].strip() in ("UTC", "LOCAL") else "UTC"
    drift = lines[0].split()[0] if lines and lines[0].split() else "0"
    yield Change("reset-adjtime", "/etc/adjtime", R.CLOCK_ADJTIME,
                 "drift history of the old hardware dropped (was %s s/day); hardware clock stays %s" % (drift, mode),
                 {"content": "0.0 0 0.0\n0\n%s\n" % mode, "mode": mode})


def rules(ctx):
    yield from overlay(ctx)
    yield from esp(ctx)
    yield from prune_links(ctx)
    yield from absent_files(ctx)
    yield from dib_residue(ctx)
    for e in ctx.report.fstab:
        yield fstab_entry(ctx, e)
    yield from adjtime(ctx)
