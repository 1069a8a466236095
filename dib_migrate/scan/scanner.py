"""The scanner's names in one place, as they were when the scanner was this one module.

The scanner is now the package dib_migrate.scan, a module per concern; this facade keeps
``from dib_migrate.scan import scanner`` and ``python3 -m dib_migrate.scan.scanner`` working.
To run the scanner on a source server, copy the single-file build (see artifact.py and
docs/scan.md), not this file.
"""
import sys
import time  # noqa: F401  (tests patch the clock through this module)

from .boot import KERNEL_PACKAGE, detect_bootloader, detect_init_system, kernel_packages, running_kernel  # noqa: F401
from .cli import build_parser, main  # noqa: F401
from .command import run  # noqa: F401
from .errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, ScanRefused  # noqa: F401
from .etc_symlinks import etc_symlinks  # noqa: F401
from .fstab import parse_fstab  # noqa: F401
from .host import detect_host  # noqa: F401
from .keyvalue import parse_ini, parse_shell_vars  # noqa: F401
from .mounts import NETWORK_FS, PSEUDO_FS, mounted_excludes, unescape_mount  # noqa: F401
from .names import NAME_PATTERNS, valid  # noqa: F401
from .network.detect import clean_interface, detect_network, live_mac, resolv_nameservers, udev_macs  # noqa: F401
from .network.ifupdown import ifupdown_files, parse_ifupdown  # noqa: F401
from .network.interface import cidr, mask_to_prefix, new_interface  # noqa: F401
from .network.netplan import netplan_interfaces  # noqa: F401
from .network.network_scripts import network_scripts_interfaces, parse_ifcfg  # noqa: F401
from .network.networkd import networkd_interfaces  # noqa: F401
from .network.networkmanager import nm_keyfile_interfaces  # noqa: F401
from .osinfo import DEBIAN_CODENAMES, ELF_MACHINES, detect_arch, detect_os, family_of  # noqa: F401
from .outdir import prepare_outdir, private_tempfile  # noqa: F401
from .overlay.archive import compressor, gnu_tar_flags, sha256_file, write_archive  # noqa: F401
from .overlay.secret_files import PRIVATE_KEY_MARK, SECRET_PATTERNS, is_secret  # noqa: F401
from .overlay.selection import (  # noqa: F401
    ALWAYS_EXCLUDED, PACKAGE_CACHES, PACKAGE_DATABASES, Selection, excluded_by_pattern, select_overlay)
from .packages.database import package_format, sort_packages  # noqa: F401
from .packages.dpkg import dpkg_installed, dpkg_packages, parse_dpkg_query, parse_dpkg_status  # noqa: F401
from .packages.dpkg_verify import (  # noqa: F401
    dpkg_diversions, dpkg_package_files, install_times, md5_matches, unchanged_since_install)
from .packages.files import PackageFiles  # noqa: F401
from .packages.rpm import (  # noqa: F401
    RPM_QUERY_FORMAT, RPM_VERIFY, parse_rpm_files, parse_rpm_missing, parse_rpm_qa, parse_rpm_verify, rpm_command,
    rpm_package_files)
from .platform import DMI_VENDORS, detect_firmware, detect_virtualization  # noqa: F401
from .progress import Progress, human_bytes  # noqa: F401
from .root import Root, check_linux_root  # noqa: F401
from .scan_root import scan  # noqa: F401
from .security import detect_firewall, detect_selinux  # noqa: F401
from .units import (  # noqa: F401
    SYSTEMD_ADMIN_DIR, SYSTEMD_VENDOR_DIRS, SYSV_SKIP, UNIT_TYPES, default_runlevel, detect_services,
    systemd_services, sysv_services, unit_name, upstart_services)
from .users import parse_accounts  # noqa: F401
from .version import SCANNER_VERSION, SCHEMA_VERSION  # noqa: F401
from .yamlread import SimpleYAMLError, parse_simple_yaml  # noqa: F401
from .yamlwrite import dump_yaml, yaml_scalar  # noqa: F401
from .fstab import fstab_ok as _fstab_ok  # noqa: F401
from .platform import scanned_virtualization as _virtualization  # noqa: F401

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
