"""Plan → element set on disk: one per-host element holding data only (docs/element-data.md).

Nothing from the report is ever written into shell text: every value lands in a plain data
file that the static hooks in elements/ read line by line.
"""
import json
import os
import shutil
from pathlib import Path

import yaml

from . import outputs
from .network_files import environment, network_files

ELEMENTS_DIR = Path(__file__).resolve().parent / "elements"

# action -> static element that applies it
ELEMENT_FOR_ACTION = {
    "apply-overlay": "migrate-overlay", "prune-etc-links": "migrate-overlay",
    "set-network": "migrate-network", "write-hosts": "migrate-network", "remove-file": "migrate-network",
    "write-network-file": "migrate-network",
    "drop-fstab-line": "migrate-fstab", "keep-fstab-line": "migrate-fstab",
    "reset-adjtime": "migrate-clock",
    "enable-service": "migrate-services", "disable-service": "migrate-services", "mask-service": "migrate-services",
    "kernel-args": "migrate-bootloader", "initramfs-drivers": "migrate-bootloader",
    "regen-initramfs": "migrate-bootloader", "regen-grub": "migrate-bootloader",
    "firstboot": "migrate-firstboot",
    "identity": "migrate-identity",
    "selinux-relabel": "migrate-selinux",
    "growroot": "migrate-growroot",
}
PIN_SEPARATOR = {"debian": "=", "redhat": "-", "suse": "-"}
TARGET_ELEMENTS = {"openstack": "migrate-cloud-openstack", "ec2": "migrate-cloud-ec2",
                   "azure": "migrate-cloud-azure"}


def element_name(plan):
    return "migrate-host-" + plan.host.lower()


def static_elements(plan):
    names = []
    for c in plan.changes:
        el = ELEMENT_FOR_ACTION.get(c.action)
        if c.action == "install-package" and c.rule == "pkg-kernel":
            el = "migrate-kernel"
        if el and el not in names:
            names.append(el)
    if plan.target in TARGET_ELEMENTS:
        names.append(TARGET_ELEMENTS[plan.target])
    return names


def _lines(items):
    return "".join("%s\n" % i for i in items)


def data_files(plan, report):
    """{relative path under migrate-data/: text} — everything the hooks read."""
    f = {
        "plan.json": json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n",
        "os/family": plan.family + "\n",
        "os/init": plan.init_system + "\n",
        "os/distro": plan.distro + "\n",
        "os/version": plan.version + "\n",
        "strategy": plan.strategy + "\n",
        "overlay/users": _lines("%s %d" % (u.name, u.id) for u in report.users),
        "overlay/groups": _lines("%s %d" % (g.name, g.id) for g in report.groups),
        "identity/policy": plan.identity + "\n",
    }
    install, remove = [], []
    for c in plan.changes:
        a, d = c.action, c.data
        if a == "install-packages":
            install += d["names"]
        elif a == "install-package":
            install.append(c.subject)
            if c.rule == "pkg-kernel":
                f["boot/kernel"] = "yes\n"
        elif a == "remove-package":
            remove.append(c.subject)
        elif a == "apply-overlay":
            f["overlay/mode"] = d["mode"] + "\n"
            f["overlay/compression"] = d["compression"] + "\n"
        elif a == "prune-etc-links":
            f["overlay/etc-symlinks"] = _lines(d["keep"])
            f["overlay/etc-skip"] = _lines(d["skip"])
        elif a in ("enable-service", "disable-service", "mask-service"):
            key = "services/" + a.split("-")[0]
            f[key] = f.get(key, "") + c.subject + "\n"
        elif a == "keep-fstab-line" and c.subject != "/":
            f["fstab/append"] = f.get("fstab/append", "") + d["line"] + "\n"
        elif a == "drop-fstab-line":
            f["fstab/dropped"] = f.get("fstab/dropped", "") + d["line"] + "\n"
        elif a == "reset-adjtime":
            f["clock/adjtime"] = d["content"]
        elif a == "remove-file":
            f["network/remove"] = f.get("network/remove", "") + c.subject + "\n"
        elif a == "kernel-args":
            f["boot/cmdline"] = (f.get("boot/cmdline", "").strip() + " " + " ".join(d["args"])).strip() + "\n"
        elif a == "regen-grub":
            f["boot/loader"] = d["bootloader"] + "\n"
        elif a == "initramfs-drivers":
            f["boot/drivers"] = _lines(d["drivers"])
        elif a == "cloud-config":
            f["cloud/cloud.cfg"] = d["content"]
        elif a == "agent-config":
            f["cloud/waagent"] = _lines("%s=%s" % kv for kv in sorted(d["settings"].items()))
        elif a == "selinux-relabel":
            f["selinux/relabel"] = "yes\n"
        elif a == "growroot":
            f["growroot"] = d["method"] + "\n"
        elif a == "firstboot":
            for key in ("root_password_hash", "keyboard", "timezone"):
                if d.get(key):
                    f["firstboot/" + key.replace("_", "-")] = d[key] + "\n"
            for s in d["boot_scripts"]:
                f["firstboot/scripts/" + s["name"]] = s["content"]
    if install:
        f["packages/install"] = _lines(install)
    if remove:
        f["packages/remove"] = _lines(remove)
    for path, content in network_files(plan).items():
        f["network/tree" + path] = content
    firstboot_nics = set()
    for c in plan.by_action("firstboot"):
        firstboot_nics = set(c.data["nics"])
    if firstboot_nics:
        # the NIC settings of the profile are also applied once at first boot, as UForge does
        for path, content in network_files(plan).items():
            f["firstboot/network/tree" + path] = content
    return f


def package_installs(plan):
    doc = {}
    for c in plan.changes:
        if c.action == "install-packages":
            versions = c.data.get("versions") or {}
            sep = PIN_SEPARATOR[plan.family]
            for n in c.data["names"]:
                # install-packages hands the name to apt/yum/zypper, which take name=version / name-version
                doc[n + sep + versions[n] if n in versions else n] = None
        elif c.action == "install-package":
            doc[c.subject] = None
        elif c.action == "remove-package":
            doc[c.subject] = {"uninstall": True}
    return doc


def build_definition(plan, output_base, elements_path):
    """The same build as a diskimage-builder YAML image definition."""
    env = dict(plan.build.environment)
    env["ELEMENTS_PATH"] = os.pathsep.join(str(p) for p in elements_path)
    return [{
        "imagename": str(output_base),
        "arch": plan.build.arch,
        "types": [plan.build.image_type],
        "elements": list(plan.build.elements) + [element_name(plan)],
        "environment": env,
    }]


def render(plan, report, outdir, output_base=None, extra_paths=(), option="-o"):
    """Write the element set to ``outdir`` atomically; returns the list of ELEMENTS_PATH entries.

    ``outdir`` must be new, empty, or an element set dib-migrate wrote for the same host and target
    (see outputs.py); the previous one is replaced only once the new one is complete.
    """
    outdir = Path(os.path.abspath(str(outdir)))
    outputs.check_tree(outdir, "elements", plan.host, plan.target, option)
    outputs.make_parent(outdir, option)
    elements_path = [outdir / "elements", ELEMENTS_DIR] + [Path(p).resolve() for p in extra_paths]
    with outputs.staging(outdir.parent, outdir.name) as work:
        tmp = work / outputs.TREE
        tmp.mkdir()
        _write_tree(tmp, plan, report, outdir, output_base, elements_path)
        outputs.write_mark(tmp, kind="elements", host=plan.host, target=plan.target)
        outputs.publish_tree(work, outdir)
    return elements_path


def _write_tree(tmp, plan, report, outdir, output_base, elements_path):
    name = element_name(plan)
    el = tmp / "elements" / name
    data = el / "migrate-data"
    for rel, text in data_files(plan, report).items():
        p = data / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        if rel.startswith("firstboot/scripts/"):
            p.chmod(0o755)
        elif rel.endswith(".nmconnection"):
            p.chmod(0o600)
    if report.overlay is not None:
        target = data / "overlay" / "archive.tar"
        try:
            os.link(report.overlay.path, target)
        except OSError:
            shutil.copy2(report.overlay.path, target)
    (el / "element-deps").write_text(_lines(static_elements(plan)))
    (el / "package-installs.yaml").write_text(
        "# generated by dib-migrate: the Plan's packages\n"
        + yaml.safe_dump(package_installs(plan), default_flow_style=False, sort_keys=True))
    (el / "README.rst").write_text(environment().get_template("host/README.rst.j2").render(
        element=name, plan=plan))
    base = output_base or (outdir / ("%s-%s" % (plan.host, plan.target)))
    (tmp / "image.yaml").write_text(
        "# diskimage-builder image definition written by dib-migrate: run with `diskimage-builder %s`\n"
        % (outdir / "image.yaml") + yaml.safe_dump(build_definition(plan, base, elements_path),
                                                   default_flow_style=False, sort_keys=False))
    (tmp / "plan.json").write_text(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
