"""The rules of SPEC §3 and issue 6, one module per area; each yields Changes."""
from . import boot, files, network, packages, packer, platform, services

# Order here is the order Changes appear in the Plan (within each area).
RULE_MODULES = (network, packages, files, services, boot, platform, packer)
