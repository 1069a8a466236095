"""/etc/fstab entries."""
from .names import valid


def parse_fstab(text, progress=None):
    out = []
    for line in (text or "").splitlines():
        words = line.split("#", 1)[0].split() if not line.lstrip().startswith("#") else []
        if not words:
            continue
        if len(words) < 3:
            if progress:
                progress.warn("fstab line skipped: %r" % line)
            continue
        entry = {"spec": words[0], "mountpoint": words[1], "fstype": words[2],
                 "options": words[3] if len(words) > 3 else "defaults",
                 "dump": int(words[4]) if len(words) > 4 and words[4].isdigit() else 0,
                 "pass": int(words[5]) if len(words) > 5 and words[5].isdigit() else 0}
        if not valid("fstype", entry["fstype"]):
            if progress:
                progress.warn("fstab line skipped (file system type): %r" % line)
            continue
        out.append(entry)
    return out


def swap_files(entries):
    """The swap files (not devices) the fstab entries name."""
    return [e["spec"] for e in entries
            if e["fstype"] == "swap" and e["spec"].startswith("/") and not e["spec"].startswith("/dev/")]


def fstab_ok(entry, progress):
    if all(valid("fstab_word", entry[k]) for k in ("spec", "mountpoint", "options")):
        return True
    progress.warn("fstab entry left out: %r" % (entry,))
    return False
