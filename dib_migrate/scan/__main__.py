"""python3 -m dib_migrate.scan: the scanner's command line."""
import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
