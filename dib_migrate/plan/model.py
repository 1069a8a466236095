"""The Plan: every difference between the source server and the image, as pure data.

A Plan is what `dib-migrate plan` shows, what `render` turns into element data and what
`verify` checks in the built image. Each Change names the SPEC rule behind it and says, in
one line, which fact of the source led to it.
"""
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple

from ..actions import ACTIONS, AREAS  # noqa: F401  (AREAS re-exported: the Plan's order)


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
        return ACTIONS[self.action].area

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
class Blocker:
    """A pre-flight finding that stops a build (Leapp's inhibitor): `plan` shows it, `build` refuses."""
    rule: str
    message: str
    fix: str
    field: str      # the report field (or option) at fault, as the build's error names it
    value: str      # its value, as text

    def to_dict(self):
        return {"rule": self.rule, "message": self.message, "fix": self.fix, "field": self.field,
                "value": self.value}

    @classmethod
    def from_dict(cls, d):
        return cls(d["rule"], d["message"], d["fix"], d["field"], d["value"])


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
    blockers: Tuple[Blocker, ...] = ()

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
            "blockers": [b.to_dict() for b in self.blockers],
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
            blockers=tuple(Blocker.from_dict(b) for b in d.get("blockers", ())),
        )
