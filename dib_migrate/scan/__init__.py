"""The scanner (SPEC §2): a live server or a mounted disk -> scan report v1 + overlay archive.

Everything lives in :mod:`dib_migrate.scan.scanner`, one standard-library-only module that
can also be copied alone to a source server and run there with ``python3 scanner.py``.
"""
from .scanner import SCANNER_VERSION, ScanRefused, dump_yaml, main, scan  # noqa: F401
