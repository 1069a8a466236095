"""What a rule sees: the report, the target, the user's options and the family's tables."""
from dataclasses import dataclass

from ..distros import Family
from ..options import Options
from ..report import Report
from ..targets import Target


@dataclass(frozen=True)
class Context:
    report: Report
    target: Target
    options: Options
    family: Family

    @property
    def kernel_injected(self):
        """pkg-kernel applies: a PV guest booted by its host, or no kernel package at all."""
        r = self.report
        own = [k for k in r.kernel_packages if k not in self.family.xen_only_kernels]
        return r.virtualization == "xen-pv" or not own

    def interfaces(self):
        """The source's interfaces with an install profile's NIC changes applied."""
        from dataclasses import replace
        out = []
        for iface in self.report.interfaces:
            nic = self.options.profile.nic(iface.name) if self.options.profile else None
            if nic:
                iface = replace(iface, mode=nic.mode, addresses=nic.addresses, gateway=nic.gateway, dns=nic.dns)
            out.append(iface)
        return out
