"""pkg-rebuild, pkg-kernel, pkg-cloud-init, pkg-azure-agent, agent-remove."""
from ... import rule_registry as R
from ..model import Change


def removed_packages(ctx):
    """name -> (rule, reason) for source packages the image must not carry."""
    r, fam, out = ctx.report, ctx.family, {}
    if ctx.kernel_injected:
        for name in sorted({p.name for p in r.packages} | set(r.kernel_packages)):
            if fam.is_xen_kernel(name):
                out[name] = (R.PKG_KERNEL, "%s is a Xen-only kernel that cannot boot fully virtualized" % name)
    platform = r.virtualization
    keep_platform = {"azure": "hyperv"}.get(ctx.target.name)
    if platform != keep_platform:
        for name in fam.platform_agents.get(platform, ()):
            if r.has_package(name):
                out[name] = (R.AGENT_REMOVE, "%s is the old %s platform's guest agent" % (name, platform))
    return out


def rebuild(ctx, removed):
    if ctx.options.strategy != "packages":
        return
    r = ctx.report
    names = [p.name for p in r.packages if p.name not in removed]
    data = {"names": names}
    if ctx.options.pin_versions:
        data["versions"] = {p.name: p.version for p in r.packages if p.name not in removed and p.version}
    yield Change("install-packages", "%d packages of the scan" % len(names), R.PKG_REBUILD,
                 "the image is rebuilt on %s %s with the source's package list%s" % (
                     r.distro, r.version, " at the scanned versions" if ctx.options.pin_versions else ""),
                 data)


def _dib_packages(ctx):
    """(package, element, with its Recommends?) DIB's own elements install in this build."""
    fam = ctx.family
    if ctx.options.strategy == "packages":
        out = list(fam.dib_element_packages(fam.dib_base_packages))
    else:
        out = [(name, element, True) for name, element in fam.dib_element_packages(fam.dib_rootfs_packages)]
    injected = fam.bootloader_packages() if ctx.kernel_injected else ()
    out += [(name, "bootloader", True) for name in fam.dib_loader_packages()
            if name not in injected and not ctx.report.has_package(name)]
    return out


def dib_base(ctx):
    """What DIB's base elements add to every image: named, so no package arrives unannounced."""
    for name, element, recommends in _dib_packages(ctx):
        had = ctx.report.has_package(name)
        if not had:
            why = "the source did not have it"
        elif recommends:
            why = "the source had it, not necessarily its Recommends"
        else:
            continue
        yield Change("install-package", name, R.PKG_DIB_BASE,
                     "DIB's %s element installs %s on every image%s; %s"
                     % (element, name, " with its Recommends" if recommends else "", why),
                     {"element": element, "recommends": recommends})


def kernel(ctx):
    r, fam = ctx.report, ctx.family
    if not ctx.kernel_injected:
        return
    why = ("the source is a Xen PV guest booted by its host's kernel" if r.virtualization == "xen-pv"
           else "the source has no kernel package")
    for name in fam.kernel_packages():
        yield Change("install-kernel", name, R.PKG_KERNEL, "standard kernel injected: %s" % why)
    for name in fam.bootloader_packages():
        yield Change("install-kernel", name, R.PKG_KERNEL,
                     "bootloader injected (%s firmware): the source's bootloader is %s" % (r.firmware, r.bootloader))


def cloud_agents(ctx):
    t, fam = ctx.target, ctx.family
    if t.cloud_init:
        yield Change("install-package", fam.cloud_init_package, R.PKG_CLOUD_INIT,
                     "%s instances are configured by cloud-init" % t.name)
    if t.azure_agent:
        yield Change("install-package", fam.azure_agent_package, R.PKG_AZURE_AGENT,
                     "Azure provisions and reports health through the Azure Linux agent")


def rules(ctx):
    removed = removed_packages(ctx)
    yield from rebuild(ctx, removed)
    yield from dib_base(ctx)
    yield from kernel(ctx)
    yield from cloud_agents(ctx)
    for name, (rule, reason) in sorted(removed.items()):
        yield Change("remove-package", name, rule, reason)
