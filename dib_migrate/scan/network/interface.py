"""The interface record every manager's reader fills, and address helpers."""


def mask_to_prefix(mask):
    if mask.isdigit():
        return int(mask)
    try:
        bits = "".join("{0:08b}".format(int(p)) for p in mask.split("."))
    except ValueError:
        return None
    return bits.count("1")


def cidr(address, netmask=None):
    if "/" in address:
        return address
    prefix = mask_to_prefix(netmask) if netmask else (128 if ":" in address else 32)
    return "%s/%s" % (address, prefix) if prefix is not None else None


def new_interface(name, config_file):
    return {"name": name, "mac": None, "mode": None, "addresses": [], "gateway": None, "dns": [],
            "config_file": config_file}
