"""boot-regen, boot-drivers, boot-console, boot-azure (kernel-args; net-ifnames lives with network)."""
from ... import rule_registry as R
from ..model import Change


def rules(ctx):
    t = ctx.target
    console = [a for a in t.kernel_args if a.startswith("console=")]
    extra = [a for a in t.kernel_args if not a.startswith("console=")]
    yield Change("kernel-args", " ".join(console), R.BOOT_CONSOLE,
                 "serial console so the %s console log shows the boot" % t.name, {"args": console})
    extra, left_out = ctx.family.kernel_args(extra)
    if extra or left_out:
        reason = "%s requires %s" % (t.name, " ".join(extra) or "nothing more")
        for arg, why in left_out.items():
            reason += " (%s left out: %s)" % (arg, why)
        yield Change("kernel-args", " ".join(extra) or "none", t.kernel_args_rule, reason, {"args": list(extra)})
    yield Change("initramfs-drivers", " ".join(t.drivers), R.BOOT_DRIVERS,
                 "generic initramfs (host-only off) with the %s storage and network drivers" % t.name,
                 {"drivers": list(t.drivers), "files": sorted(ctx.family.initramfs_config(t.drivers))})
    yield Change("regen-initramfs", "all kernels", R.BOOT_REGEN,
                 "initramfs rebuilt in the image; a chroot build would otherwise carry the build host's view")
    loader = ctx.family.bootloader()
    yield Change("regen-grub", loader, R.BOOT_REGEN,
                 "grub configuration rewritten for the new disk (root by UUID) and kernel arguments",
                 {"bootloader": loader})
