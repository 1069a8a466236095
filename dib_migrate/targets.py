"""The clouds an image can be built for (SPEC §4) and what each adds to the Plan."""
from dataclasses import dataclass, field
from typing import Mapping, Tuple

from . import rule_registry as R


@dataclass(frozen=True)
class Target:
    name: str
    image_type: str                 # what disk-image-create is asked for
    output_format: str              # what the target finally ships
    extension: str
    drivers: Tuple[str, ...]        # modules the generic initramfs must hold
    kernel_args: Tuple[str, ...]    # beyond the serial console every target gets
    kernel_args_rule: str = ""      # the rule of those arguments (boot-azure)
    cloud_element: str = ""         # migrate-cloud-* element (render adds it to the element set), if any
    cloud_init: bool = False        # pkg-cloud-init
    # cloud-init's datasources here (with their settings), for cloud-init injected or the source's own
    datasources: Tuple[str, ...] = ()
    datasource_settings: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    azure_agent: bool = False       # pkg-azure-agent
    swap_on_os_disk: bool = True
    service_rule: str = ""          # ec2-services / openstack-services / azure-services
    services_disabled: Tuple[str, ...] = ()
    summary: str = ""

    @property
    def rules(self):
        rules = [r for r, on in ((R.PKG_CLOUD_INIT, self.cloud_init), (R.PKG_AZURE_AGENT, self.azure_agent))
                 if on]
        if self.service_rule:
            rules.append(self.service_rule)
        return rules

    @property
    def all_rules(self):
        """Every rule the target brings into a Plan: its own, then those every target gets."""
        return self.rules + [r for r in (self.kernel_args_rule,) if r] + list(COMMON_RULES)


# boot rules every target gets, with the target's drivers and console
COMMON_RULES = (R.BOOT_DRIVERS, R.BOOT_CONSOLE)


VIRTIO = ("virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "virtio_console")
CONSOLE = ("console=tty0", "console=ttyS0,115200")

TARGETS = {
    t.name: t for t in (
        Target("openstack", "qcow2", "qcow2", "qcow2", VIRTIO, CONSOLE,
               cloud_element="migrate-cloud-openstack", cloud_init=True,
               datasources=("ConfigDrive", "OpenStack", "None"),
               service_rule=R.OPENSTACK_SERVICES,
               services_disabled=("hal", "haldaemon", "ip6tables", "iptables"),
               summary="qcow2; virtio drivers; cloud-init with ConfigDrive/OpenStack datasources"),
        Target("ec2", "raw", "raw", "raw",
               ("nvme", "nvme_core", "ena", "xen_blkfront", "xen_netfront") + VIRTIO, CONSOLE,
               cloud_element="migrate-cloud-ec2", service_rule=R.EC2_SERVICES,
               datasources=("Ec2", "None"), datasource_settings={"Ec2": {"strict_id": False}},
               services_disabled=("hal", "haldaemon", "ip6tables", "iptables"),
               summary="raw (for import); nvme, ena, xen-blkfront/netfront; fstab by UUID"),
        Target("azure", "raw", "vhd", "vhd", ("hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_utils"),
               ("console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300"), kernel_args_rule=R.BOOT_AZURE,
               cloud_element="migrate-cloud-azure", azure_agent=True, swap_on_os_disk=False,
               datasources=("Azure",),
               service_rule=R.AZURE_SERVICES,
               summary="fixed VHD, size a multiple of 1 MiB; Hyper-V drivers; Azure Linux agent"),
        Target("kvm", "qcow2", "qcow2", "qcow2", VIRTIO, CONSOLE,
               cloud_element="migrate-cloud-kvm",
               summary="qcow2; virtio drivers; no cloud agent (a carried cloud-init gets the Plan's settings)"),
    )
}
