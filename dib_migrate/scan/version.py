"""Versions the report carries: the scanner's own and the report schema's."""


SCANNER_VERSION = "0.1.0"
SCHEMA_VERSION = 1
