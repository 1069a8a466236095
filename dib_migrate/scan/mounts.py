"""Network and pseudo file systems mounted under the scanned root: left out of the overlay."""
import os
import re


NETWORK_FS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "sshfs", "fuse.sshfs", "glusterfs", "fuse.glusterfs",
              "ceph", "fuse.ceph", "ocfs2", "gfs2", "9p", "davfs", "fuse.davfs", "afs", "lustre", "beegfs",
              "fuse.s3fs"}
PSEUDO_FS = {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs", "debugfs",
             "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs",
             "binfmt_misc", "efivarfs", "rpc_pipefs", "nfsd", "selinuxfs", "ramfs", "overlay", "squashfs",
             "nsfs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal"}


def unescape_mount(text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mounted_excludes(root, mounts_text=None):
    """In-root paths of network and pseudo file systems mounted under the scanned root."""
    if mounts_text is None:
        try:
            with open("/proc/self/mounts") as f:
                mounts_text = f.read()
        except (OSError, IOError):
            return set()
    base = os.path.realpath(root.path)
    out = set()
    for line in mounts_text.splitlines():
        words = line.split()
        if len(words) < 3:
            continue
        mountpoint, fstype = unescape_mount(words[1]), words[2]
        if fstype not in NETWORK_FS and fstype not in PSEUDO_FS:
            continue
        if base == "/":
            inner = mountpoint
        elif mountpoint == base or mountpoint.startswith(base + "/"):
            inner = mountpoint[len(base):] or "/"
        else:
            continue
        if inner != "/":
            out.add(inner)
    return out
