"""Packer hand-off: JSON templates for stock Packer 1.6 (Debian's `packer`), written by `--packer`.

Pattern 1 (``<host>-<target>.packer.json``): the ``null`` builder, a ``shell-local``
post-processor that runs ``dib-migrate build`` with the options this template was written
with, ``artifice`` registering the image as the artifact, then ``checksum``; a site adds its
upload post-processor (amazon-import, googlecompute-import, ...) after those.

Pattern 2 (``<host>-<target>.provision.packer.json``): the ``qemu`` builder boots the image
``build --packer`` made (``disk_image``), logs in as root with the temporary key of the
``packer-provision`` Change, runs the site's provisioners and, last, removes that key, so
the final image keeps the source's identity and only its own keys.

Paths and values reach the shell only through ``environment_vars``, which Packer quotes.
"""
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import InputError
from .plan.rules.packer import AUTHORIZED_KEYS, MARKER
from .targets import TARGETS

# the qemu builder writes qcow2 or raw; Azure's fixed VHD is made from raw afterwards
QEMU_FORMAT = {"qcow2": "qcow2", "raw": "raw", "vhd": "raw"}

# the last provisioner: every line holding the marker goes; what the element created goes too
REMOVE_KEY = """\
f={path}
m={marker}
[ -f "$f" ] || {{ echo "dib-migrate: no $f: nothing to remove"; exit 0; }}
made=$(grep "^# $m created-" "$f" || true)
grep -v -F "$m" "$f" > "$f.dib-migrate" || true
cat "$f.dib-migrate" > "$f"
rm -f "$f.dib-migrate"
case "$made" in *created-newline*) truncate -s -1 "$f" ;; esac
case "$made" in *created-file*) rm -f "$f" ;; esac
case "$made" in *created-dir*) rmdir "$(dirname "$f")" ;; esac
if [ -f "$f" ] && grep -q -F "$m" "$f"; then echo "dib-migrate: key still in $f" >&2; exit 1; fi
echo "dib-migrate: temporary provisioning key removed from $f"
""".format(path=AUTHORIZED_KEYS, marker=MARKER)

# Azure: qemu copies the fixed VHD as raw (footer included); drop the footer, convert back
TO_FIXED_VHD = """\
size=$(stat -c %s "$RAW")
if [ "$(tail -c 512 "$RAW" | head -c 8)" = conectix ]; then truncate -s $((size - 512)) "$RAW"; fi
size=$(stat -c %s "$RAW")
qemu-img resize -q -f raw "$RAW" $(( (size + 1048575) / 1048576 * 1048576 ))
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size "$RAW" "$VHD"
rm -f "$RAW"
"""


def names(plan):
    base = "%s-%s" % (plan.host, plan.target)
    return base + ".packer.json", base + ".provision.packer.json", base + ".packer-key"


def _no_braces(option, field, value):
    # Packer's template engine would read "{{" in a path as a function call
    if "{{" in str(value) or "}}" in str(value):
        raise InputError(option, field, str(value), "Packer templates cannot carry '{{' or '}}'")
    return str(value)


def check_paths(args):
    """Refuse, before anything is written, paths a template could not carry."""
    _no_braces("-o", "output", Path(args.output).resolve())
    _no_braces("REPORT", "path", Path(args.report).resolve())
    build_options(args)


def build_options(args):
    """The `dib-migrate build` options that make the same Plan as ``args`` (argv words)."""
    out = ["--target", args.target, "--strategy", args.strategy, "--identity", args.identity]
    for flag in ("firewall", "pin_versions", "check_mirror"):
        if getattr(args, flag):
            out.append("--" + flag.replace("_", "-"))
    if args.mirror:
        out += ["--mirror", _no_braces("--mirror", "mirror", args.mirror)]
    if args.install_profile:
        out += ["--install-profile", _no_braces("--install-profile", "path", Path(args.install_profile).resolve())]
    for e in args.element:
        out += ["--element", e]
    for p in args.elements_path:
        out += ["--elements-path", _no_braces("--elements-path", "path", Path(p).resolve())]
    if getattr(args, "no_compress", False):
        out.append("--no-compress")
    if getattr(args, "image_size", None):
        out += ["--image-size", str(args.image_size)]
    return out


def dib_migrate_command():
    """How the template calls dib-migrate: the entry point beside this Python, else this Python's -m."""
    exe = Path(sys.executable).parent / "dib-migrate"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("dib-migrate")
    return [found] if found else [sys.executable, "-m", "dib_migrate"]


def _env_lines(env):
    return ["%s={{user `%s`}}" % (k, v) for k, v in env]


def null_template(plan, report_path, outdir, options):
    """Pattern 1: Packer runs dib-migrate, registers the image, checksums it."""
    target = TARGETS[plan.target]
    image = "%s-%s.%s" % (plan.host, plan.target, target.extension)
    cmd = dib_migrate_command()
    # each word is its own variable-free environment entry: the shell sees "$DIB_MIGRATE_ARGn"
    words = ["build", _no_braces("REPORT", "path", Path(report_path).resolve())] + options
    env = ["DIB_MIGRATE_ARG%d=%s" % (i, w) for i, w in enumerate(cmd[1:] + words)]
    call = " ".join(['"$DIB_MIGRATE"'] + ['"$DIB_MIGRATE_ARG%d"' % i for i in range(len(env))]
                    + ['-o "$OUTPUT_DIR"', "$DIB_MIGRATE_EXTRA"])
    return {
        "description": "dib-migrate pattern 1: %s for %s; `packer build %s`" % (
            plan.host, plan.target, names(plan)[0]),
        "variables": {
            "output_dir": str(outdir),
            "build_args": "",
        },
        "builders": [{"type": "null", "communicator": "none"}],
        "post-processors": [[
            {
                "type": "shell-local",
                "environment_vars": ["DIB_MIGRATE=%s" % cmd[0]] + env + _env_lines(
                    [("OUTPUT_DIR", "output_dir"), ("DIB_MIGRATE_EXTRA", "build_args")]),
                # build_args: extra `dib-migrate build` options, split on blanks on purpose
                "inline": [call],
            },
            {
                "type": "artifice",
                "files": ["{{user `output_dir`}}/%s" % image],
            },
            {
                "type": "checksum",
                "checksum_types": ["sha256"],
                "output": "{{user `output_dir`}}/%s.{{.ChecksumType}}" % image,
            },
        ]],
    }


def user_network(plan):
    """qemu's user network laid out as the image's kept static address expects, or None (DHCP).

    A lift-and-shift image keeps its static address; qemu's default user network (10.0.2.0/24)
    would not reach it. qemu gives the guest one NIC, its first interface: when that one is
    static, its subnet, its gateway and DNS server become qemu's own addresses (when inside it)
    and SSH is forwarded to its address."""
    for c in plan.by_action("set-network")[:1]:
        addresses = [a for a in c.data.get("addresses") or () if ":" not in a]
        if c.data.get("mode") != "static" or not addresses:
            return None
        iface = ipaddress.ip_interface(addresses[0])
        net, own = iface.network, iface.ip
        if net.prefixlen > 28:
            return None     # too small for qemu's DHCP range: only a DHCP interface would work
        opts = ["user", "id=user.0", "net=%s" % net]
        usable = [str(a) for a in [c.data.get("gateway")] + list(c.data.get("dns") or ())
                  if a and ":" not in a and ipaddress.ip_address(a) in net and ipaddress.ip_address(a) != own]
        gateway = c.data.get("gateway")
        if gateway in usable:
            opts.append("host=%s" % gateway)
        dns = [d for d in usable if d != gateway]
        if dns:
            opts.append("dns=%s" % dns[0])
        opts.append("dhcpstart=%s" % _free_host(net, {own} | {ipaddress.ip_address(a) for a in usable}))
        opts.append("hostfwd=tcp::{{ .SSHHostPort }}-%s:22" % own)
        return ",".join(opts)
    return None


def _free_host(net, taken):
    for h in net.hosts():
        if h not in taken and int(h) - int(net.network_address) >= 3:
            return h
    return next(iter(net.hosts()))


def _checksum(image):
    """Pin the image built with --packer; "none" when the template is written before the build (render)."""
    import hashlib
    if not Path(image).is_file():
        return "none"
    h = hashlib.sha256()
    with open(image, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def qemu_template(plan, source_image, outdir, key_path):
    """Pattern 2: boot the built image, run provisioners, remove the temporary key last."""
    target = TARGETS[plan.target]
    fmt = QEMU_FORMAT[target.output_format]
    name = "%s-%s" % (plan.host, plan.target)
    builder = {
        "type": "qemu",
        "vm_name": "%s.%s" % (name, fmt),
        "iso_url": "{{user `source_image`}}",
        "iso_checksum": _checksum(source_image),
        "disk_image": True,
        "format": fmt,
        "accelerator": "{{user `accelerator`}}",
        "headless": True,
        "memory": 1024,
        "cpus": 2,
        "disk_interface": "virtio",
        "net_device": "virtio-net",
        "output_directory": "{{user `output_directory`}}",
        "skip_compaction": True,
        "communicator": "ssh",
        "ssh_username": "root",
        "ssh_private_key_file": "{{user `ssh_private_key_file`}}",
        "ssh_timeout": "{{user `ssh_timeout`}}",
        "shutdown_command": "shutdown -P now",
        # the console log beside, not inside, the output directory: everything inside is the artifact
        "qemuargs": [["-serial", "file:{{user `output_directory`}}.console.log"]],
    }
    netdev = user_network(plan)
    if netdev:
        builder["qemuargs"].insert(0, ["-netdev", netdev])
    post = [{
        "type": "checksum",
        "checksum_types": ["sha256"],
        "output": "{{user `output_directory`}}/%s.{{.ChecksumType}}" % builder["vm_name"],
    }]
    if target.output_format == "vhd":
        vhd = "{{user `output_directory`}}/%s.vhd" % name
        post = [[
            {"type": "shell-local",
             "environment_vars": ["RAW={{user `output_directory`}}/%s" % builder["vm_name"], "VHD=" + vhd],
             "inline": TO_FIXED_VHD.splitlines()},
            {"type": "artifice", "files": [vhd]},
            dict(post[0], output="{{user `output_directory`}}/%s.vhd.{{.ChecksumType}}" % name),
        ]]
    return {
        "description": "dib-migrate pattern 2: boot %s (built with --packer), run the site's provisioners; "
                       "the last provisioner removes the temporary key" % name,
        "variables": {
            "source_image": str(source_image),
            "output_directory": str(outdir),
            "ssh_private_key_file": str(key_path),
            "accelerator": "tcg",
            "ssh_timeout": "20m",
        },
        "builders": [builder],
        "provisioners": [
            {"type": "shell", "inline": ["echo \"dib-migrate: provisioning $(hostname) as $(id -un)\""]},
            {"type": "shell", "inline": REMOVE_KEY.splitlines()},
        ],
        "post-processors": post,
    }


def keygen():
    """A fresh ed25519 pair in a private temporary directory: (directory, public key text).

    The pair moves beside the outputs (``place_key``) only once they are written."""
    tmp = Path(tempfile.mkdtemp(prefix="dib-migrate-packer-key-"))
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", MARKER, "-f", str(tmp / "key")],
                       check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError("--packer", "ssh-keygen", str(tmp), "cannot make the provisioning key: %s" % e)
    return tmp, (tmp / "key.pub").read_text().strip()


def place_key(tmp, outdir, name):
    """Move the pair from ``keygen`` to ``outdir/name`` (+ .pub); returns the private key's path."""
    outdir = Path(outdir).resolve()
    os.replace(Path(tmp) / "key.pub", outdir / (name + ".pub"))
    os.replace(Path(tmp) / "key", outdir / name)
    return outdir / name


def _write_json(path, doc):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def write_templates(plan, report_path, outdir, options, key_tmp, source_image, build_dir):
    """Place the key and write both templates into ``outdir``; returns their paths (pattern 1, pattern 2).

    Pattern 1 builds into ``build_dir``; pattern 2 boots ``source_image`` (the image made with this
    key) and writes ``outdir/<host>-<target>.provisioned/``."""
    outdir = Path(outdir).resolve()
    first, second, key = names(plan)
    key_path = place_key(key_tmp, outdir, key)
    _write_json(outdir / first, null_template(plan, report_path, Path(build_dir).resolve(), options))
    _write_json(outdir / second, qemu_template(plan, Path(source_image).resolve(),
                                               outdir / ("%s-%s.provisioned" % (plan.host, plan.target)), key_path))
    return outdir / first, outdir / second


def files(plan):
    """What --packer adds to an output directory."""
    first, second, key = names(plan)
    return [first, second, key, key + ".pub"]
