"""The family's commands and paths as ``migrate-data/family/`` files (docs/element-data.md).

Hooks apply these and never test the family's name: what differs between families is owned
by the classes beside this module and reaches the image as data, like every other decision.
"""
import re

from . import family_for

MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _lines(items):
    return "".join("%s\n" % i for i in items)


def family_files(plan, report):
    """{relative path under migrate-data/: text} for the hooks' family-specific steps."""
    fam = family_for(report)
    drivers = [d for c in plan.by_action("initramfs-drivers") for d in c.data["drivers"]]
    for d in drivers:
        # they end up in dracut's shell-sourced configuration
        if not MODULE_NAME.match(d):
            raise ValueError("initramfs-drivers: %r is not a kernel module name" % d)
    install, remove = fam.package_commands()
    files = {
        "family/initrd": fam.initrd_path + "\n",
        "family/rc-local": fam.rc_local + "\n",
        "family/package-install": install + "\n",
        "family/package-remove": remove + "\n",
        "family/package-query": fam.package_query + "\n",
        "family/package-installed": fam.package_installed + "\n",
        "family/service-enable": _lines(fam.sysv_enable),
        "family/service-disable": _lines(fam.sysv_disable),
    }
    for path, text in fam.initramfs_config(drivers).items():
        files["family/initramfs-conf" + path] = text
    return files
