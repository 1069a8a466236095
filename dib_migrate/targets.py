"""The clouds an image can be built for (SPEC §4) and what each adds to the Plan."""
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Target:
    name: str
    image_type: str                 # what disk-image-create is asked for
    output_format: str              # what the target finally ships
    extension: str
    drivers: Tuple[str, ...]        # modules the generic initramfs must hold
    kernel_args: Tuple[str, ...]    # beyond the serial console every target gets
    cloud_element: str = ""         # migrate-cloud-* element, if any
    cloud_init: bool = False        # pkg-cloud-init
    azure_agent: bool = False       # pkg-azure-agent
    swap_on_os_disk: bool = True
    service_rule: str = ""          # ec2-services / openstack-services / azure-services
    services_disabled: Tuple[str, ...] = ()
    summary: str = ""

    @property
    def rules(self):
        rules = [r for r, on in (("pkg-cloud-init", self.cloud_init), ("pkg-azure-agent", self.azure_agent))
                 if on]
        if self.service_rule:
            rules.append(self.service_rule)
        return rules


VIRTIO = ("virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "virtio_console")
CONSOLE = ("console=tty0", "console=ttyS0,115200")

TARGETS = {
    t.name: t for t in (
        Target("openstack", "qcow2", "qcow2", "qcow2", VIRTIO, CONSOLE,
               cloud_element="migrate-cloud-openstack", cloud_init=True,
               service_rule="openstack-services",
               services_disabled=("hal", "haldaemon", "ip6tables", "iptables"),
               summary="qcow2; virtio drivers; cloud-init with ConfigDrive/OpenStack datasources"),
        Target("ec2", "raw", "raw", "raw",
               ("nvme", "nvme_core", "ena", "xen_blkfront", "xen_netfront") + VIRTIO, CONSOLE,
               cloud_element="migrate-cloud-ec2", service_rule="ec2-services",
               services_disabled=("hal", "haldaemon", "ip6tables", "iptables"),
               summary="raw (for import); nvme, ena, xen-blkfront/netfront; fstab by UUID"),
        Target("azure", "raw", "vhd", "vhd", ("hv_vmbus", "hv_storvsc", "hv_netvsc", "hv_utils"),
               ("console=ttyS0", "earlyprintk=ttyS0", "rootdelay=300"),
               cloud_element="migrate-cloud-azure", azure_agent=True, swap_on_os_disk=False,
               service_rule="azure-services",
               summary="fixed VHD, size a multiple of 1 MiB; Hyper-V drivers; Azure Linux agent"),
        Target("kvm", "qcow2", "qcow2", "qcow2", VIRTIO, CONSOLE,
               summary="qcow2; virtio drivers; no cloud agent"),
    )
}
