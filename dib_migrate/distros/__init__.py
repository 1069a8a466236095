"""Per-family knowledge: package and service names, kernels, bootloaders, DIB bases.

One small class per family, and a few-line subclass where a distro differs from its family
(the model is cloud-init's ``distros/`` and Coriolis's ``osmorphing/``): rules, render,
build and the mirror check ask the class, never test names.
"""
from .base import Family
from .debian import Debian, Ubuntu
from .redhat import RedHat
from .suse import Suse

FAMILIES = {"debian": Debian, "redhat": RedHat, "suse": Suse}
# distros whose class is not their family's
DISTROS = {"ubuntu": Ubuntu}


def distro_class(family, distro):
    return DISTROS.get(distro, FAMILIES[family])


def family_for(report) -> Family:
    return distro_class(report.family, report.distro)(report)
