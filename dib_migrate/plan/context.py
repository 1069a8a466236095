"""What a rule sees: the report, the target, the user's options and the family's tables."""
import re
from dataclasses import dataclass

from ..distros import Family
from ..scan.network.bond import renamed as bond_options_renamed
from ..options import Options
from ..report import Report
from ..targets import Target

LEGACY_NAME = re.compile(r"^eth[0-9]+$")
PREDICTABLE_NAME = re.compile(r"^(en|wl|ww)(o|s|p|x|P|b|c|a|v|i)[0-9a-f]")


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
        own = [k for k in r.kernel_packages if not self.family.is_xen_kernel(k)]
        return r.virtualization == "xen-pv" or not own

    def carried_under(self, directory):
        """(files, bytes) the scan's overlay holds below ``directory``; (0, 0) without an overlay."""
        ov = self.report.overlay
        if ov is None:
            return 0, 0
        from ..overlay import carried_under
        return carried_under(ov.path, ov.compression, directory)

    def carries(self, path):
        """Whether the scan's overlay holds ``path`` (a file of the source's, laid in the image)."""
        ov = self.report.overlay
        if ov is None:
            return False
        from ..overlay import carries
        return carries(ov.path, ov.compression, path)

    def interface_names(self):
        """source name -> name in the image.

        Predictable names (ens192, enp0s3) come from the PCI slot of the old virtual hardware
        and change on the new one, so they become ethN, which net.ifnames=0 keeps stable;
        kernel names (eth0) and virtual devices (bond0, br0, eth0.100) keep theirs. The NICs a
        bond or bridge enslaves and a VLAN's parent are renamed too (they have no entry of their
        own when they carry no address); a VLAN named <parent>.<id> follows its parent.
        """
        names = [i.name for i in self.report.interfaces]
        for i in self.report.interfaces:
            names += [n for n in i.members + ((i.parent,) if i.parent else ()) if n not in names]
        taken = {int(n[3:]) for n in names if LEGACY_NAME.match(n)}
        out, free = {}, (i for i in range(1000) if i not in taken)
        for n in names:
            if "." in n and PREDICTABLE_NAME.match(n):
                continue
            out[n] = "eth%d" % next(free) if PREDICTABLE_NAME.match(n) else n
        for n in names:
            base, _, vid = n.rpartition(".")
            if n not in out:
                out[n] = out.get(base, base) + "." + vid if base in out and vid.isdigit() else \
                    "eth%d" % next(free)
        return out

    def interfaces(self):
        """The interfaces as the image has them: renamed as above, an install profile's NIC changes applied."""
        from dataclasses import replace
        out = []
        names = self.interface_names()
        for iface in self.report.interfaces:
            nic = self.options.profile.nic(iface.name) if self.options.profile else None
            if nic:
                iface = replace(iface, mode=nic.mode, addresses=nic.addresses, gateway=nic.gateway, dns=nic.dns)
            elif self.options.network == "dhcp" and iface.mode == "static":
                iface = replace(iface, mode="dhcp", addresses=(), gateway=None, dns=())
            out.append(replace(iface, name=names[iface.name], members=tuple(names[m] for m in iface.members),
                               parent=names.get(iface.parent, iface.parent),
                               bond_options=bond_options_renamed(iface.bond_options, names)))
        masters = self.masters(out)
        # a NIC a bond or bridge enslaves has no address of its own: the kernel would not use it
        return [replace(i, mode="manual", addresses=(), gateway=None, dns=()) if i.name in masters else i
                for i in out]

    @staticmethod
    def masters(interfaces):
        """member name -> the bond or bridge that enslaves it."""
        return {m: i.name for i in interfaces if i.kind in ("bond", "bridge") for m in i.members}
