"""The scanner (SPEC §2): a live server or a mounted disk -> scan report v1 + overlay archive.

A package of small standard-library-only modules kept to Python 3.6 syntax with relative
imports only, because it also runs on old source servers: ``build_artifact()`` packs it
into one executable file with zipapp (docs/scan.md). ``scan_root.scan`` runs the parts in
order; ``cli.main`` is ``dib-migrate scan``, ``python3 -m dib_migrate.scan`` and the
artifact's entry point.
"""
from .cli import main  # noqa: F401
from .errors import ScanRefused  # noqa: F401
from .scan_root import scan  # noqa: F401
from .version import SCANNER_VERSION  # noqa: F401
from .yamlwrite import dump_yaml  # noqa: F401


def build_artifact(dest):
    """The single-file scanner written to ``dest``; returns its path (see artifact.build_artifact)."""
    # imported here so that ``python3 -m dib_migrate.scan.artifact`` does not find it loaded already
    from .artifact import build_artifact as build
    return build(dest)
