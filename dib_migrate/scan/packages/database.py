"""Which package database the root has, and the report's package order."""


def package_format(root):
    if root.exists("/var/lib/dpkg/status"):
        return "dpkg"
    if root.isdir("/var/lib/rpm") or root.isdir("/usr/lib/sysimage/rpm"):
        return "rpm"
    return None


def sort_packages(packages):
    seen, out = set(), []
    for p in sorted(packages, key=lambda p: (p["name"], p["arch"])):
        key = (p["name"], p["arch"])
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out
