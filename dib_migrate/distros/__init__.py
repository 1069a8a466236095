"""Per-family knowledge: package and service names, kernels, bootloaders, DIB bases.

One small class per family with sparse per-distro overrides (the model is cloud-init's
``distros/`` and Coriolis's ``osmorphing/``): rules ask the family, never test names.
"""
from .base import Family
from .debian import Debian
from .redhat import RedHat
from .suse import Suse

FAMILIES = {"debian": Debian, "redhat": RedHat, "suse": Suse}


def family_for(report) -> Family:
    return FAMILIES[report.family](report)
