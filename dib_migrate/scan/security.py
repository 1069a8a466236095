"""Firewall and SELinux state."""
from .keyvalue import parse_shell_vars


def detect_firewall(root, names, services):
    state = dict((s["name"], s["state"]) for s in services)

    def on(*svcs):
        return any(state.get(s) == "enabled" for s in svcs)

    candidates = []
    if "firewalld" in names:
        candidates.append(("firewalld", on("firewalld")))
    if "ufw" in names:
        conf = parse_shell_vars(root.read("/etc/ufw/ufw.conf") or "")
        candidates.append(("ufw", conf.get("ENABLED", "no").lower() == "yes" and on("ufw")))
    if "nftables" in names:
        rules = root.read("/etc/nftables.conf") or ""
        has_rules = any(line.strip().startswith(("table", "add rule", "add table"))
                        for line in rules.splitlines())
        candidates.append(("nftables", on("nftables") and has_rules))
    rule_files = ("/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/etc/sysconfig/iptables",
                  "/etc/sysconfig/ip6tables")
    iptables_rules = any(_has_rules(root.read(p)) for p in rule_files)
    if iptables_rules or names & {"iptables", "iptables-services", "iptables-persistent",
                                  "netfilter-persistent"}:
        candidates.append(("iptables", iptables_rules and on("netfilter-persistent", "iptables", "ip6tables",
                                                             "iptables-persistent")))
    for tool, active in candidates:
        if active:
            return {"active": True, "tool": tool}
    return {"active": False, "tool": candidates[0][0] if candidates else "none"}


def _has_rules(text):
    """An iptables-save file that sets something (an empty file, as the package leaves it, does not)."""
    return any(line.strip() and not line.startswith("#") for line in (text or "").splitlines())


def detect_selinux(root):
    text = root.read("/etc/selinux/config")
    if text is None:
        return "absent"
    mode = parse_shell_vars(text).get("SELINUX", "disabled").lower()
    return mode if mode in ("enforcing", "permissive", "disabled") else "disabled"
