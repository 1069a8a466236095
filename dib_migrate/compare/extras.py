"""Files the image has and the source did not: what the rebuild's packages, their scripts and the
build created. A changed-files scan puts every entry no package owns into the overlay (except the
trees it records as left out), a full scan every entry, so an image entry that no image package
owns, that the overlay does not hold and that lies outside those trees was not on the source.
Each is a difference; diff.py explains what the Plan's Changes account for (a package the image
adds, its bytecode, its triggers' outputs, the boot files, a rootfs build's additions to the
source's package database) and leaves the rest, such as a default page a package's postinst
copies where the admin had deleted it, unexplained.
"""
import os
import stat

from ..scan.overlay.selection import excluded_by_pattern
from .facts import dpkg_owners


def recorded(source):
    """The left-out trees and patterns of a scan that records them, or None (a hand-written or
    older report, a delta overlay: no extras are looked for). A full scan's overlay holds every
    entry outside those trees, package-owned or not, so the same walk applies to it."""
    overlay = source.get("overlay") or {}
    left_out = overlay.get("left_out")
    if overlay.get("mode") not in ("changed", "full") or not isinstance(left_out, dict):
        return None
    return left_out


def _kind(st):
    return ("symlink" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
            else "file" if stat.S_ISREG(st.st_mode) else "other")


def extra_rows(source, root, overlay_paths, skip=lambda path, kind: False):
    """(path, "extra", None, kind) for each top-most image entry the source did not have, and what
    diff.py explains them with: {"owners": {path: [package, ...]}, "alternatives": {link path},
    "made_by": {path: [package, ...]}, "contents": {extra directory: its files}}.
    ``skip(path, kind)``: entries compared as facts elsewhere (identity, unit links). Only images
    with a dpkg database are walked: ownership is read from its file lists (an rpm image's would
    need rpm's database, not read here)."""
    from ..scan.scanner import Root
    image = Root(str(root))
    left_out = recorded(source)
    if left_out is None or not os.path.isdir(image.host("/var/lib/dpkg/info")):
        return [], {"owners": {}, "alternatives": set()}
    owners = {}
    for path, package in dpkg_owners(image, ("/",), every=True).items():
        owners.setdefault(image.canonical(path), []).extend(package)
    trees = set(left_out.get("trees") or ())
    patterns = list(left_out.get("patterns") or ())
    overlay_paths = set(overlay_paths)
    rows = []
    stack = ["/"]
    while stack:
        inner_dir = stack.pop()
        try:
            names = sorted(os.listdir(image.host(inner_dir)))
        except OSError:
            continue
        for name in names:
            inner = inner_dir.rstrip("/") + "/" + name
            if inner in trees or excluded_by_pattern(inner, patterns):    # as the scan's walk left them out
                continue
            try:
                st = os.lstat(image.host(inner))
            except OSError:
                continue
            kind = _kind(st)
            if inner in owners or inner in overlay_paths:
                if kind == "dir":
                    stack.append(inner)
                continue
            if not skip(inner, kind):
                rows.append((inner, "extra", None, kind))
    made_by = {path: _made_by(image, path, kind, owners) for path, _w, _a, kind in rows}
    return rows, {"owners": owners, "alternatives": alternative_links(image),
                  "made_by": {path: pkgs for path, pkgs in made_by.items() if pkgs},
                  "contents": {path: _files_under(image, path) for path, _w, _a, kind in rows if kind == "dir"}}


def _files_under(image, path, limit=200):
    """The non-directory entries under an extra directory (None past ``limit``: too many to name)."""
    out = []
    for dirpath, _dirs, files in os.walk(image.host(path)):
        for name in files:
            out.append(path + "/" + os.path.relpath(os.path.join(dirpath, name), image.host(path)))
            if len(out) > limit:
                return None
    return sorted(out)


UNIT_DIRS = ("/usr/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/user", "/lib/systemd/user")


def _made_by(image, path, kind, owners, depth=0):
    """The packages whose install made ``path``: a link to a packaged file (a unit enabled by its
    package's scripts), deb-systemd-helper's record of such a unit, or a directory holding only
    those; None when that cannot be told."""
    host = image.host(path)
    if kind == "symlink":
        return owners.get(image.resolve(path))
    if kind == "file" and "/deb-systemd-" in path:
        unit = os.path.basename(path)
        unit = unit[:-len(".dsh-also")] if unit.endswith(".dsh-also") else unit
        for d in UNIT_DIRS:
            if owners.get(image.canonical(d + "/" + unit)):
                return owners[image.canonical(d + "/" + unit)]
        # an alias (dbus-org.freedesktop.timesync1.service): the .dsh-also of the unit that made it names it
        folder = os.path.dirname(path)
        for name in image.listdir(folder):
            made = (image.read(folder + "/" + name) or "").split("\n") if name.endswith(".dsh-also") else ()
            if any(line.endswith("/" + unit) for line in made):
                return _made_by(image, folder + "/" + name, "file", owners, depth + 1)
        return None
    if kind == "dir" and depth < 3:
        pkgs = []
        for name in sorted(os.listdir(host)):
            sub = path + "/" + name
            got = _made_by(image, sub, _kind(os.lstat(image.host(sub))), owners, depth + 1)
            if not got:
                return None
            pkgs += [p for p in got if p not in pkgs]
        return pkgs or None
    return None


def alternative_links(image):
    """Every link update-alternatives manages in the image (/var/lib/dpkg/alternatives/*: the
    master link on line 2, then slave name and link pairs up to a blank line)."""
    links = set()
    for name in image.listdir("/var/lib/dpkg/alternatives"):
        lines = (image.read("/var/lib/dpkg/alternatives/" + name) or "").split("\n")
        links.add("/etc/alternatives/" + name)
        if len(lines) > 1 and lines[1].startswith("/"):
            links.add(image.canonical(lines[1]))
        i = 2
        while i + 1 < len(lines) and lines[i]:
            links.add("/etc/alternatives/" + lines[i])
            if lines[i + 1].startswith("/"):
                links.add(image.canonical(lines[i + 1]))
            i += 2
    return links
