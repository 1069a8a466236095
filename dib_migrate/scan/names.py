"""What a name that ends up in a command may look like (the report schema's character sets)."""
import re


# Names that end up in commands are checked against the same character sets as the report
# schema (dib_migrate/schema/report-v1.json); anything else is left out with a warning.
NAME_PATTERNS = {
    "package": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$"),
    "version": re.compile(r"^[A-Za-z0-9.+~:_-]+$"),
    "arch": re.compile(r"^[A-Za-z0-9_-]+$"),
    "service": re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,127}$"),
    "interface": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$"),
    "account": re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$"),
    "hostname": re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"),
    "fqdn": re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*\.?$"),
    "ip": re.compile(r"^[0-9A-Fa-f.:]{2,45}$"),
    "cidr": re.compile(r"^[0-9A-Fa-f.:]+/[0-9]{1,3}$"),
    "mac": re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"),
    "abspath": re.compile(r"^/[A-Za-z0-9._+@/-]*$"),
    "fstab_word": re.compile(r"^[^\s#]{1,4096}$"),
    "fstype": re.compile(r"^[a-z0-9._+-]{1,32}$"),
    "distro": re.compile(r"^[a-z][a-z0-9._-]{0,31}$"),
    "os_version": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"),
    "codename": re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,63}$"),
    "kernel": re.compile(r"^[A-Za-z0-9._+~-]+$"),
}


def valid(kind, value):
    return isinstance(value, str) and NAME_PATTERNS[kind].match(value) is not None
