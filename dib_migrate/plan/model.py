"""The Plan: every difference between the source server and the image, as pure data.

A Plan is what `dib-migrate plan` shows, what `render` turns into element data and what
`verify` checks in the built image. Each Change names the SPEC rule behind it and says, in
one line, which fact of the source led to it.
"""
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple

# Areas in the order `plan` shows them.
AREAS = ("network", "packages", "files", "services", "boot")

# action -> area. An action is what an element does and what verify checks.
ACTIONS = {
    "set-network": "network",          # subject: interface; data: mode, addresses, gateway, dns, file, manager
    "remove-file": "network",          # subject: path (a MAC binding or stale config)
    "write-network-file": "network",   # subject: path; data: content (e.g. an empty rule masking a generator)
    "write-hosts": "network",          # subject: /etc/hosts; data: content
    "install-packages": "packages",    # subject: summary; data: names (the rebuilt package set)
    "install-package": "packages",     # subject: package name
    "remove-package": "packages",      # subject: package name
    "apply-overlay": "files",          # subject: archive name; data: mode, files, sha256, users, groups
    "prune-etc-links": "files",        # subject: /etc; data: keep (the source's links), skip (dirs left alone)
    "drop-fstab-line": "files",        # subject: mountpoint; data: line, index
    "keep-fstab-line": "files",        # subject: mountpoint; data: line (as written to the image), index
    "reset-adjtime": "files",          # subject: /etc/adjtime; data: content, mode (UTC/LOCAL)
    "cloud-config": "files",           # subject: path in the image; data: content
    "agent-config": "files",           # subject: /etc/waagent.conf; data: settings {key: value}
    "firstboot": "files",              # subject: first-boot unit; data: profile settings
    "identity": "files",               # subject: keep|reset; data: what is kept/reset
    "selinux-relabel": "files",        # subject: /.autorelabel
    "enable-service": "services",      # subject: service; data: present (bool)
    "disable-service": "services",
    "mask-service": "services",
    "kernel-args": "boot",             # subject: the arguments; data: args (list)
    "initramfs-drivers": "boot",       # subject: drivers; data: drivers (list)
    "regen-initramfs": "boot",
    "regen-grub": "boot",
    "growroot": "boot",
}


@dataclass(frozen=True)
class Change:
    action: str
    subject: str
    rule: str
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError("unknown action %r" % self.action)

    @property
    def area(self):
        return ACTIONS[self.action]

    def to_dict(self):
        d = {"area": self.area, "action": self.action, "subject": self.subject,
             "rule": self.rule, "reason": self.reason}
        if self.data:
            d["data"] = dict(self.data)
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(d["action"], d["subject"], d["rule"], d["reason"], d.get("data") or {})


@dataclass(frozen=True)
class Warning:
    rule: str
    message: str

    def to_dict(self):
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Build:
    """How disk-image-create is asked for this image."""
    elements: Tuple[str, ...]      # base + static migrate-* elements (the per-host element is added by render)
    release: str                   # DIB_RELEASE
    arch: str                      # DIB's -a (amd64, arm64, ...)
    image_type: str                # disk-image-create -t
    output_format: str             # what the target finally ships (qcow2, raw, vhd)
    environment: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self):
        return {"elements": list(self.elements), "release": self.release, "arch": self.arch,
                "image_type": self.image_type, "output_format": self.output_format,
                "environment": dict(self.environment)}


@dataclass(frozen=True)
class Plan:
    host: str
    target: str
    strategy: str
    identity: str
    family: str
    distro: str
    version: str
    init_system: str
    build: Build
    changes: Tuple[Change, ...]
    warnings: Tuple[Warning, ...] = ()

    def by_rule(self, rule):
        return [c for c in self.changes if c.rule == rule]

    def by_action(self, action):
        return [c for c in self.changes if c.action == action]

    def find(self, action, subject):
        for c in self.changes:
            if c.action == action and c.subject == subject:
                return c
        return None

    def to_dict(self):
        return {
            "plan_version": 1,
            "host": self.host, "target": self.target, "strategy": self.strategy,
            "identity": self.identity,
            "os": {"family": self.family, "distro": self.distro, "version": self.version,
                   "init_system": self.init_system},
            "build": self.build.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
            "warnings": [w.to_dict() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, d):
        b = d["build"]
        return cls(
            host=d["host"], target=d["target"], strategy=d["strategy"], identity=d["identity"],
            family=d["os"]["family"], distro=d["os"]["distro"], version=d["os"]["version"],
            init_system=d["os"]["init_system"],
            build=Build(tuple(b["elements"]), b["release"], b["arch"], b["image_type"], b["output_format"],
                        b.get("environment") or {}),
            changes=tuple(Change.from_dict(c) for c in d["changes"]),
            warnings=tuple(Warning(w["rule"], w["message"]) for w in d.get("warnings", ())),
        )
