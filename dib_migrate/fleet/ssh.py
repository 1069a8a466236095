"""`dib-migrate scan --ssh [USER@]HOST[:PORT]`: scan a server over OpenSSH, installing nothing on it.

Steps, each named in a failure: connect (user id, python3 version, a private temporary directory),
copy the single-file scanner (through ssh's stdin), with ``--since`` copy the previous scan (its
report and manifest: the remote scanner diffs against them, on the server's own clock), run it
with the server's python3 (sudo -n when the user is not root), fetch report and overlay (a tar
stream read with checks: only the expected regular files), remove everything copied (always,
even after a failure).

Host keys are checked against the operator's known_hosts (ssh's own StrictHostKeyChecking; never
turned off here) and the login is non-interactive (BatchMode). Nothing the server sends is
spliced into a command: the only remote values used are the temporary directory, checked
against its exact pattern, and numbers.
"""
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ..errors import InputError
from ..scan.outdir import MARK, OUTPUTS

DEST = re.compile(r"^(?:(?P<user>[a-z_][a-z0-9_.-]{0,31})@)?"
                  r"(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")
SSH_OPTION = re.compile(r"^[A-Za-z][A-Za-z0-9]*=[^\n\r]*$")
REMOTE_DIR = re.compile(r"^/tmp/dib-migrate-scan\.[A-Za-z0-9]{6,16}$")
MIN_PYTHON = (3, 6)
SCANNER_NAME = "dib-migrate-scan.pyz"


class SshScanError(Exception):
    """A step of an SSH scan failed (exit 1); the message names the host and the step."""

    def __init__(self, dest, step, detail):
        self.dest, self.step, self.detail = dest, step, detail
        super().__init__("%s: %s failed: %s" % (dest, step, detail))


def parse_destination(text, source="--ssh"):
    m = DEST.match(text or "")
    if not m or (m.group("port") and not 0 < int(m.group("port")) < 65536):
        raise InputError(source, "ssh", text, "not [USER@]HOST[:PORT]")
    return m.group("user"), m.group("host").strip("[]"), int(m.group("port")) if m.group("port") else None


def scanner_file(workdir):
    """The single file to copy: the scanner packed as a zipapp (dib_migrate.scan.build_artifact)."""
    from ..scan import build_artifact
    return Path(build_artifact(Path(workdir) / SCANNER_NAME))


class Remote:
    def __init__(self, dest, ssh_options=(), timeout=3600):
        self.dest = dest
        user, host, port = parse_destination(dest)
        for o in ssh_options:
            if not SSH_OPTION.match(o):
                raise InputError("--ssh-option", "ssh_options", o, "not an OpenSSH Option=value")
        self.argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=15"]
        for o in ssh_options:
            self.argv += ["-o", o]
        if port:
            self.argv += ["-p", str(port)]
        self.argv += ["--", (user + "@" if user else "") + host]
        self.timeout = timeout
        self.sudo = ""

    def run(self, step, command, stdin=None, stdout=subprocess.PIPE, timeout=None):
        """Run a fixed shell text remotely; raise SshScanError naming the step on failure."""
        try:
            r = subprocess.run(self.argv + [command], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                               timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise SshScanError(self.dest, step, "timed out after %ds" % (timeout or self.timeout))
        if r.returncode != 0:
            err = r.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = "exit %d%s" % (r.returncode, (": " + " / ".join(err[-4:])) if err else "")
            if r.returncode == 255:
                detail = "ssh " + detail
            raise SshScanError(self.dest, step, detail)
        return r.stdout.decode("utf-8", "replace") if isinstance(r.stdout, bytes) else r.stdout


def _safe_extract(stream_path, dest, remote):
    """Extract the fetched tar: only report.yaml and overlay.tar* as regular files."""
    names = []
    try:
        with tarfile.open(stream_path, "r:") as tar:
            for m in tar:
                name = m.name[2:] if m.name.startswith("./") else m.name
                if name in ("", ".", MARK):     # the remote scan's own marker: this side writes its own
                    continue
                # only what a scan writes (the scanner's own list), as plain files
                if name not in OUTPUTS or not m.isfile():
                    raise SshScanError(remote.dest, "fetch", "unexpected member %r in the scan output" % m.name)
                with tar.extractfile(m) as src, open(dest / name, "wb") as out:
                    shutil.copyfileobj(src, out)
                names.append(name)
    except tarfile.TarError as e:
        raise SshScanError(remote.dest, "fetch", "not a tar stream: %s" % e)
    if "report.yaml" not in names:
        raise SshScanError(remote.dest, "fetch", "the scanner wrote no report.yaml")
    return names


def _check_since(since, outdir, scan_args):
    """The previous scan of a delta (``--since``), checked here before anything is copied or written."""
    from ..scan.delta import MANIFEST, DeltaRefused, load_previous
    since = Path(since).resolve()
    try:
        load_previous(str(since))
    except DeltaRefused as e:
        raise InputError("--since", "since", str(since), str(e))
    if "--full" in scan_args:
        raise InputError("--since", "since", str(since), "a delta scan takes changed files only; not with --full")
    if Path(outdir).resolve() == since.parent:
        raise InputError("-o", "output", str(outdir), "is the --since scan's directory: a delta scan goes into a "
                         "new one (the previous scan stays the base of the image)")
    return since, since.parent / MANIFEST


def _local_since(report, remote_path, local_path):
    """The fetched delta report names the previous scan by the copy on the server (gone now): name
    the operator's file instead."""
    from ..scan.yamlwrite import yaml_scalar
    text = report.read_text()
    line = re.compile(r"^(\s+report: )%s$" % re.escape(yaml_scalar(remote_path)), re.M)
    new, n = line.subn(lambda m: m.group(1) + yaml_scalar(str(local_path)), text, count=1)
    if n:
        report.write_text(new)


def scan_ssh(dest, outdir, ssh_options=(), scan_args=(), stream=sys.stderr, timeout=3600, since=None):
    """Scan ``dest`` over SSH into ``outdir`` (report.yaml + overlay), written by rename; returns the report path.

    ``since``: a previous scan's report.yaml (its manifest beside it) for a delta scan."""
    from ..scan.errors import ScanRefused
    from ..scan.outdir import prepare_outdir
    remote = Remote(dest, ssh_options, timeout)
    if since is not None:
        since, manifest = _check_since(since, outdir, scan_args)
    try:
        # the scanner's own rule: a new or empty directory, or one an earlier scan marked
        outdir = Path(prepare_outdir(str(Path(outdir).resolve())))
    except ScanRefused as e:
        raise InputError("-o", "output", str(outdir), str(e))

    def say(msg):
        stream.write("scan %s: %s\n" % (dest, msg))
        stream.flush()

    say("connecting")
    info = remote.run("connect", "id -u && python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])' "
                      "&& mktemp -d /tmp/dib-migrate-scan.XXXXXXXX", timeout=60).split()
    if len(info) != 3 or not info[0].isdigit() or not REMOTE_DIR.match(info[2]):
        raise SshScanError(dest, "connect", "unexpected answer %r" % " ".join(info)[:200])
    uid, pyver, rdir = int(info[0]), info[1], info[2]
    try:
        if tuple(int(x) for x in pyver.split(".")) < MIN_PYTHON:
            raise SshScanError(dest, "connect", "the server's python3 is %s; the scanner needs 3.6 or later" % pyver)
        sudo = "" if uid == 0 else "sudo -n "
        with tempfile.TemporaryDirectory(prefix=".scan-", dir=str(outdir)) as tmp:
            tmp = Path(tmp)
            say("copying the scanner to %s" % rdir)
            with open(scanner_file(tmp), "rb") as f:
                remote.run("copy scanner", "cat > %s/%s" % (rdir, SCANNER_NAME), stdin=f, timeout=120)
            scan_args = list(scan_args)
            if since is not None:
                say("copying the previous scan (%s)" % since)
                with open(since, "rb") as f:
                    remote.run("copy previous scan", "mkdir %s/since && cat > %s/since/report.yaml" % (rdir, rdir),
                               stdin=f, timeout=120)
                with open(manifest, "rb") as f:
                    remote.run("copy previous scan", "cat > %s/since/%s" % (rdir, manifest.name), stdin=f, timeout=300)
                scan_args += ["--since", "%s/since/report.yaml" % rdir]
            say("running the scanner%s (python %s)" % (" with sudo" if sudo else "", pyver))
            args = " ".join(_quote_arg(a) for a in scan_args)
            remote.run("run scanner", "%spython3 %s/%s -q -o %s/out %s" % (sudo, rdir, SCANNER_NAME, rdir, args))
            say("fetching report and overlay")
            stream_path = tmp / "out.tar"
            with open(stream_path, "wb") as f:
                remote.run("fetch", "%star -C %s/out -cf - ." % (sudo, rdir), stdout=f)
            got = tmp / "got"
            got.mkdir()
            names = _safe_extract(stream_path, got, remote)
            if since is not None:
                _local_since(got / "report.yaml", "%s/since/report.yaml" % rdir, since)
            # overlay first, report last: a report in OUTDIR always has its overlay beside it
            for name in sorted(names, key=lambda n: n == "report.yaml"):
                os.replace(got / name, outdir / name)
            for stale in OUTPUTS:       # an earlier scan's overlay or manifest must not pass for this one's
                if stale not in names and stale != MARK and (outdir / stale).exists():
                    (outdir / stale).unlink()
    finally:
        try:
            remote.run("clean up", "%srm -rf %s" % ("" if uid == 0 else "sudo -n ", rdir), timeout=60)
        except SshScanError as e:
            say("warning: %s" % e)
    say("report written to %s" % (outdir / "report.yaml"))
    return outdir / "report.yaml"


def _quote_arg(a):
    # scanner options come from the operator (inventory, command line), but still go through the
    # remote shell: quote them
    import shlex
    return shlex.quote(a)


def main(argv):
    """`dib-migrate scan --ssh DEST -o OUTDIR [scanner options]`."""
    import argparse
    ap = argparse.ArgumentParser(prog="dib-migrate scan --ssh",
                                 description="scan a server over SSH: copy the single-file scanner, run it with "
                                 "the server's python3, fetch report and overlay, remove what was copied")
    ap.add_argument("--ssh", required=True, metavar="[USER@]HOST[:PORT]")
    ap.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    ap.add_argument("--ssh-option", action="append", default=[], metavar="OPTION=VALUE",
                    help="an OpenSSH -o option (repeatable), e.g. IdentityFile=~/.ssh/migrate")
    ap.add_argument("--exclude", action="append", default=[], metavar="PATTERN")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--exclude-secrets", action="store_true")
    ap.add_argument("--quiesce", metavar="SERVICE[,SERVICE...]|auto",
                    help="stop these services on the server while their data is read, start them right after")
    ap.add_argument("--since", metavar="PREVIOUS_REPORT",
                    help="delta scan: only what changed since that scan of this server (a local report.yaml with "
                    "its manifest.json.gz; copied to the server for the scanner)")
    args = ap.parse_args(argv)
    parse_destination(args.ssh)
    try:
        scan_ssh(args.ssh, args.output, args.ssh_option,
                 scan_options(args.exclude, args.full, args.exclude_secrets, args.quiesce), since=args.since)
    except SshScanError as e:
        sys.stderr.write("dib-migrate scan: %s\n" % e)
        return 1
    return 0


def scan_options(exclude=(), full=False, exclude_secrets=False, quiesce=None):
    """The scanner's command-line options (checked here: the remote scanner would refuse them later)."""
    args = []
    if quiesce:
        from ..scan.names import valid
        for name in quiesce.split(","):
            if name.strip() and name.strip() != "auto" and not valid("service", name.strip()):
                raise InputError("--quiesce", "quiesce", name, "not a service name")
        args += ["--quiesce", quiesce]
    for p in exclude:
        args += ["--exclude", p]
    if full:
        args.append("--full")
    if exclude_secrets:
        args.append("--exclude-secrets")
    return args
