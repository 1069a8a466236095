"""The proof matrix (issue 13): source release x target virtual hardware x first boot.

A cell takes one debootstrapped source server (tests/support/fixture.py: nginx serving its own
page, a user with ids of its own, ifupdown with a static eth0) through
scan -> plan -> build -> verify -> compare -> boot -> checks inside the guest, on the virtual
hardware of its target and against that cloud's emulated metadata (tests/support/metadata.py).
Used by bench/matrix (the whole table, tox -e matrix) and by the functional tests (CI subset).
"""
import fcntl
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import fixture as fx
from . import metadata as md
from . import vm as vmlib
from .dibhost import cli, env

EXT = {"openstack": "qcow2", "ec2": "raw", "azure": "vhd", "kvm": "qcow2"}
LOCK = os.environ.get("DIB_MIGRATE_BUILD_LOCK", "/tmp/dib-build.lock")
BOOT_TIMEOUT = int(os.environ.get("DIB_MIGRATE_BOOT_TIMEOUT", "600"))
# sources that came from a cloud image carry cloud-init; bookworm is the agentless Xen PV fixture
CLOUD_INIT_SOURCES = ("bullseye", "trixie")


@dataclass(frozen=True)
class Cell:
    release: str
    target: str
    firmware: str = "bios"
    strategy: str = "packages"
    metadata: str = ""          # metadata.SERVICES key; "" for none

    @property
    def name(self):
        rootfs = ["rootfs"] if self.strategy == "rootfs" else []
        return "-".join([self.release, self.target, self.firmware] + rootfs)

    @property
    def disk_bus(self):
        return {"ec2": "nvme", "azure": "ide"}.get(self.target, "virtio")

    @property
    def nic_model(self):
        # never the source's (Xen netfront); ENA and Hyper-V's netvsc have no qemu model
        return {"ec2": "e1000", "azure": "e1000"}.get(self.target, "virtio-net-pci")

    @property
    def hardware(self):
        return "%s, %s disk, %s" % (self.firmware.upper(), self.disk_bus, self.nic_model)


def _cells():
    out = []
    for release in ("bullseye", "bookworm", "trixie"):
        out.append(Cell(release, "openstack", metadata="configdrive" if release == "bookworm"
                        else "openstack-metadata"))
        out.append(Cell(release, "ec2", metadata="ec2-imdsv2"))
        out.append(Cell(release, "azure", metadata="azure-ovf+imds"))
    out.append(Cell("bookworm", "kvm", firmware="uefi"))
    out.append(Cell("bookworm", "kvm", strategy="rootfs"))
    # the CI cell: a second release, the rootfs strategy and UEFI in one build
    out.append(Cell("trixie", "kvm", firmware="uefi", strategy="rootfs"))
    return out


CELLS = _cells()


def select(patterns):
    """Cells whose name matches one of the glob ``patterns``, in the patterns' order (all when none)."""
    if not patterns:
        return list(CELLS)
    chosen = []
    for p in patterns:
        chosen += [c for c in CELLS if fnmatch.fnmatch(c.name, p) and c not in chosen]
    if not chosen:
        raise SystemExit("no cell matches %s (cells: %s)" % (" ".join(patterns), " ".join(c.name for c in CELLS)))
    return chosen


@dataclass
class Result:
    cell: str
    hardware: str
    build_s: float = None
    image_mib: float = None
    verify: str = ""
    compare: str = ""
    boot_s: float = None
    app: str = ""
    metadata: str = ""
    identity: str = ""
    root_device: str = ""
    error: str = ""
    notes: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)       # what the guest said about itself

    @property
    def passed(self):
        return (not self.error and self.verify.startswith("PASS") and self.app.startswith("ok")
                and self.identity.startswith("ok") and not self.metadata.startswith("FAIL"))


# --------------------------------------------------------------------------------- sources
class Workdir:
    def __init__(self, path, reuse=False):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.reuse = reuse
        self.key, self.pub = fx.ssh_keypair(self.path)

    def source(self, cell):
        """The fixture root of the cell's release and firmware (made once per work directory)."""
        root = self.path / "sources" / ("%s-%s" % (cell.release, cell.firmware)) / "root"
        if (root / "srv/www/index.html").exists():
            return fx.load_fixture(root)
        if root.exists():
            shutil.rmtree(root)
        # python3-cffi-backend named: debootstrap cannot pick the provider of its virtual package
        extra = ("cloud-init", "python3-cffi-backend") if cell.release in CLOUD_INIT_SOURCES else ()
        return fx.make_fixture(root, self.pub, suite=cell.release, extra_packages=extra,
                               firmware=cell.firmware)

    def report(self, cell, source):
        full = cell.strategy == "rootfs"
        out = self.path / "scans" / ("%s-%s%s" % (cell.release, cell.firmware, "-full" if full else ""))
        if not (out / "report.yaml").exists():
            shutil.rmtree(out, ignore_errors=True)
            cli("scan", "--root", source.root, "-o", out, "-q", *(["--full"] if full else []))
        return out / "report.yaml"


def _mib(path):
    return round(os.stat(path).st_blocks * 512 / (1 << 20), 1)


def build(work, cell, report):
    """Build the cell's image (one disk-image-create at a time on this host); (image, plan, seconds)."""
    out = work.path / "out" / cell.name
    stem = "%s-%s" % (fx.HOSTNAME, cell.target)
    image, plan = out / ("%s.%s" % (stem, EXT[cell.target])), out / (stem + ".plan.json")
    if work.reuse and image.exists() and plan.exists():
        return image, plan, json.loads((out / "build-seconds").read_text())
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "dib_migrate", "build", str(report), "--target", cell.target,
            "-o", str(out), "--no-compress"]
    if cell.strategy != "packages":
        argv += ["--strategy", cell.strategy]
    with open(LOCK, "a") as lock:
        # the same flock(2) lock as `flock /tmp/dib-build.lock`; the clock starts once it is held,
        # so the seconds are the build's, not the wait for another helper's build
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=3600)
        seconds = round(time.monotonic() - start, 1)
    if r.returncode != 0:
        raise CellError("build", "exit %d: %s" % (r.returncode, _tail(r.stderr)))
    (out / "build-seconds").write_text(json.dumps(seconds))
    return image, plan, seconds


def _tail(text, n=6):
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-n:])


class CellError(Exception):
    def __init__(self, stage, detail):
        super().__init__("%s: %s" % (stage, detail))
        self.stage = stage


def verify(image, plan):
    r = cli("verify", image, "--plan", plan, check=False, timeout=900)
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith(("PASS", "FAIL"))]
    failed = [ln for ln in rows if ln.startswith("FAIL")]
    if r.returncode == 0 and not failed:
        return "PASS %d/%d" % (len(rows), len(rows))
    return "FAIL %d/%d: %s" % (len(failed), len(rows), "; ".join(failed)[:300] or _tail(r.stderr))


def compare(report, image, plan):
    """`dib-migrate compare` of the source's scan and the image: "N unexplained" (each listed in the notes)."""
    r = cli("compare", report, image, "--plan", plan, "--format", "json", check=False, timeout=900)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        return "error exit %d: %s" % (r.returncode, _tail(r.stderr, 2)), []
    bad = [d for d in doc.get("differences", []) if not d.get("explained")]
    return "%d unexplained" % doc["unexplained"], bad


# --------------------------------------------------------------------------------- boot
GUEST_FACTS = r"""
echo "hostname=$(hostname)"
echo "machine_id=$(cat /etc/machine-id)"
echo "root=$(findmnt -no SOURCE /)"
echo "firmware=$(test -d /sys/firmware/efi && echo uefi || echo bios)"
echo "cmdline=$(cat /proc/cmdline)"
echo "id=$(id -u):$(id -g)"
echo "nginx=$(systemctl is-active nginx)"
echo "eth0=$(ip -4 -o addr show dev eth0 | awk '{print $4}')"
echo "cloud_init=$(command -v cloud-init >/dev/null && echo yes || echo no)"
echo "ci_status=$(timeout 300 cloud-init status --wait 2>/dev/null | tr '\n' ' ')"
echo "ci_ds=$(python3 -c 'import json; print(json.load(open("/run/cloud-init/result.json"))["v1"]["datasource"])' \
    2>/dev/null)"
echo "waagent=$(systemctl is-active walinuxagent 2>/dev/null || systemctl is-active waagent 2>/dev/null)"
echo "failed_units=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
echo "routes=$(ip -4 route | tr '\n' ';')"
echo "azureuser=$(getent passwd azureuser >/dev/null && echo yes || echo no)"
echo "addrs=$(ip -4 -o addr show | awk '{print $2"="$4}' | tr '\n' ' ')"
echo "macs=$(for i in /sys/class/net/eth*; do printf '%s=%s ' "${i##*/}" "$(cat "$i/address")"; done)"
echo "ifstate=$(cat /run/network/ifstate.* 2>/dev/null | tr '\n' ' ')"
echo "networking=$(systemctl show networking -p Result -p ExecMainStatus 2>/dev/null | tr '\n' ' ')"
"""


def _facts(text):
    return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)


EXPECTED_DS = {"openstack-metadata": "OpenStack", "configdrive": "ConfigDrive", "ec2-imdsv2": "Ec2",
               "azure-ovf+imds": "Azure"}
ROOT_PREFIX = {"virtio": "/dev/vda", "nvme": "/dev/nvme0n1", "ide": "/dev/sda"}


def boot(work, cell, source, image, result):
    service_cls = md.SERVICES.get(cell.metadata)
    vmdir = work.path / "vm" / cell.name
    shutil.rmtree(vmdir, ignore_errors=True)
    vmdir.mkdir(parents=True)
    mac = "52:54:00:4d:49:47"
    service = service_cls(fx.HOSTNAME + "-cloud", work.pub, mac) if service_cls else None
    with (service or _Null()):
        extra = service.qemu_args(vmdir, cell.nic_model) if service else []
        vm = vmlib.VM(image, vmdir, user=source.user, key=work.key, nic_model=cell.nic_model, mac=mac,
                      disk_bus=cell.disk_bus, firmware=cell.firmware, extra_args=extra, accel="tcg")
        with vm:
            try:
                result.boot_s = round(vm.wait_ssh(timeout=BOOT_TIMEOUT), 1)
            except vmlib.BootError as e:
                raise CellError("boot", str(e)[-1500:])
            _check_app(vm, source, result)
            facts = _facts(vm.ssh(GUEST_FACTS, check=False, timeout=400).stdout)
            (vmdir / "facts.json").write_text(json.dumps(facts, indent=2))
            result.facts = facts
            result.root_device = facts.get("root", "?")
            keyscan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(vm.ports[22]), "127.0.0.1"],
                                     capture_output=True, text=True, timeout=60).stdout
            _check_identity(cell, source, facts, keyscan, result)
            _check_metadata(cell, facts, service, result)
            if not facts.get("root", "").startswith(ROOT_PREFIX[cell.disk_bus]):
                result.notes.append("root on %s, expected %s*" % (facts.get("root"), ROOT_PREFIX[cell.disk_bus]))
            if facts.get("firmware") != cell.firmware:
                result.notes.append("booted %s, expected %s" % (facts.get("firmware"), cell.firmware))
            failed = facts.get("failed_units", "").split()
            if failed:
                note = "failed units: " + " ".join(failed)
                if "networking.service" in failed and "default via 169.254." in facts.get("routes", ""):
                    note += (" (emulation artefact: eth1, the source's DHCP NIC, sits on the metadata network; "
                             "its lease's router took the default route before eth0's static gateway line)")
                result.notes.append(note)
            (vmdir / "requests.json").write_text(json.dumps(service.requests if service else [], indent=1))


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        pass


def _check_app(vm, source, result):
    last = None
    for _ in range(30):
        try:
            status, body = vm.http_get("/")
            result.app = "ok (page identical)" if status == 200 and body == source.page else \
                "FAIL (HTTP %s, %d bytes, not the source's page)" % (status, len(body))
            return
        except OSError as e:
            last = e
            time.sleep(2)
    result.app = "FAIL (%s)" % last


def _check_identity(cell, source, facts, keyscan, result):
    """identity keep (the Plan's default): the source's hostname, SSH host key, machine-id, user ids."""
    bad = []
    if facts.get("hostname") != fx.HOSTNAME:
        bad.append("hostname %s" % facts.get("hostname"))
    if source.host_key_pub.split()[1] not in keyscan:
        bad.append("host key replaced")
    if facts.get("machine_id") != source.machine_id:
        bad.append("machine-id changed")
    if facts.get("id") != "%d:%d" % (source.uid, source.gid):
        bad.append("user ids %s" % facts.get("id"))
    result.identity = "ok (hostname, host key, machine-id, uid/gid kept)" if not bad else "FAIL: " + ", ".join(bad)


def _check_metadata(cell, facts, service, result):
    if service is None:
        result.metadata = "no metadata service (kvm)"
        if facts.get("cloud_init") == "yes":
            result.metadata += "; the carried cloud-init: %s" % (facts.get("ci_status", "").strip() or "?")
        return
    reads = len(service.served()) if service.name != "configdrive" else 0
    ds = facts.get("ci_ds", "")
    if facts.get("cloud_init") == "yes":
        want = EXPECTED_DS[service.name]
        got = "DataSource%s" % want
        status = facts.get("ci_status", "").strip()
        verdict = "ok" if ds.startswith(got) and "done" in status else "FAIL"
        result.metadata = "%s: cloud-init %s, datasource %s, %d endpoint reads" % (
            verdict, status or "?", ds or "none", reads)
    else:
        agent = facts.get("waagent") or "absent"
        result.metadata = "no cloud-init in the image; waagent %s; %d endpoint reads" % (agent, reads)
        if service.name.startswith("azure") and agent == "inactive":
            result.metadata += " (the agent's unit has ConditionVirtualization=microsoft: not under qemu)"
        if facts.get("azureuser") == "yes":
            result.metadata += "; azureuser provisioned"


# --------------------------------------------------------------------------------- a cell
def run_cell(work, cell, log=print):
    result = Result(cell=cell.name, hardware=cell.hardware)
    stage = "source"
    try:
        t = time.monotonic()
        source = work.source(cell)
        stage = "scan"
        report = work.report(cell, source)
        log("%s: source and scan ready (%.0fs)" % (cell.name, time.monotonic() - t))
        stage = "build"
        image, plan, result.build_s = build(work, cell, report)
        result.image_mib = _mib(image)
        log("%s: built in %.0fs, %s MiB" % (cell.name, result.build_s, result.image_mib))
        stage = "verify"
        result.verify = verify(image, plan)
        result.compare, unexplained = compare(report, image, plan)
        for d in unexplained:
            result.notes.append("compare: unexplained %s" % json.dumps(d, sort_keys=True)[:300])
        log("%s: verify %s; compare %s" % (cell.name, result.verify[:60], result.compare))
        stage = "boot"
        boot(work, cell, source, image, result)
        log("%s: SSH after %ss; app %s; identity %s; metadata %s" % (
            cell.name, result.boot_s, result.app, result.identity, result.metadata))
    except CellError as e:
        result.error = str(e)
    except Exception as e:      # a cell's failure is a row of the table, not the end of the run
        result.error = "%s: %s: %s" % (stage, type(e).__name__, str(e)[-1500:])
    if result.error:
        log("%s: ERROR %s" % (cell.name, result.error[:2000]))
    return result


def recheck(work, result):
    """verify and compare a cell's built image again (the code changed since its run); the boot stands."""
    cell = [c for c in CELLS if c.name == result.cell][0]
    out = work.path / "out" / cell.name
    stem = "%s-%s" % (fx.HOSTNAME, cell.target)
    image, plan = out / ("%s.%s" % (stem, EXT[cell.target])), out / (stem + ".plan.json")
    if not image.exists():
        return result
    full = "-full" if cell.strategy == "rootfs" else ""
    scan = work.path / "scans" / ("%s-%s%s" % (cell.release, cell.firmware, full))
    result.notes = [n for n in result.notes if not n.startswith(("compare: unexplained", "verify and compare re-run"))]
    result.verify = verify(image, plan)
    result.compare, unexplained = compare(scan / "report.yaml", image, plan)
    for d in unexplained:
        result.notes.append("compare: unexplained %s" % json.dumps(d, sort_keys=True)[:300])
    result.notes.append("verify and compare re-run on the same image after the run (bench/matrix --recheck)")
    return result


# --------------------------------------------------------------------------------- table
COLUMNS = ("cell", "virtual hardware", "build s", "image MiB", "verify", "compare", "boot→SSH s", "root",
           "app", "metadata", "identity")


def _fmt(v):
    return "–" if v in (None, "") else str(v)


def _annotated(note, facts):
    if note.startswith("failed units:") and "networking.service" in note and "(emulation" not in note \
            and "default via 169.254." in facts.get("routes", ""):
        note += (" (emulation artefact: eth1, the source's DHCP NIC, sits on the metadata network; its "
                 "lease's router took the default route before eth0's static gateway line)")
    return note


def table(results):
    rows = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        cells = [r.cell, r.hardware, _fmt(r.build_s), _fmt(r.image_mib), _fmt(r.verify.split(":")[0]),
                 _fmt(r.compare.split(" (")[0]), _fmt(r.boot_s), _fmt(r.root_device), _fmt(r.app), _fmt(r.metadata),
                 _fmt(r.identity)]
        rows.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = []
    for r in results:
        for n in ([("ERROR " + r.error)] if r.error else []) + [_annotated(n, r.facts) for n in r.notes] + (
                [r.verify] if r.verify.startswith("FAIL") else []):
            notes.append("- %s: %s" % (r.cell, n.replace("\n", " ")[:600]))
    return "\n".join(rows) + ("\n\n" + "\n".join(notes) if notes else "") + "\n"


def load(paths):
    """(results, runs) saved by save(): the last run of a cell winning, in the order of CELLS; runs are the
    (date, machine, command) of each file."""
    by_cell, runs = {}, []
    for path in paths:
        doc = json.loads(Path(path).read_text())
        if isinstance(doc, list):
            doc = {"results": doc}
        runs.append((doc.get("date", "?"), doc.get("machine", "?"), doc.get("command", "?")))
        for d in doc["results"]:
            by_cell[d["cell"]] = Result(**d)
    order = {c.name: i for i, c in enumerate(CELLS)}
    return sorted(by_cell.values(), key=lambda r: order.get(r.cell, len(order))), runs


def save(results, path, run):
    """Write ``results`` and their run (date, machine, command) to ``path`` (temporary file, then renamed)."""
    date, machine, command = run
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps({"date": date, "machine": machine, "command": command,
                               "results": [asdict(r) for r in results]}, indent=2))
    os.replace(tmp, path)


GENERATED = re.compile(r"(<!-- matrix: generated by bench/matrix -->\n)(.*?)(<!-- /matrix -->)", re.S)


def write_markdown(path, text):
    """Put ``text`` between the generated-table markers of ``path`` (the hand-written rest stays), or write
    the whole file when it has none."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    if GENERATED.search(old):
        new = GENERATED.sub(lambda m: m.group(1) + text + m.group(3), old, count=1)
    else:
        new = "<!-- matrix: generated by bench/matrix -->\n%s<!-- /matrix -->\n" % text
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(new)
    os.replace(tmp, path)
