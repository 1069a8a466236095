"""Key/value file formats: shell variable files (os-release, ifcfg, sysconfig) and ini files."""


def parse_shell_vars(text):
    """KEY=value lines of os-release / ifcfg / sysconfig files (quotes removed, no expansion)."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[7:].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].strip()
        out[key] = value
    return out


def parse_ini(text):
    """[section] key=value triples in file order; repeated keys are kept (systemd, NM keyfiles)."""
    section, out = None, []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            out.append((section, key.strip(), value.strip()))
    return out
