"""Pre-flight: what stops a build (blockers) and what cannot be carried over (warnings)."""
import re

from .. import rule_registry as R
from ..scan.units import RECORDED_TYPES
from .model import Blocker, Warning


def blockers(ctx):
    r, o = ctx.report, ctx.options
    if o.strategy == "packages" and ctx.family.dib_base() is None:
        yield Blocker(R.PREFLIGHT_BASE, "diskimage-builder has no base for %s %s: the packages strategy cannot "
                      "rebuild it" % (r.distro, r.version),
                      "use --strategy rootfs with a full overlay (scan with --full)",
                      "os.distro", "%s %s" % (r.distro, r.version))
    if o.strategy == "rootfs" and (r.overlay is None or r.overlay.mode != "full"):
        yield Blocker(R.PREFLIGHT_ROOTFS, "--strategy rootfs needs an overlay of mode full",
                      "scan with --full, or use --strategy packages",
                      "overlay.mode", r.overlay.mode if r.overlay else "(no overlay)")
    yield from delta_blocker(r)


def delta_blocker(r):
    if r.delta is not None:
        yield Blocker(R.DELTA_REPORT, "this is a delta scan (since %s, %d deletion(s)): it holds only what changed "
                      "since that scan" % (r.delta.since, len(r.delta.deleted)),
                      "apply it to the image built from the earlier scan: dib-migrate resync IMAGE REPORT",
                      "overlay.mode", "delta")


def unit_types_warning(r, o):
    missing = [t for t in RECORDED_TYPES if t not in r.unit_types]
    if r.init_system == "systemd" and missing and o.strategy == "packages":
        yield Warning(R.PREFLIGHT_UNITS, "the report records the states of %s units only (its scanner did not "
                      "record %s): in the image those keep the states the rebuilt packages give them; rescan "
                      "with this dib-migrate to carry them" % (", ".join(r.unit_types), ", ".join(missing)))


def default_routes(ctx):
    """ifupdown adds a static `gateway` with `ip route add default`, which fails ("File exists") when another
    interface's DHCP lease set a default route first: seen on the matrix's bookworm ec2/azure boots, where
    eth1 meets a DHCP server that offers a router (any platform giving eth1 a router does the same)."""
    if ctx.report.network_manager != "ifupdown":
        return
    ifaces = ctx.interfaces()
    gateways = [i for i in ifaces if i.mode == "static" and i.gateway]
    dhcp = [i for i in ifaces if i.mode == "dhcp"]
    if gateways and dhcp:
        yield Warning(R.PREFLIGHT_ROUTES, "%s's static gateway (%s) and the DHCP of %s can both set the default "
                      "route: ifupdown's `gateway` line fails when a lease with a router came first, and "
                      "networking.service is marked failed (the address stays; the default route is the lease's). "
                      "Where %s's network offers a router on the new platform, drop one of the two default routes"
                      % (gateways[0].name, gateways[0].gateway, ", ".join(i.name for i in dhcp),
                         ", ".join(i.name for i in dhcp)))


def warnings(ctx):
    r, o = ctx.report, ctx.options
    if o.strategy == "packages" and r.overlay is not None and r.overlay.mode == "full":
        yield Warning(R.PREFLIGHT_OVERLAY, "the overlay holds the whole root filesystem; laid over a rebuild it "
                      "replaces every package file (consider --strategy rootfs)")
    if r.firewall_active and o.firewall:
        yield Warning(R.PREFLIGHT_FIREWALL, "the scanned %s rules are kept enabled (--firewall): check they allow "
                      "SSH (tcp/22) from the new network, or you will be locked out" % r.firewall_tool)
    from .rules.files import DEVICE_PATH
    for e in r.fstab:
        if DEVICE_PATH.match(e.spec) and e.fstype != "swap" and e.mountpoint not in ("/", "/boot", "/boot/efi") \
                and ctx.carried_under(e.mountpoint) == (0, 0):
            yield Warning(R.PREFLIGHT_DISK, "%s (fstab line %d, %s %s) is not carried: it was a separate disk and "
                          "the scan holds no file under it (size unknown to the scan); copy its data to the new "
                          "instance yourself" % (e.mountpoint, e.index, e.spec, e.fstype))
        if e.spec.startswith("/dev/mapper/") or re.match(r"^/dev/[^/]+/[^/]+$", e.spec) \
                and not e.spec.startswith("/dev/disk/"):
            yield Warning(R.PREFLIGHT_LVM, "fstab line %d mounts %s (LVM or device-mapper); its files are carried "
                          "in the root filesystem, the volume names are not recreated" % (e.index, e.spec))
        # RHEL/Fedora installers name LUKS mappings luks-<uuid>; Debian's name them <vg>_crypt / sdaN_crypt
        if "crypt" in e.spec or "luks" in e.spec.lower() or e.fstype in ("crypto_LUKS",):
            yield Warning(R.PREFLIGHT_CRYPT, "fstab line %d uses an encrypted volume (%s): it cannot be carried "
                          "over" % (e.index, e.spec))
    from .rules.files import boot_path
    kept = [p for p, _package in r.absent_package_files if boot_path(p)]
    if kept and o.strategy == "packages":
        yield Warning(R.OVERLAY_ABSENT, "%d package path(s) absent from the source are kept in the image, which "
                      "boots its own kernel on new hardware: %s%s" % (len(kept), ", ".join(kept[:3]),
                                                                      ", ..." if len(kept) > 3 else ""))
    if r.overlay is not None and r.overlay.setuid:
        shown = r.overlay.setuid[:20]
        more = len(r.overlay.setuid) - len(shown)
        yield Warning(R.OVERLAY_SETUID, "security: the overlay carries %d setuid/setgid file(s) that run with "
                      "their owner's rights in the image: %s%s" % (
                          len(r.overlay.setuid), ", ".join(shown), " and %d more" % more if more else ""))
    if r.overlay is not None:
        logs, _size = ctx.carried_under("/var/log")
        if logs:
            yield Warning(R.PREFLIGHT_LOGS, "DIB empties every file under /var/log at the end of the build: the "
                          "source's logs (%d entries in the overlay) arrive empty; keep a copy of the scan" % logs)
    from .rules.network import uncarried
    for i in ctx.interfaces():
        facts = uncarried(i, r.network_manager)
        if facts:
            # what the set-network Change cannot carry: say so, the rest is in its data
            yield Warning(R.PREFLIGHT_NETWORK, "%s: %s NOT carried into the image's %s configuration; set "
                          "%s up on the new instance by hand" % (i.name, "; ".join(facts), r.network_manager,
                                                                 "them" if len(facts) > 1 else "it"))
    yield from unit_types_warning(r, o)
    if not any(e.mountpoint == "/" for e in r.fstab):
        yield Warning(R.FSTAB_BLOCKDEV, "/: the source's fstab has no line for its root; the image's fstab mounts "
                      "/ by UUID")
    fam = ctx.family
    if not r.has_package(*fam.ssh_packages + fam.other_ssh_servers):
        yield Warning(R.PREFLIGHT_SSH, "the source has no SSH server (none of %s installed): the image cannot be "
                      "logged into over the network; use the %s console, or add one with a site element" % (
                          ", ".join(fam.ssh_packages + fam.other_ssh_servers), ctx.target.name))
    yield from default_routes(ctx)
    if ctx.target.name in ("ec2", "azure"):
        static = [i for i in ctx.interfaces() if i.mode == "static"]
        if static:
            yield Warning(R.PREFLIGHT_STATIC, "%s keep their static addresses (%s): give the %s instance the same "
                          "private address(es), or use --network dhcp" % (
                              ", ".join(i.name for i in static),
                              ", ".join(a for i in static for a in i.addresses), ctx.target.name))
    if r.overlay is None:
        yield Warning(R.PREFLIGHT_OVERLAY, "the report has no overlay: only packages are rebuilt, no files "
                      "of the server are carried")
    yield from live_warnings(r)


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def live_warnings(r):
    """A live scan's consistency: files that moved under it, data copied while its service ran."""
    live = r.live
    if live is not None and (live.vanished or live.changed):
        sample = list(live.vanished_paths[:3]) + list(live.changed_paths[:3])
        owners = ", ".join(live.services) or "no known service"
        yield Warning(R.LIVE_FILES, "%d file(s) vanished and %d changed while the scan read them (owned by: %s; "
                      "e.g. %s): they are carried as read; stop their services, or run a delta scan with "
                      "--quiesce at cutover" % (live.vanished, live.changed, owners, ", ".join(sample[:4])))
    quiesced = {name for name, _downtime in r.quiesced}
    for s in r.stateful:
        if s.running and s.service not in quiesced:
            what = s.kind if s.kind != "other" else "service %s" % s.service
            yield Warning(R.LIVE_RUNNING, "%s data %s (%s) copied while %s ran: a file-by-file copy of running "
                          "data is not consistent (a database replays its log at best); quiesce it with "
                          "`scan --quiesce %s` or at cutover `scan --since REPORT --quiesce %s`"
                          % (what, s.data_dir, _size(s.bytes), s.service, s.service, s.service))
