"""cloud-config, azure agent settings, identity, selinux-relabel, growroot, pkg-whitebox."""
import yaml

from ... import rule_registry as R
from ..model import Change

CLOUD_CFG = "/etc/cloud/cloud.cfg.d/91-dib-migrate.cfg"


def cloud_config(ctx):
    """cloud-init's settings on every target where the image will run it (injected or the source's own)."""
    t = ctx.target
    own = ctx.report.has_package(ctx.family.cloud_init_package)
    if not t.cloud_init and not own:
        return
    keep = ctx.options.identity == "keep"
    cfg = {
        # the source's own network config is kept (net-static/net-dhcp); cloud-init must not replace it
        "network": {"config": "disabled"},
        # lift-and-shift keeps the server's accounts; no distro default user is added
        "users": [],
        "disable_root": False,
        "preserve_hostname": keep,
        "ssh_deletekeys": not keep,
        # keep: nobody's authorized_keys changes (the metadata's keypair would land in root's)
        "allow_public_ssh_keys": not keep,
        "growpart": {"mode": "auto", "devices": ["/"]},
        "resize_rootfs": True,
        # the server's own locale settings are carried: cloud-init's locale module would set its distro
        # default (bullseye's 20.4: update-locale LANG=en_US.UTF-8, a locale the image never generated, and
        # cloud-config.service failed)
        "locale": False,
    }
    if keep:
        cfg.update(ssh_genkeytypes=[], manage_etc_hosts=False)
    if t.datasources:
        # the file sorts after Debian's 90_dpkg.cfg, whose list would otherwise win
        cfg["datasource_list"] = list(t.datasources)
    if t.datasource_settings:
        cfg["datasource"] = {k: dict(v) for k, v in t.datasource_settings.items()}
    whose = "the source's own cloud-init" if own else "cloud-init"
    if keep:
        reason = ("%s reads the %s metadata but changes no hostname, SSH host keys, network configuration, "
                  "locale or authorized_keys (--identity keep)" % (whose, t.name))
    else:
        reason = ("%s sets the %s instance's hostname, regenerates the SSH host keys and installs the metadata's "
                  "SSH keys for root; the server's network configuration and locale are kept" % (whose, t.name))
    yield Change("cloud-config", CLOUD_CFG, R.PKG_CLOUD_INIT, reason,
                 {"content": "# written by dib-migrate\n" + yaml.safe_dump(cfg, default_flow_style=False)})


def azure_agent(ctx):
    if not ctx.target.azure_agent:
        return
    keep = ctx.options.identity == "keep"
    # who provisions: cloud-init where the image has it; else a kept identity is a specialised disk
    # (nothing to provision, the agent only reports ready) and a reset one is provisioned by the agent.
    # Debian ships Provisioning.Agent=cloud-init, which without cloud-init never reports ready.
    if ctx.target.cloud_init or ctx.report.has_package(ctx.family.cloud_init_package):
        provisioning = "cloud-init"
    else:
        provisioning = "disabled" if keep else "waagent"
    settings = {"ResourceDisk.EnableSwap": "n", "ResourceDisk.Format": "y",
                "Provisioning.DeleteRootPassword": "n",
                "Provisioning.RegenerateSshHostKeyPair": "n" if keep else "y",
                "Provisioning.Agent": provisioning}
    yield Change("agent-config", "/etc/waagent.conf", R.PKG_AZURE_AGENT,
                 "Azure agent: no swap on the OS disk; root password and host keys as the identity policy says; "
                 "Provisioning.Agent=%s" % provisioning,
                 {"settings": settings})


def identity(ctx):
    policy = ctx.options.identity
    if policy == "keep":
        reason = "lift-and-shift: machine-id, SSH host keys and cloud-init state kept, nothing re-provisions"
        data = {"machine_id": "keep", "ssh_host_keys": "keep", "cloud_init_state": "keep"}
    else:
        reason = "template image: machine-id emptied, SSH host keys regenerated at first boot, cloud-init cleaned"
        data = {"machine_id": "reset", "ssh_host_keys": "reset", "cloud_init_state": "clean"}
    yield Change("identity", policy, R.IDENTITY, reason, data)


def selinux(ctx):
    if ctx.report.selinux in ("enforcing", "permissive"):
        yield Change("selinux-relabel", "/.autorelabel", R.SELINUX_RELABEL,
                     "the source runs SELinux %s; files written by the build need their labels" % ctx.report.selinux)


def growroot(ctx):
    method = "cloud-init" if ctx.target.cloud_init else "growroot"
    for name in ctx.family.growroot_packages:
        if not ctx.report.has_package(name):
            yield Change("install-package", name, R.GROWROOT, "growpart, used to grow the root partition at first boot")
    yield Change("growroot", "/", R.GROWROOT,
                 "the root filesystem grows to the new disk on first boot (%s)" % method,
                 dict({"method": method, "packages": list(ctx.family.growroot_packages)},
                      **({"unit": "dib-migrate-growroot"} if method == "growroot" else {})))


def firstboot(ctx):
    p = ctx.options.profile
    if p is None:
        return
    what = [k for k, v in (("root password", p.root_password_hash), ("keyboard", p.keyboard),
                           ("timezone", p.timezone), ("NIC settings", p.nics), ("boot scripts", p.boot_scripts))
            if v]
    data = {"root_password_hash": p.root_password_hash, "keyboard": p.keyboard, "timezone": p.timezone,
            "boot_scripts": [{"name": s.name, "content": s.content} for s in p.boot_scripts],
            "nics": [n.name for n in p.nics]}
    yield Change("firstboot", "dib-migrate-firstboot", R.PKG_WHITEBOX,
                 "white-box migration: first boot applies %s from %s, once" % (", ".join(what) or "nothing", p.path),
                 data)


def rules(ctx):
    yield from cloud_config(ctx)
    yield from azure_agent(ctx)
    yield from identity(ctx)
    yield from selinux(ctx)
    yield from growroot(ctx)
    yield from firstboot(ctx)
