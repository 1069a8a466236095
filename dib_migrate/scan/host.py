"""Host name and FQDN."""
import socket

from .keyvalue import parse_shell_vars
from .names import valid


def detect_host(root):
    hostname = (root.read("/etc/hostname") or "").strip().split("\n")[0].strip()
    if not hostname:
        hostname = parse_shell_vars(root.read("/etc/sysconfig/network") or "").get("HOSTNAME", "")
    if not hostname:
        hostname = (root.read("/etc/HOSTNAME") or "").strip()
    if not hostname and root.live:
        hostname = socket.gethostname()
    fqdn = None
    if "." in hostname:
        fqdn, hostname = hostname, hostname.split(".")[0]
    else:
        for line in (root.read("/etc/hosts") or "").splitlines():
            words = line.split("#", 1)[0].split()
            if hostname and hostname in words[1:]:
                for word in words[1:]:
                    if word.startswith(hostname + "."):
                        fqdn = word
                        break
            if fqdn:
                break
    if not valid("hostname", hostname):
        hostname = "localhost"
    if fqdn is not None and not valid("fqdn", fqdn):
        fqdn = None
    return {"hostname": hostname, "fqdn": fqdn or hostname}
