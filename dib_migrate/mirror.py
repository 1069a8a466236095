"""Pre-flight: which of the Plan's packages (and pinned versions) the target mirror lacks.

Reads the mirror's own package indexes (the suites DIB builds from), so the answer is the
mirror's, not a guess. Only distros whose class names a default_mirror (Debian, Ubuntu) are read.
"""
import lzma
import urllib.error
import urllib.request

from .actions import ACTIONS
from .errors import InputError
from .distros import distro_class


def parse_packages(text, index):
    """Add name -> {versions} from a Packages file to ``index``."""
    name = None
    for line in text.splitlines():
        if line.startswith("Package: "):
            name = line[9:].strip()
        elif line.startswith("Version: ") and name:
            index.setdefault(name, set()).add(line[9:].strip())
    return index


def fetch_index(family, distro, release, arch, mirror=None, opener=urllib.request.urlopen):
    cls = distro_class(family, distro)
    mirror = (mirror or cls.default_mirror).rstrip("/")
    index = {}
    for base, suite in cls.index_suites(release, mirror):
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
        entries = ACTIONS[c.action].packages
        for n, version, install in entries(c) if entries else ():
            if not install:
                continue
            if n not in index:
                names.append(n)
            elif version and version not in index[n]:
                pins.append("%s=%s" % (n, version))
    return names, pins


def supported(plan):
    return distro_class(plan.family, plan.distro).default_mirror is not None
