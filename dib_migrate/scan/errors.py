"""Exit codes and the refusal any part of the scanner can raise."""


EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


class ScanRefused(Exception):
    """The scan cannot start (not a Linux root, unwritable output): exit code 2."""
