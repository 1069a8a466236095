"""The files a Plan writes into the image itself: a delta that touches one cannot be laid as
the source has it without undoing that Change, so resync refuses it."""

# actions whose subject is the path the element writes or removes
_SUBJECT_IS_PATH = ("remove-file", "write-network-file", "write-hosts", "reset-adjtime", "cloud-config",
                    "agent-config", "selinux-relabel")
# actions that rewrite one fixed file
_FIXED = {"drop-fstab-line": "/etc/fstab", "keep-fstab-line": "/etc/fstab",
          "kernel-args": "/etc/default/grub"}
# identity reset empties or regenerates these
_IDENTITY_RESET = ("/etc/machine-id", "/var/lib/dbus/machine-id")
# files the boot Changes regenerate from the image's own state
_BOOT = ("/etc/default/grub", "/etc/initramfs-tools/initramfs.conf", "/etc/initramfs-tools/modules",
         "/etc/dracut.conf")


def rewritten(plan):
    """{path in the image: "rule action"} for a plan as ``plan --format json`` writes it."""
    from ..network_files import interface_files
    from ..plan.model import Change
    out = {}
    nets = [Change("set-network", c["subject"], c["rule"], c.get("reason", ""), c.get("data") or {})
            for c in plan.get("changes", ()) if c["action"] == "set-network"]
    if all("manager" in c.data and "mode" in c.data for c in nets):
        for path in interface_files(nets):
            out[path] = "%s set-network" % nets[0].rule
    for c in plan.get("changes", ()):
        action, subject, data = c["action"], c["subject"], c.get("data") or {}
        why = "%s %s" % (c["rule"], action)
        if action in _SUBJECT_IS_PATH and subject.startswith("/"):
            out[subject] = why
        elif action in _FIXED:
            out[_FIXED[action]] = why
        elif action == "set-network" and data.get("file"):
            out[data["file"]] = why
        elif action == "identity" and data.get("machine_id") == "reset":
            for p in _IDENTITY_RESET:
                out[p] = why
        elif action in ("regen-initramfs", "regen-grub", "initramfs-drivers"):
            for p in _BOOT + tuple(data.get("files") or ()):    # files: the family's initramfs settings
                out.setdefault(p, why)
    return out
