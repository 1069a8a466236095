"""make_plan(report, target, options) -> Plan: a pure function of its inputs."""
from ..distros import family_for
from ..errors import InputError
from ..options import Options
from ..targets import TARGETS
from . import preflight
from .context import Context
from .model import AREAS, Build, Change, Plan
from .rules import RULE_MODULES

__all__ = ["make_plan", "Plan", "Change"]


def _build(ctx, changes):
    r, t, o, fam = ctx.report, ctx.target, ctx.options, ctx.family
    env = {}
    if o.strategy == "packages":
        base = fam.dib_base()
        element, release = base if base else ("%s-minimal" % r.distro, r.version)
        elements = [element]
    else:
        release = fam.release()
        elements = ["migrate-rootfs", fam.rootfs_package_element]
        env.update(fam.rootfs_environment())
    # DIB's vm element brings its bootloader element, which only does grub2; for GRUB legacy
    # migrate-bootloader installs the loader on DIB's plain MBR disk layout
    elements.append("vm" if fam.bootloader() == "grub2" else "block-device-mbr")
    if r.firmware == "uefi":
        elements.append("block-device-efi")
    env.update(fam.dib_environment)
    # base's install.d would add open-iscsi (iscsid.socket enabled) to every image
    env["DIB_SKIP_BASE_PACKAGE_INSTALL"] = "1"
    args = []
    for c in changes:
        if c.action == "kernel-args":
            args += [a for a in c.data["args"] if a not in args]
    env["DIB_BOOTLOADER_DEFAULT_CMDLINE"] = " ".join(args)
    env["DIB_RELEASE"] = release
    env.update(o.environment)
    elements += [e for e in o.extra_elements if e not in elements]
    return Build(tuple(elements), release, fam.dib_arch(), t.image_type, t.output_format, env)


def make_plan(report, target, options=None):
    options = options or Options()
    if target not in TARGETS:
        raise InputError("--target", "target", target, "unknown target (known: %s)" % ", ".join(sorted(TARGETS)))
    if options.profile is not None:
        scanned = [i.name for i in report.interfaces]
        for i, nic in enumerate(options.profile.nics):
            if nic.name not in scanned:
                # silently ignored, it would build an image with the old address
                raise InputError(options.profile.path, "nics[%d].name" % i, nic.name,
                                 "the report has no such interface (scanned: %s)"
                                 % (", ".join(scanned) or "none"))
    ctx = Context(report=report, target=TARGETS[target], options=options, family=family_for(report))
    changes = [c for module in RULE_MODULES for c in module.rules(ctx)]
    changes.sort(key=lambda c: AREAS.index(c.area))   # stable: rule order kept inside an area
    return Plan(
        host=report.hostname, target=target, strategy=options.strategy, identity=options.identity,
        family=report.family, distro=report.distro, version=report.version, init_system=report.init_system,
        build=_build(ctx, changes), changes=tuple(changes), warnings=tuple(preflight.warnings(ctx)),
        blockers=tuple(preflight.blockers(ctx)),
    )
