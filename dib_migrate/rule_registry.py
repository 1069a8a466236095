"""Every rule id, once: its area, what it does in one line and where it comes from.

Plan rules, pre-flight findings, targets and the CLI name rules by the constants below, never
by string literals. Each rule has a pass/fail fixture in tests/unit/plan/rules/<id>.yaml (a
report and options under which it fires, and, unless it always fires, one under which it does
not). `dib-migrate rules` lists the registry; the README's rule table is generated from it.
"""
from collections import OrderedDict
from dataclasses import dataclass

SEED = "seed"            # the UForge "Differences between Source and Target Instances" text (/work/shared/seed/)
BEYOND = "beyond the seed"


@dataclass(frozen=True)
class Rule:
    id: str
    area: str
    summary: str
    origin: str          # "seed: <its section>" or BEYOND
    always: bool = False  # fires for every report and target (its fixture has no quiet case)


RULES = OrderedDict()


def _rule(id, area, summary, origin, always=False):
    assert id not in RULES, id
    RULES[id] = Rule(id, area, summary, origin, always)
    return id


def _seed(section):
    return "%s: %s" % (SEED, section)


# ---------------------------------------------------------------------------- network
NET_STATIC = _rule("net-static", "network", "keep a static address, gateway and DNS in the source manager's format "
                   "(ifupdown, network-scripts, NetworkManager, netplan, systemd-networkd, wicked), with the "
                   "interface's device (bond with its mode, options and enslaved members, VLAN, bridge), static "
                   "routes, MTU, DNS search and IPv6; a bond the source left without link monitor gets miimon 100; an "
                   "install profile may change the addressing",
                   _seed("IP Address and MAC Addresses"))
NET_DHCP = _rule("net-dhcp", "network", "keep DHCP (with the device, routes, MTU and DNS search as for net-static); "
                 "nothing of the old lease is kept", _seed("IP Address and MAC Addresses"))
NET_FILES = _rule("net-files", "network", "the source's other network files that configured the kept devices (a "
                  "second netplan file, a bond's port keyfiles or ifcfg files, interfaces.d stanzas) are removed: "
                  "the rendered files configure those devices, without MAC bindings", BEYOND)
NET_HOSTS = _rule("net-hosts", "network", "/etc/hosts kept; rewritten for a changed address (a NIC moved to DHCP "
                  "leaves its names on 127.0.1.1)",
                  _seed("IP Address and MAC Addresses"), always=True)
NET_MAC = _rule("net-mac", "network", "no MAC bindings (udev persistent-net rules, HWADDR, hwaddress, mac-address, "
                "macaddress, MACAddress=); udev's persistent-net generator masked",
                _seed("IP Address and MAC Addresses"), always=True)
NET_IFNAMES = _rule("net-ifnames", "network", "`net.ifnames=0 biosdevname=0` keeps eth* names on a new NIC model",
                    BEYOND)
# ---------------------------------------------------------------------------- packages
PKG_REBUILD = _rule("pkg-rebuild", "packages", "the scanned package list on DIB's base (packages strategy)", BEYOND)
PKG_KERNEL = _rule("pkg-kernel", "packages", "Xen PV source or no kernel: standard kernel + bootloader injected, "
                   "Xen-only kernels (`linux-image-*-xen*`, `kernel-xen*`) removed", _seed("New Libraries Added"))
PKG_CLOUD_INIT = _rule("pkg-cloud-init", "packages", "cloud-init on openstack (ConfigDrive/OpenStack datasources, "
                       "network left to the kept config), configured on every target where the image runs it; "
                       "`--identity keep`: no hostname, host key, network or authorized_keys change",
                       _seed("New Libraries Added"))
PKG_AZURE_AGENT = _rule("pkg-azure-agent", "packages", "the Azure Linux agent on azure (installed, enabled, "
                        "no swap on the OS disk)", _seed("New Libraries Added"))
PKG_WHITEBOX = _rule("pkg-whitebox", "files", "first-boot configuration from an install profile (root password, "
                     "keyboard, timezone, NICs, boot scripts)", _seed("New Libraries Added"))
PKG_DIB_BASE = _rule("pkg-dib-base", "packages", "what DIB's own elements install on every image (debian-minimal "
                     "with its Recommends, base's tools, debootstrap's packages) is named; base's open-iscsi is "
                     "not installed", BEYOND)
AGENT_REMOVE = _rule("agent-remove", "packages", "old platform's guest agents (open-vm-tools, xe-guest-utilities, "
                     "VirtualBox additions, hyperv-daemons off Azure) removed", BEYOND)
# ---------------------------------------------------------------------------- files
OVERLAY = _rule("overlay", "files", "the server's own files over the image with numeric owners, modes, xattrs, "
                "ACLs; uids/gids the rebuild shifted reconciled; accounts only the image's packages create are "
                "kept (moved to a free id where the source uses theirs)", BEYOND)
OVERLAY_LINKS = _rule("overlay-links", "files", "links the rebuild's install scripts create under /etc that the "
                      "source did not have (a default site it had disabled) are removed", BEYOND)
DIB_RESIDUE = _rule("dib-residue", "files", "what DIB's elements leave in every image besides packages: its build "
                    "tools, package maps and apt settings are removed after the build; its manifests and the new "
                    "filesystem's lost+found stay, named", BEYOND)
OVERLAY_ABSENT = _rule("overlay-absent", "files", "files a package installs that the source lacks (its admin "
                       "removed them: a cron job, a conffile, a default page) are removed from the rebuilt image; "
                       "boot files (kernel modules, firmware, /boot) are kept and named", BEYOND)
OVERLAY_ESP = _rule("overlay-esp", "files", "the source's EFI system partition (/boot/efi) is not laid from the "
                    "scan: the image's boot loader installs GRUB EFI on the image's own ESP, on the removable path "
                    "a new machine's firmware boots without an NVRAM entry", BEYOND)
FSTAB_NFS = _rule("fstab-nfs", "files", "NFS lines dropped", _seed("Contents of /etc/fstab File"))
FSTAB_BLOCKDEV = _rule("fstab-blockdev", "files", "root by UUID (a line for / is added where the source's fstab "
                       "has none); /dev/xvd*-style lines dropped; other disks by UUID/LABEL get `nofail`", BEYOND,
                       always=True)
FSTAB_SWAP = _rule("fstab-swap", "files", "swap files kept with nofail (the file itself is never captured), "
                   "swap devices dropped; none on Azure's OS disk", BEYOND)
FSTAB_REMOTE = _rule("fstab-remote", "files", "remote shares that stay (CIFS, GlusterFS, sshfs, ...) get `nofail`",
                     BEYOND)
FSTAB_KEEP = _rule("fstab-keep", "files", "other fstab lines kept as scanned", BEYOND)
CLOCK_ADJTIME = _rule("clock-adjtime", "files", "drift history dropped, UTC/LOCAL kept",
                      _seed("System Clock /etc/adjtime"))
IDENTITY = _rule("identity", "files", "`--identity` policy (keep: the scanned machine-id survives DIB's sysprep, "
                 "host keys and cloud-init state stay; reset: emptied, regenerated at first boot)", BEYOND, always=True)
SELINUX_RELABEL = _rule("selinux-relabel", "files", "`/.autorelabel` for SELinux sources", BEYOND)
PACKER_PROVISION = _rule("packer-provision", "files", "`--packer`: a temporary root login key for Packer's "
                         "provisioning boot, removed by the template's last provisioner; verify fails while it is "
                         "in the image", BEYOND)
GROWROOT = _rule("growroot", "boot", "root grown to the new disk at first boot (cloud-init's growpart or "
                 "migrate-growroot)", BEYOND, always=True)
# ---------------------------------------------------------------------------- services
SVC_KEEP = _rule("svc-keep", "services", "every other unit (services, timers, sockets, paths, template "
                 "instances) keeps its scanned state", BEYOND)
SVC_LIBVIRTD = _rule("svc-libvirtd", "services", "libvirtd and its sockets off", _seed("Service State"), always=True)
SVC_SSHD = _rule("svc-sshd", "services", "sshd on (where the source has an OpenSSH server)", _seed("Service State"))
SVC_NETWORK = _rule("svc-network", "services", "NetworkManager or network(ing) on", _seed("Service State"))
SVC_FIREWALL = _rule("svc-firewall", "services", "the firewall off unless `--firewall`, which keeps only the "
                     "tool the source ran", _seed("Service State"))
EC2_SERVICES = _rule("ec2-services", "services", "hal, haldaemon, iptables, ip6tables off; network on",
                     _seed("EC2 AMI Image"))
OPENSTACK_SERVICES = _rule("openstack-services", "services", "hal, haldaemon, iptables, ip6tables off; network on",
                           _seed("OpenStack Image"))
AZURE_SERVICES = _rule("azure-services", "services", "network on", _seed("Microsoft Azure Image"))
# ---------------------------------------------------------------------------- boot
BOOT_REGEN = _rule("boot-regen", "boot", "grub configuration and a generic (not host-only) initramfs rewritten",
                   _seed("Service State"), always=True)
BOOT_DRIVERS = _rule("boot-drivers", "boot", "the target's drivers in the initramfs (virtio / nvme, ena, "
                     "xen-blkfront/netfront / hv_vmbus, hv_storvsc, hv_netvsc)", BEYOND, always=True)
BOOT_CONSOLE = _rule("boot-console", "boot", "serial console on the kernel command line; it takes the "
                     "login a Xen console getty (`serial-getty@hvc0`) had", BEYOND, always=True)
BOOT_AZURE = _rule("boot-azure", "boot", "Azure's `earlyprintk=ttyS0 rootdelay=300`; `rootdelay` left out where the "
                   "family's initramfs sleeps it on every boot (Debian, Ubuntu)", BEYOND)
# ---------------------------------------------------------------------------- pre-flight
PREFLIGHT_BASE = _rule("preflight-base", "preflight", "blocker: a release DIB cannot rebuild under the packages "
                       "strategy", BEYOND)
PREFLIGHT_ROOTFS = _rule("preflight-rootfs", "preflight", "blocker: `--strategy rootfs` without a full overlay",
                         BEYOND)
PREFLIGHT_MIRROR = _rule("preflight-mirror", "preflight", "blocker: packages or pinned versions the mirror lacks "
                         "(`--check-mirror`); warning: no mirror check for this distro", BEYOND)
PREFLIGHT_OVERLAY = _rule("preflight-overlay", "preflight", "warning: no overlay, or a full overlay over a package "
                          "rebuild", BEYOND)
PREFLIGHT_FIREWALL = _rule("preflight-firewall", "preflight", "warning: a kept firewall that may lock SSH out",
                           BEYOND)
PREFLIGHT_LVM = _rule("preflight-lvm", "preflight", "warning: LVM/device-mapper volumes are not recreated", BEYOND)
OVERLAY_SETUID = _rule("overlay-setuid", "preflight", "warning: setuid/setgid files the overlay carries, listed "
                       "for a security review", BEYOND)
LIVE_FILES = _rule("live-files", "preflight", "warning: files that vanished or changed while a live scan read them, "
                   "with the services that own them", BEYOND)
LIVE_RUNNING = _rule("live-running", "preflight", "warning: a database's or service's data copied while it ran, "
                     "with its size (not when `scan --quiesce` stopped it)", BEYOND)
DELTA_REPORT = _rule("delta-report", "preflight", "blocker: a delta scan (`scan --since`) is laid over its image "
                     "with `resync`, never built alone", BEYOND)
PREFLIGHT_CRYPT = _rule("preflight-crypt", "preflight", "warning: encrypted volumes cannot be carried over", BEYOND)
PREFLIGHT_DISK = _rule("preflight-disk", "preflight", "warning: a second disk whose files the scan did not capture "
                       "is not carried", BEYOND)
PREFLIGHT_LOGS = _rule("preflight-logs", "preflight", "warning: DIB empties /var/log at the end of the build; the "
                       "source's logs arrive empty", BEYOND)
PREFLIGHT_STATIC = _rule("preflight-static", "preflight", "warning: static addresses kept on ec2/azure need the same "
                         "private address on the instance (or `--network dhcp`)", BEYOND)
PREFLIGHT_NETWORK = _rule("preflight-network", "preflight", "warning: device facts the rendered network configuration "
                          "cannot carry (a VLAN without parent or id; wicked's DNS search domains, which netconfig "
                          "keeps globally; a bond option the manager's format has no word for)", BEYOND)
PREFLIGHT_ROUTES = _rule("preflight-routes", "preflight", "warning: under ifupdown a static `gateway` and a DHCP "
                         "interface may both set the default route; whichever comes up second fails "
                         "(networking.service failed) where the DHCP server offers a router", BEYOND)

PREFLIGHT_SSH = _rule("preflight-ssh", "preflight", "warning: no SSH server on the source: the image is reached "
                      "only through the cloud's console", BEYOND)
PREFLIGHT_UNITS = _rule("preflight-units", "preflight", "warning: a report whose scanner recorded services only "
                        "(no timers, sockets, paths or template instances): those keep the states the image's "
                        "packages give them", BEYOND)


def table(format="table"):
    """The registry as text: `dib-migrate rules` (table) or the README's rule table (markdown)."""
    if format == "markdown":
        out = ["| rule | area | what it does | origin |", "|---|---|---|---|"]
        out += ["| %s | %s | %s | %s |" % (r.id, r.area, r.summary, r.origin) for r in RULES.values()]
    else:
        out = ["%-19s %-9s %s  [%s]" % (r.id, r.area, r.summary, r.origin) for r in RULES.values()]
    return "\n".join(out) + "\n"
