"""Stateful services: database clusters and other running services writing under /var/lib.

A file-by-file copy of a running database is not a consistent copy: the Plan warns for
each data directory copied while its service ran, unless the scan quiesced it. Found from
files inside the root (configuration, data directories) plus, for "running", the host's
/proc: a process whose root is the scanned root (the live system, or a chroot running on
the scanning host) and whose working directory is the data directory. Standard library
only, Python 3.6 syntax.
"""
import os
import re
import stat

DATABASES = ("postgresql", "mysql", "mariadb")
# processes of each kind; their working directory is their data directory
_DB_COMMANDS = {"postgresql": ("postgres", "postmaster"), "mysql": ("mysqld",), "mariadb": ("mariadbd", "mysqld")}


class Processes(object):
    """The host's processes whose root directory is the scanned root, read once."""

    def __init__(self, root_path, proc="/proc"):
        self.proc = proc
        self.root = os.path.realpath(root_path)
        self.items = []        # (pid, comm, in-root cwd or None, unit or None)
        try:
            pids = [p for p in os.listdir(proc) if p.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            base = os.path.join(proc, pid)
            try:
                if os.path.realpath(os.readlink(os.path.join(base, "root"))) != self.root:
                    continue
                with open(os.path.join(base, "comm")) as f:
                    comm = f.read().strip()
            except (OSError, IOError):
                continue
            # the unit names the service on the live system only: a chroot's processes sit in
            # the cgroup of whatever started them on the host
            unit = self._unit(base) if self.root == "/" else None
            self.items.append((int(pid), comm, self._inner(self._link(base, "cwd")), unit))

    def _link(self, base, name):
        try:
            return os.readlink(os.path.join(base, name))
        except OSError:
            return None

    def _inner(self, host_path):
        if host_path is None or host_path.endswith(" (deleted)"):
            return None
        if self.root == "/":
            return host_path
        if host_path == self.root:
            return "/"
        if host_path.startswith(self.root + "/"):
            return host_path[len(self.root):]
        return None

    @staticmethod
    def _unit(base):
        try:
            with open(os.path.join(base, "cgroup")) as f:
                text = f.read()
        except (OSError, IOError):
            return None
        m = re.search(r"/([^/\n]+)\.service(?:/|$)", text, re.M)
        return m.group(1) if m else None

    def running_in(self, commands, directory):
        """PIDs of ``commands`` whose working directory is ``directory`` (in-root)."""
        return [pid for pid, comm, cwd, _u in self.items if comm in commands and cwd == directory]

    def writers_under(self, prefix):
        """{in-root directory right under ``prefix``: set of (unit or command)} for every
        file such a process holds open for writing there."""
        out = {}
        for pid, comm, _cwd, unit in self.items:
            fd_dir = os.path.join(self.proc, str(pid), "fd")
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            for fd in fds:
                target = self._inner(self._link(fd_dir, fd))
                if not target or not target.startswith(prefix):
                    continue
                if not _writable(os.path.join(self.proc, str(pid), "fdinfo", fd)):
                    continue
                top = prefix + target[len(prefix):].split("/")[0]
                out.setdefault(top, set()).add(unit or comm)
        return out


def _writable(fdinfo):
    try:
        with open(fdinfo) as f:
            for line in f:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & 0o3 in (1, 2)
    except (OSError, IOError, ValueError, IndexError):
        pass
    return False


def tree_bytes(root, inner):
    """Total size of the regular files under the in-root directory (no symlink followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root.real(inner)):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue          # vanished meanwhile: a live server
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def _conf_value(text, key):
    m = re.search(r"^\s*%s\s*=\s*'?([^'#\n]+?)'?\s*(?:#.*)?$" % key, text, re.M)
    return m.group(1).strip() if m else None


def postgresql_clusters(root):
    """[(service name, data dir, version)] of the PostgreSQL clusters in the root."""
    found = []
    # Debian/Ubuntu: /etc/postgresql/<version>/<cluster>/postgresql.conf names the data dir
    for version in sorted(root.listdir("/etc/postgresql")):
        for cluster in sorted(root.listdir("/etc/postgresql/" + version)):
            conf = root.read("/etc/postgresql/%s/%s/postgresql.conf" % (version, cluster)) or ""
            data = _conf_value(conf, "data_directory") or "/var/lib/postgresql/%s/%s" % (version, cluster)
            if root.exists(data + "/PG_VERSION"):
                found.append(("postgresql", data, version))
    # Red Hat, SUSE, from source: a PG_VERSION in the usual places
    for data in ("/var/lib/pgsql/data", "/var/lib/postgresql/data", "/var/lib/pgsql"):
        if root.exists(data + "/PG_VERSION") and all(d != data for _s, d, _v in found):
            found.append(("postgresql", data, (root.read(data + "/PG_VERSION") or "").strip() or None))
    for name in sorted(root.listdir("/var/lib/pgsql")):
        data = "/var/lib/pgsql/%s/data" % name
        if re.match(r"^[0-9.]+$", name) and root.exists(data + "/PG_VERSION"):
            found.append(("postgresql-%s" % name, data, name))
    return found


_MY_CNF = ("/etc/mysql/my.cnf", "/etc/my.cnf")
_MY_CNF_DIRS = ("/etc/mysql/conf.d", "/etc/mysql/mariadb.conf.d", "/etc/mysql/mysql.conf.d", "/etc/my.cnf.d")


def mysql_clusters(root, service_names):
    """[(service name, data dir, flavour)] of MariaDB/MySQL data directories in the root."""
    texts = [root.read(p) or "" for p in _MY_CNF]
    for d in _MY_CNF_DIRS:
        texts += [root.read(d + "/" + n) or "" for n in sorted(root.listdir(d)) if n.endswith(".cnf")]
    datadir = None
    for text in texts:
        datadir = _conf_value(text, "datadir") or datadir
    datadir = (datadir or "/var/lib/mysql").rstrip("/") or "/"
    if not (root.isdir(datadir + "/mysql") or root.exists(datadir + "/ibdata1")):
        return []
    flavour = "mariadb" if (root.exists("/usr/sbin/mariadbd") or "mariadb" in service_names) else "mysql"
    for name in ("mariadb", "mysql", "mysqld"):
        if name in service_names:
            return [(name, datadir, flavour)]
    return [(flavour, datadir, flavour)]


def detect(root, services, processes=None):
    """The report's ``stateful`` list: databases first, then other running services that
    hold files open for writing under /var/lib. ``services`` are the report's service names."""
    processes = processes if processes is not None else Processes(root.path)
    names = set(services)
    out = []
    for service, data, version in postgresql_clusters(root):
        service = _pick(service, names, "postgresql")
        running = bool(processes.running_in(_DB_COMMANDS["postgresql"], root.resolve(data)))
        out.append({"kind": "postgresql", "service": service, "data_dir": data, "version": version,
                    "running": running, "bytes": tree_bytes(root, data)})
    for service, data, flavour in mysql_clusters(root, names):
        running = bool(processes.running_in(_DB_COMMANDS[flavour] + ("mysqld",), root.resolve(data)))
        out.append({"kind": flavour, "service": service, "data_dir": data, "version": None,
                    "running": running, "bytes": tree_bytes(root, data)})
    known = [e["data_dir"] for e in out]
    for directory, writers in sorted(processes.writers_under("/var/lib/").items()):
        if any(directory == k or k.startswith(directory + "/") or directory.startswith(k + "/") for k in known):
            continue
        service = sorted(writers)[0]
        out.append({"kind": "other", "service": service, "data_dir": directory, "version": None,
                    "running": True, "bytes": tree_bytes(root, directory)})
    return out


def _pick(default, names, prefix):
    if default in names:
        return default
    candidates = sorted(n for n in names if n == prefix or n.startswith(prefix + "-") or n.startswith(prefix + "@"))
    return candidates[0] if candidates else default


def auto_services(entries):
    """The services ``--quiesce auto`` stops: the running databases."""
    seen = []
    for e in entries:
        if e["kind"] in DATABASES and e["running"] and e["service"] not in seen:
            seen.append(e["service"])
    return seen
