"""The fleet inventory: which servers to migrate, how to reach them, to which targets, with which options.

YAML, validated by ``schema/inventory-v1.json``. Settings merge defaults < group < host: ``options``
key by key, ``targets``, ``ssh_options`` and ``queue`` replaced whole. Paths (reports, install
profiles, element directories) are relative to the inventory file. Everything is checked here,
before any task starts, so a typo costs exit 2 and not a failed wave.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Tuple

import jsonschema

from ..errors import InputError
from ..options import Options, load_profile
from ..report import _path_str, read_yaml

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "inventory-v1.json"
DEFAULT_QUEUE = "dib-migrate"
# options of `scan --ssh` (meaningless for a host given by its report)
SCAN_OPTIONS = {"scan_exclude", "scan_full", "exclude_secrets", "quiesce"}


@dataclass(frozen=True)
class Host:
    name: str
    targets: Tuple[str, ...]
    ssh: Optional[str] = None          # [user@]host[:port]
    report: Optional[str] = None       # absolute path of a report written earlier
    options: Mapping = field(default_factory=dict)
    ssh_options: Tuple[str, ...] = ()
    queue: str = DEFAULT_QUEUE

    def to_dict(self):
        return {"name": self.name, "targets": list(self.targets), "ssh": self.ssh, "report": self.report,
                "options": dict(self.options), "ssh_options": list(self.ssh_options), "queue": self.queue}

    @classmethod
    def from_dict(cls, d):
        return cls(name=d["name"], targets=tuple(d["targets"]), ssh=d.get("ssh"), report=d.get("report"),
                   options=dict(d.get("options") or {}), ssh_options=tuple(d.get("ssh_options") or ()),
                   queue=d.get("queue") or DEFAULT_QUEUE)


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: Tuple[Host, ...]


def _schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


def validate(path, data):
    if not isinstance(data, dict):
        raise InputError(path, None, type(data).__name__, "an inventory is a YAML mapping")
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise InputError(path, _path_str(error.absolute_path), error.instance,
                         error.message if len(error.message) < 200 else error.validator + " check failed")


def _resolve(base, value):
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _merge(layers):
    out = {"options": {}}
    for layer in layers:
        for key in ("targets", "ssh_options", "queue"):
            if key in layer:
                out[key] = layer[key]
        out["options"].update(layer.get("options") or {})
    return out


def _check_paths(path, where, base, options):
    """Make option paths absolute and check they exist (an install profile is also parsed)."""
    options = dict(options)
    if "install_profile" in options:
        p = _resolve(base, options["install_profile"])
        if not p.is_file():
            raise InputError(path, where + ".options.install_profile", options["install_profile"],
                             "no such file (%s)" % p)
        load_profile(p)
        options["install_profile"] = str(p)
    if "elements_path" in options:
        dirs = []
        for i, d in enumerate(options["elements_path"]):
            p = _resolve(base, d)
            if not p.is_dir():
                raise InputError(path, "%s.options.elements_path[%d]" % (where, i), d, "no such directory (%s)" % p)
            dirs.append(str(p))
        options["elements_path"] = dirs
    return options


def load_inventory(path):
    """Read and check an inventory; returns an Inventory with every host's settings merged."""
    path = Path(path).resolve()
    data = read_yaml(path, "inventory")
    validate(path, data)
    base = path.parent
    groups = data.get("groups") or {}
    defaults = data.get("defaults") or {}
    hosts, seen = [], {}
    for i, h in enumerate(data["hosts"]):
        where = "hosts[%d]" % i
        if h["name"] in seen:
            raise InputError(path, where + ".name", h["name"], "duplicate host name (also hosts[%d])" % seen[h["name"]])
        seen[h["name"]] = i
        if ("ssh" in h) == ("report" in h):
            raise InputError(path, where, h["name"], "a host has either ssh (scan it) or report (scanned already)")
        if "group" in h and h["group"] not in groups:
            raise InputError(path, where + ".group", h["group"],
                             "no such group (defined: %s)" % (", ".join(sorted(groups)) or "none"))
        merged = _merge([defaults, groups.get(h.get("group"), {}), h])
        if not merged.get("targets"):
            raise InputError(path, where + ".targets", None, "no targets (set them on the host, its group or defaults)")
        report = None
        scan_only = sorted(SCAN_OPTIONS & set(h.get("options") or {}))
        if "report" in h and scan_only:
            # a scan option on a host that is not scanned would do nothing: say so (group and
            # default options apply to the hosts that are scanned)
            raise InputError(path, "%s.options.%s" % (where, scan_only[0]), h["options"][scan_only[0]],
                             "applies to the scan over ssh; this host has a report")
        if "report" in h:
            p = _resolve(base, h["report"])
            if not p.is_file():
                raise InputError(path, where + ".report", h["report"], "no such file (%s)" % p)
            report = str(p)
        hosts.append(Host(name=h["name"], targets=tuple(merged["targets"]), ssh=h.get("ssh"), report=report,
                          options=_check_paths(path, where, base, merged["options"]),
                          ssh_options=tuple(merged.get("ssh_options") or ()),
                          queue=merged.get("queue") or DEFAULT_QUEUE))
    return Inventory(path=path, hosts=tuple(hosts))


def with_boot(inventory, boot, timeout=None):
    """The inventory with the command line's --boot-smoke / --boot-timeout over every host's options."""
    import dataclasses
    if timeout is not None and not 30 <= timeout <= 3600:
        raise InputError("--boot-timeout", "boot_timeout", timeout, "must be 30 to 3600 seconds")
    hosts = []
    for h in inventory.hosts:
        o = dict(h.options)
        if boot:
            o["boot"] = True
        if timeout is not None:
            o["boot_timeout"] = timeout
        hosts.append(dataclasses.replace(h, options=o))
    return dataclasses.replace(inventory, hosts=tuple(hosts))


def to_options(host):
    """The plan/build Options of a host (dib_migrate.options.Options)."""
    o = host.options
    profile = load_profile(o["install_profile"]) if o.get("install_profile") else None
    return Options(firewall=bool(o.get("firewall", False)), profile=profile, strategy=o.get("strategy", "packages"),
                   pin_versions=bool(o.get("pin_versions", False)), identity=o.get("identity", "keep"),
                   network=o.get("network", "keep"), extra_elements=tuple(o.get("elements") or ()))


def scan_arguments(host):
    """The scanner's options of a host (for `scan --ssh`)."""
    from .ssh import scan_options
    o = host.options
    quiesce = o.get("quiesce")
    return scan_options(o.get("scan_exclude") or (), o.get("scan_full", False), o.get("exclude_secrets", False),
                        quiesce=quiesce if isinstance(quiesce, str) or quiesce is None else ",".join(quiesce))
