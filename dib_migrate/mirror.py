"""Pre-flight: which of the Plan's packages (and pinned versions) the target mirror lacks.

Reads the mirror's own package indexes (the suites DIB builds from), so the answer is the
mirror's, not a guess. Only Debian-family mirrors are read here.
"""
import lzma
import urllib.error
import urllib.request

from .errors import InputError
from .hostshims import security_mirror

DEFAULT_MIRRORS = {"debian": "http://deb.debian.org/debian", "ubuntu": "http://archive.ubuntu.com/ubuntu"}


def _suites(distro, release, mirror):
    if distro == "ubuntu":
        return [(mirror, release), (mirror, release + "-updates"), (mirror, release + "-security")]
    return [(mirror, release), (mirror, release + "-updates"),
            (security_mirror(mirror), release + "-security")]


def parse_packages(text, index):
    """Add name -> {versions} from a Packages file to ``index``."""
    name = None
    for line in text.splitlines():
        if line.startswith("Package: "):
            name = line[9:].strip()
        elif line.startswith("Version: ") and name:
            index.setdefault(name, set()).add(line[9:].strip())
    return index


def fetch_index(distro, release, arch, mirror=None, opener=urllib.request.urlopen):
    mirror = (mirror or DEFAULT_MIRRORS[distro]).rstrip("/")
    index = {}
    for base, suite in _suites(distro, release, mirror):
        url = "%s/dists/%s/main/binary-%s/Packages.xz" % (base, suite, arch)
        try:
            with opener(url, timeout=60) as resp:
                parse_packages(lzma.decompress(resp.read()).decode("utf-8", "replace"), index)
        except urllib.error.HTTPError as e:
            if e.code != 404 or suite == release:   # a release may lack -updates; never its main suite
                raise InputError("--check-mirror", "mirror", url, "cannot read the package index (%s)" % e)
        except (urllib.error.URLError, OSError, lzma.LZMAError) as e:
            raise InputError("--check-mirror", "mirror", url, "cannot read the package index (%s)" % e)
    return index


def missing(plan, index):
    """(names the mirror lacks, name=version pins it lacks) for the Plan's installs."""
    names, pins = [], []
    for c in plan.changes:
        if c.action == "install-packages":
            versions = c.data.get("versions") or {}
            for n in c.data["names"]:
                if n not in index:
                    names.append(n)
                elif n in versions and versions[n] not in index[n]:
                    pins.append("%s=%s" % (n, versions[n]))
        elif c.action == "install-package" and c.subject not in index:
            names.append(c.subject)
    return names, pins


def supported(plan):
    return plan.family == "debian" and plan.distro in DEFAULT_MIRRORS
