"""Secrets --exclude-secrets leaves out: shadow files and private keys."""
import fnmatch
import os
import re
import stat


SECRET_PATTERNS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd",
                   "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_key")
PRIVATE_KEY_MARK = re.compile(br"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File")


def is_secret(inner, host_path, st):
    """Shadow files, SSH host private keys, and private keys under /root and /home."""
    for pattern in SECRET_PATTERNS:
        if fnmatch.fnmatch(inner, pattern):
            return True
    if not (inner.startswith("/root/") or inner.startswith("/home/")) or not stat.S_ISREG(st.st_mode):
        return False
    base = os.path.basename(inner)
    if base.startswith("id_") and not base.endswith(".pub") and "/.ssh/" in inner:
        return True
    if st.st_size > (1 << 20):
        return False
    try:
        with open(host_path, "rb") as f:
            head = f.read(4096)
    except (OSError, IOError):
        return False
    return PRIVATE_KEY_MARK.search(head) is not None
