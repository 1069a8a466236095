"""IMAGE.resync.json: the delta scans `dib-migrate resync` laid over a built image, in order,
and the state they leave the image in. The one place where a scan and its deltas are merged:
resync writes the record, verify and compare read the image through ``Layers`` and
``state``.

The merge is what resync does to the image: the first overlay, then for each delta its
deletions (``rm -rf``) and its members, in the order they were applied. A path holds what the
last layer to lay it had, unless a later delta deleted it (or a directory above it). The
image's facts (packages, units, accounts, network, ...) are those of the last delta's report:
a delta report is a full report of the source at its scan, only its archive is partial.
"""
import json
import os
from pathlib import Path

from ..errors import InputError
from ..report import load_report
from ..verify.archive import member_path, open_tar, sha256_file

SUFFIX = ".resync.json"


def path_of(image):
    return Path(str(image) + SUFFIX)


def read(image):
    """The image's record (a dict), or None when no delta was laid over it."""
    path = path_of(image)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise InputError(path, None, None, "cannot read the resync record: %s" % e.strerror)
    except ValueError as e:
        raise InputError(path, None, None, "not valid JSON: %s" % e)
    if not isinstance(data, dict) or not isinstance(data.get("applied", []), list):
        raise InputError(path, "applied", None, "not a resync record")
    return data


def applied(image):
    """The deltas laid over ``image``, oldest first: dicts with scanned_at, report, archive,
    sha256 and deleted."""
    data = read(image) or {}
    return [d for d in data.get("applied", ()) if isinstance(d, dict)]


def write(image, previous, report, deleted):
    """Add the delta ``report`` (a loaded Report) and the paths its resync removed to the
    record; written under a temporary name and renamed into place. Returns the record's path."""
    entry = {"scanned_at": report.scanned_at, "report": str(report.path),
             "archive": str(report.overlay.path), "sha256": report.overlay.sha256,
             "deleted": list(deleted)}
    record = {"scanned_at": report.scanned_at, "report": str(report.path),
              "applied": list((previous or {}).get("applied", [])) + [entry]}
    path = path_of(image)
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return path


class State:
    """What an image built from the full scan ``base`` holds after the ``deltas`` (record
    entries, oldest first) resync laid over it: the facts of ``report`` (the last delta's, or
    ``base``'s) and the files of ``layers()``."""

    def __init__(self, base, report, deltas):
        self.base, self.report, self.deltas = base, report, list(deltas)

    def layers(self, overlay=None):
        """The image's archives: ``overlay`` (default: the base scan's) and the deltas'; None
        when the scan has no archive."""
        archive = overlay or (self.base.overlay.path if self.base.overlay else None)
        return Layers(archive, self.deltas) if archive else None


def state(base_path, image=None):
    """The State of ``image`` (None: as built) from the full scan at ``base_path`` it was
    built from. InputError (exit 2) when ``base_path`` is a delta, or not the scan the first
    delta laid over the image follows, or a delta's report or archive is not at hand."""
    base = load_report(base_path)
    if base.delta is not None:
        raise InputError(base_path, "delta", base.delta.since,
                         "a delta report: give the full scan the image was built from; the deltas resync laid "
                         "over the image are read from IMAGE%s" % SUFFIX)
    deltas = applied(image) if image is not None else []
    if not deltas:
        return State(base, base, [])
    first = _delta_report(image, deltas[0])
    if first.delta.since != base.scanned_at:
        raise InputError(base_path, "scanned_at", base.scanned_at,
                         "%s: the deltas laid over the image follow the scan of %s, not this one: give the "
                         "report the image was built from" % (path_of(image), first.delta.since))
    return State(base, first if len(deltas) == 1 else _delta_report(image, deltas[-1]), deltas)


def _delta_report(image, entry):
    path = entry.get("report")
    if not path:
        raise InputError(path_of(image), "applied.report", None, "no report recorded for the delta of %s"
                         % entry.get("scanned_at"))
    report = load_report(path)
    if report.delta is None or report.overlay.sha256 != entry.get("sha256"):
        raise InputError(path, "overlay.sha256", report.overlay.sha256 if report.overlay else None,
                         "not the delta resync laid over %s (its archive was %s)" % (image, entry.get("sha256")))
    return report


class Layers:
    """The files the image holds from its first overlay ``base`` (an archive) and the
    ``deltas`` laid over it (record entries, oldest first)."""

    def __init__(self, base, deltas=()):
        self.base = Path(base)
        self.deltas = list(deltas)
        self.gone = set()      # paths a delta deleted and no later one laid again: filled by members()
        for d in self.deltas:
            archive = Path(d.get("archive", ""))
            if not archive.is_file() or sha256_file(archive) != d.get("sha256"):
                raise InputError(archive, "sha256", d.get("sha256"), "the delta of %s is not at %s (or changed)"
                                 % (d.get("scanned_at"), archive))

    def members(self, skip=None):
        """Yield ``(path, member, tar, layer)`` once for each path the image holds from an
        archive, as the last layer that laid it has it (layer 0: the first overlay, n: the n-th
        delta); ``tar`` reads the member's data during the step. Paths for which ``skip(path)``
        is true are left out. Once exhausted, ``gone`` holds the deleted paths."""
        decided, removed = set(), set()
        self.gone = set()
        layers = [(self.base, ())] + [(Path(d["archive"]), d.get("deleted") or ()) for d in self.deltas]
        for n in range(len(layers) - 1, -1, -1):      # the last laid first: the first to hold a path wins
            archive, deleted = layers[n]
            with open_tar(archive) as tar:
                for m in tar:
                    path = member_path(m.name)
                    if path in decided or _under(path, removed):
                        continue
                    decided.add(path)
                    if skip is None or not skip(path):
                        yield path, m, tar, n
            for path in deleted:            # applied before this layer's members, after every earlier layer
                if path not in decided and not _under(path, removed):
                    self.gone.add(path)
                    decided.add(path)
            removed.update(deleted)


def _under(path, removed):
    """``path`` is, or lies below, one of the ``removed`` paths."""
    if not removed:
        return False
    while path not in ("/", ""):
        if path in removed:
            return True
        path = os.path.dirname(path)
    return False
