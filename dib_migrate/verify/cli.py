"""Entry point the CLI wires as `dib-migrate verify` (the code lives in the package)."""
from . import main

__all__ = ["main"]
