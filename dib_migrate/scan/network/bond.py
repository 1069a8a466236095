"""Bond options: every manager's spelling read into one form, and written back in each manager's.

The form is the kernel's (the bonding driver's sysfs / iproute2 names): {"miimon": "100", "primary": "eth0",
"lacp_rate": "fast", "xmit_hash_policy": "layer3+4", ...}, each value a string in the kernel's own unit
(milliseconds for the link monitors, seconds for lp_interval) with the driver's numeric aliases turned into its
names (lacp_rate 1 -> fast), so the same bond reads the same from every manager. The mode is not among them: it
is the interface's ``bond_mode`` (read with ``mode()``), the one field for it since reports first carried bonds.

The scanner ships as a single file (artifact.py): this module imports nothing outside the scanner.
"""
import re

MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb")
# the driver's enumerated options: the index of a name is its numeric alias
ENUMS = {
    "lacp_rate": ("slow", "fast"),
    "xmit_hash_policy": ("layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"),
    "ad_select": ("stable", "bandwidth", "count"),
    "fail_over_mac": ("none", "active", "follow"),
    "primary_reselect": ("always", "better", "failure"),
    "arp_validate": ("none", "active", "backup", "all", "filter", "filter_active", "filter_backup"),
    "arp_all_targets": ("any", "all"),
}
MS, SECONDS, NUMBER, FLAG, DEVICE, ADDRESSES, MAC = "ms", "s", "number", "flag", "device", "addresses", "mac"
KINDS = {
    "miimon": MS, "updelay": MS, "downdelay": MS, "arp_interval": MS, "peer_notif_delay": MS,
    "lp_interval": SECONDS,
    "min_links": NUMBER, "num_grat_arp": NUMBER, "num_unsol_na": NUMBER, "packets_per_slave": NUMBER,
    "resend_igmp": NUMBER, "ad_actor_sys_prio": NUMBER, "ad_user_port_key": NUMBER, "arp_missed_max": NUMBER,
    "all_slaves_active": FLAG, "tlb_dynamic_lb": FLAG, "use_carrier": FLAG,
    "primary": DEVICE, "active_slave": DEVICE,
    "arp_ip_target": ADDRESSES, "ns_ip6_target": ADDRESSES,
    "ad_actor_system": MAC,
}
KINDS.update((name, "enum") for name in ENUMS)
# the order files list them in: the driver's own (sysfs) order of the common ones, then the rest by name
ORDER = ("miimon", "updelay", "downdelay", "arp_interval", "arp_ip_target", "arp_validate", "arp_all_targets",
         "primary", "primary_reselect", "lacp_rate", "xmit_hash_policy", "ad_select", "min_links",
         "fail_over_mac", "all_slaves_active")

# what the report schema allows (report values are untrusted): a kernel-style name, a value without spaces,
# quotes or shell metacharacters
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:,+-]{0,127}$")

# a time span: 100, 100ms, 0.2s, systemd's "1s 500ms"
_SPAN = re.compile(r"^(?:\s*[0-9]+(?:\.[0-9]+)?\s*(?:us|usec|ms|msec|s|sec|min)?)+\s*$")
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(us|usec|ms|msec|s|sec|min)?")
_TO_MS = {"us": 0.001, "usec": 0.001, "ms": 1, "msec": 1, "s": 1000, "sec": 1000, "min": 60000}
_FLAGS = {"1": "1", "yes": "1", "true": "1", "on": "1", "0": "0", "no": "0", "false": "0", "off": "0"}


def mode(value):
    """A bond mode in the driver's name (1 -> active-backup), or the value as written if it is none of them."""
    v = str(value).strip().strip("'\"").lower()
    if v.isdigit() and int(v) < len(MODES):
        return MODES[int(v)]
    return v


def flag(raw):
    """"1"/"0" for a yes/no/true/false/on/off/1/0 setting, else None."""
    return _FLAGS.get(str(raw).strip().strip("'\"").lower())


def value(name, raw, unit="ms"):
    """One option's value in the kernel's form; ``unit`` is what a bare number means in the source's spelling
    of a time (netplan and the kernel: ms; systemd: s). None if it is not a value of that option."""
    v = str(raw).strip().strip("'\"")
    kind = KINDS.get(name)
    if kind in (MS, SECONDS):
        if not _SPAN.match(v.lower()):
            return None
        ms = round(sum(float(n) * _TO_MS[u or unit] for n, u in _PART.findall(v.lower())))
        return str(ms if kind == MS else ms // 1000)
    if kind == NUMBER:
        return v if v.isdigit() else None
    if kind == FLAG:
        return flag(v)
    if kind == "enum":
        names = ENUMS[name]
        if v.isdigit():
            return names[int(v)] if int(v) < len(names) else None
        return v.lower() if v.lower() in names else None
    if kind == ADDRESSES:
        v = ",".join(a.lstrip("+") for a in re.split(r"[\s,]+", v) if a.lstrip("+"))
    if kind == MAC:
        v = v.lower()
    return v if VALUE.match(v) else None


def renamed(options, names):
    """``options`` ((name, value) pairs) with the ports they name (primary, active_slave) renamed by ``names``."""
    return tuple((k, names.get(v, v) if KINDS.get(k) == DEVICE else v) for k, v in options)


def ordered(options):
    """(name, value) of ``options`` in the order files list them."""
    return sorted(options.items(), key=lambda kv: (ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER), kv[0]))


class Reader:
    """Collects one bond's options from a manager's spelling: the mode apart, bad values apart (the scan
    warns of them)."""

    def __init__(self):
        self.mode, self.options, self.bad = None, {}, []

    def add(self, name, raw, unit="ms"):
        name = name.strip().lower()
        if name == "mode":
            self.mode = mode(raw)
            return
        v = value(name, raw, unit) if NAME.match(name) else None
        if v is None:
            self.bad.append("%s=%s" % (name, raw))
        else:
            self.options[name] = v

    def into(self, iface):
        """Store what was read on the scanner's interface record."""
        if self.mode:
            iface["bond_mode"] = self.mode
        if self.options:
            iface.setdefault("bond_options", {}).update(self.options)
        if self.bad:
            iface.setdefault("_bond_bad", []).extend(self.bad)


def from_kernel_words(text):
    """``mode=1 miimon=100 primary=eth0`` (ifcfg's BONDING_OPTS, wicked's BONDING_MODULE_OPTS) -> Reader."""
    r = Reader()
    for word in text.split():
        name, eq, raw = word.partition("=")
        if eq:
            r.add(name, raw)
        else:
            r.bad.append(word)
    return r


# ---- ifupdown (ifenslave): bond-<name with dashes> or bond_<name>; not options: the ports and the master
IFUPDOWN_NOT_OPTIONS = ("slaves", "master")
# ifenslave's settings of single ports (a queue id, a wifi port's head start): not the bond's, not reported
IFUPDOWN_PORT_SETTINGS = ("queue_id", "give_a_chance")
# what ifenslave (Debian's /etc/network/if-pre-up.d/ifenslave) writes into sysfs
IFUPDOWN_SAYS = ("use_carrier", "num_grat_arp", "num_unsol_na", "arp_ip_target", "arp_interval", "miimon",
                 "downdelay", "updelay", "ad_select", "xmit_hash_policy", "tlb_dynamic_lb", "packets_per_slave",
                 "arp_validate", "lacp_rate", "active_slave", "primary", "primary_reselect", "fail_over_mac")


def ifupdown_name(key):
    """The kernel name of an ifupdown ``bond-*``/``bond_*`` key, or None (not a bond option)."""
    m = re.match(r"^bond[-_]([a-z0-9_-]+)$", key)
    name = m.group(1).replace("-", "_") if m else None
    return None if name in IFUPDOWN_NOT_OPTIONS else name


def ifupdown_words(name, v):
    """ifupdown's spelling of one option: (key, value) with its lists space-separated."""
    return "bond-" + name.replace("_", "-"), v.replace(",", " ") if KINDS.get(name) == ADDRESSES else v


# ---- netplan's `parameters:` (netplan.io's doc, bonds); aliases read, the first spelling written
NETPLAN = {
    "miimon": ("mii-monitor-interval",), "updelay": ("up-delay",), "downdelay": ("down-delay",),
    "arp_interval": ("arp-interval",), "arp_ip_target": ("arp-ip-targets",), "arp_validate": ("arp-validate",),
    "arp_all_targets": ("arp-all-targets",), "primary": ("primary",),
    "primary_reselect": ("primary-reselect-policy",), "lacp_rate": ("lacp-rate",),
    "xmit_hash_policy": ("transmit-hash-policy",), "ad_select": ("ad-select",), "min_links": ("min-links",),
    "fail_over_mac": ("fail-over-mac-policy",),
    # the older spellings: netplan before 0.106 knows only them, later ones accept them as aliases
    "all_slaves_active": ("all-slaves-active", "all-members-active"),
    "packets_per_slave": ("packets-per-slave", "packets-per-member"),
    "num_grat_arp": ("gratuitous-arp", "gratuitious-arp"),
    "resend_igmp": ("resend-igmp",), "lp_interval": ("learn-packet-interval",),
}
NETPLAN_NAME = {key: name for name, keys in NETPLAN.items() for key in keys}


def from_netplan(params):
    r = Reader()
    for key, raw in params.items():
        name = NETPLAN_NAME.get(key, "mode" if key == "mode" else None)
        if name is None:
            r.bad.append("%s (a netplan parameter this scanner does not know)" % key)
        elif isinstance(raw, list):
            r.add(name, ",".join(str(a) for a in raw))
        else:
            r.add(name, str(raw).lower() if isinstance(raw, bool) else raw,
                  "s" if KINDS.get(name) == SECONDS else "ms")
    return r


def netplan_params(options):
    """(key, value as YAML should hold it) of netplan's parameters for ``options``."""
    out = []
    for name, v in ordered(options):
        kind = KINDS.get(name)
        if kind == ADDRESSES:
            v = v.split(",")
        elif kind == FLAG:
            v = v == "1"
        elif kind in (MS, SECONDS, NUMBER):
            v = int(v)
        out.append((NETPLAN[name][0], v))
    return out


# ---- systemd-networkd: the .netdev's [Bond] (systemd.netdev(5)); the primary is the member's PrimarySlave=
NETWORKD = {
    "miimon": "MIIMonitorSec", "updelay": "UpDelaySec", "downdelay": "DownDelaySec",
    "arp_interval": "ARPIntervalSec", "arp_ip_target": "ARPIPTargets", "arp_validate": "ARPValidate",
    "arp_all_targets": "ARPAllTargets", "primary_reselect": "PrimaryReselectPolicy",
    "lacp_rate": "LACPTransmitRate", "xmit_hash_policy": "TransmitHashPolicy", "ad_select": "AdSelect",
    "min_links": "MinLinks", "fail_over_mac": "FailOverMACPolicy", "all_slaves_active": "AllSlavesActive",
    "packets_per_slave": "PacketsPerSlave", "num_grat_arp": "GratuitousARP", "resend_igmp": "ResendIGMP",
    "lp_interval": "LearnPacketIntervalSec", "tlb_dynamic_lb": "DynamicTransmitLoadBalancing",
    "ad_actor_sys_prio": "AdActorSystemPriority", "ad_user_port_key": "AdUserPortKey",
    "ad_actor_system": "AdActorSystem",
}
NETWORKD_NAME = {key: name for name, key in NETWORKD.items()}
# the member's .network [Network] keys that name it the bond's primary / active port
NETWORKD_MEMBER = {"PrimarySlave": "primary", "ActiveSlave": "active_slave"}


def from_networkd(bond_section):
    """[(key, value)] of a .netdev's [Bond] section -> Reader."""
    r = Reader()
    for key, raw in bond_section:
        name = NETWORKD_NAME.get(key, "mode" if key == "Mode" else None)
        if name is None:
            r.bad.append("%s=%s (a [Bond] key this scanner does not know)" % (key, raw))
        else:
            # systemd reads a bare number of a time span as seconds
            r.add(name, raw, "s")
    return r


def networkd_keys(options):
    """(key, value) of the .netdev's [Bond] section for ``options`` (primary/active_slave: the member's)."""
    out = []
    for name, v in ordered(options):
        if name not in NETWORKD:
            continue
        kind = KINDS.get(name)
        if kind == MS:
            v += "ms"
        elif kind == ADDRESSES:
            v = v.replace(",", " ")
        elif kind == FLAG:
            v = "yes" if v == "1" else "no"
        out.append((NETWORKD[name], v))
    return out


# ---- NetworkManager's [bond] keys are the kernel's names; these are the ones NetworkManager 1.42 accepts
NM_SAYS = ("miimon", "downdelay", "updelay", "arp_interval", "arp_ip_target", "arp_validate", "primary",
           "primary_reselect", "fail_over_mac", "use_carrier", "ad_select", "xmit_hash_policy", "resend_igmp",
           "lacp_rate", "active_slave", "ad_actor_sys_prio", "ad_actor_system", "ad_user_port_key",
           "all_slaves_active", "arp_all_targets", "min_links", "num_grat_arp", "num_unsol_na",
           "packets_per_slave", "tlb_dynamic_lb", "lp_interval", "peer_notif_delay", "arp_missed_max")


def says(manager, name):
    """Whether ``manager``'s rendered files can set the option ``name``. ifcfg's BONDING_OPTS and wicked's
    BONDING_MODULE_OPTS pass every kernel option to the driver."""
    if manager == "ifupdown":
        return name in IFUPDOWN_SAYS
    if manager == "netplan":
        return name in NETPLAN
    if manager == "systemd-networkd":
        return name in NETWORKD or name in NETWORKD_MEMBER.values()
    if manager == "NetworkManager":
        return name in NM_SAYS
    return True


def carried(manager, options):
    """The options of ``options`` the manager's files can say."""
    return {k: v for k, v in options.items() if says(manager, k)}


def monitored(options):
    """Whether a bond with ``options`` watches its links (MII or ARP monitor): without, it never fails over."""
    return any(options.get(k, "0") not in ("0", "") for k in ("miimon", "arp_interval"))
