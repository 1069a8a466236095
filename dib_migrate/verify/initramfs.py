"""List the files inside an initramfs without running the image's tools.

An initramfs is one or more cpio "newc" archives back to back, each maybe compressed
(Debian: an uncompressed early-microcode cpio, then a zstd/gzip one; dracut likewise).
The host may lack lsinitramfs/lsinitrd (they belong to the image's distro), so this reads
the format directly and calls only the generic decompressors.
"""
import subprocess

# magic -> decompress command (reads stdin, writes stdout)
_COMPRESSORS = (
    (b"\x1f\x8b", ["gzip", "-dc"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dcq"]),
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),       # legacy lz4 (kernel flavour)
    (b"\x04\x22\x4d\x18", ["lz4", "-dc"]),
    (b"BZh", ["bzip2", "-dc"]),
    (b"\x89LZO", ["lzop", "-dc"]),
)
_CPIO_MAGIC = (b"070701", b"070702")


class InitramfsError(ValueError):
    pass


def _parse_cpio(data, start):
    """Names in the cpio at ``data[start:]``; returns (names, offset after TRAILER)."""
    names = []
    off = start
    while True:
        hdr = data[off:off + 110]
        if len(hdr) < 110 or hdr[:6] not in _CPIO_MAGIC:
            raise InitramfsError("bad cpio header at offset %d" % off)
        filesize = int(hdr[54:62], 16)
        namesize = int(hdr[94:102], 16)
        name = data[off + 110:off + 110 + namesize - 1].decode("utf-8", "replace")
        off = (off + 110 + namesize + 3) & ~3
        off = (off + filesize + 3) & ~3
        if name == "TRAILER!!!":
            return names, off
        names.append(name[2:] if name.startswith("./") else name)


def list_files(path):
    """Every member name (without a leading ``./``) of the initramfs at ``path``."""
    with open(path, "rb") as f:
        data = f.read()
    names = []
    off = 0
    while off < len(data):
        # archives are padded with zeros between segments
        while off < len(data) and data[off] == 0:
            off += 1
        if off >= len(data):
            break
        if data[off:off + 6] in _CPIO_MAGIC:
            found, off = _parse_cpio(data, off)
            names += found
            continue
        for magic, cmd in _COMPRESSORS:
            if data.startswith(magic, off):
                # the compressed stream runs to the end of the file (it is always last)
                r = subprocess.run(cmd, input=data[off:], capture_output=True)
                if not r.stdout:
                    raise InitramfsError("%s failed on %s: %s" % (cmd[0], path, r.stderr.decode()))
                inner = r.stdout
                pos = 0
                while pos < len(inner):
                    while pos < len(inner) and inner[pos] == 0:
                        pos += 1
                    if pos >= len(inner):
                        break
                    found, pos = _parse_cpio(inner, pos)
                    names += found
                return names
        raise InitramfsError("unknown data at offset %d of %s" % (off, path))
    return names


def modules(names):
    """Kernel module names (``virtio_net``) of an initramfs listing, ``-`` as ``_``."""
    out = set()
    for n in names:
        base = n.rsplit("/", 1)[-1]
        for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
            if base.endswith(ext):
                out.add(base[: -len(ext)].replace("-", "_"))
    return out
