"""The dpkg database: status records and installed packages."""
from ..command import run


def parse_dpkg_status(text):
    """Records of /var/lib/dpkg/status as dicts; 'Conffiles' becomes a list of (path, md5)."""
    records, rec, key = [], {}, None
    for line in (text or "").split("\n"):
        if not line.strip():
            if rec:
                records.append(rec)
            rec, key = {}, None
            continue
        if line[0] in " \t":
            if key == "Conffiles":
                rec.setdefault("Conffiles", []).append(_conffile_line(line))
            elif key:
                rec[key] += "\n" + line
            continue
        key, _, value = line.partition(":")
        rec[key] = value.strip()
        if key == "Conffiles":
            rec["Conffiles"] = []
    if rec:
        records.append(rec)
    for rec in records:
        rec["Conffiles"] = [c for c in rec.get("Conffiles", []) if c]
    return records


def _conffile_line(line):
    words = line.strip().split(" ")
    while len(words) > 2 and words[-1] in ("obsolete", "remove-on-upgrade"):
        words.pop()
    if len(words) < 2:
        return None
    return (" ".join(words[:-1]), words[-1])


def dpkg_installed(record):
    return record.get("Status", "").split(" ")[-1:] in (["installed"],)


def parse_dpkg_query(text):
    """``${Package}\\t${Version}\\t${Architecture}\\t${Status}`` lines -> installed packages."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or fields[3].split(" ")[-1] != "installed":
            continue
        out.append({"name": fields[0], "version": fields[1], "arch": fields[2]})
    return out


def dpkg_packages(root, status_records):
    admindir = root.real("/var/lib/dpkg")
    text = run(["dpkg-query", "--admindir", admindir, "-W",
                "-f", "${Package}\\t${Version}\\t${Architecture}\\t${Status}\\n"])
    if text is not None:
        return parse_dpkg_query(text)
    # no dpkg-query on this host (an rpm machine scanning a Debian disk): read the database itself
    return [{"name": r.get("Package", ""), "version": r.get("Version", ""), "arch": r.get("Architecture", "")}
            for r in status_records if dpkg_installed(r)]
