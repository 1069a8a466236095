"""`scan --ssh` against a real sshd: a debootstrapped server in a chroot, listening on loopback."""
import os
import subprocess
import time

import pytest

from dib_migrate.fleet.ssh import SshScanError, scan_ssh
from dib_migrate.report import load_report
from tests.support.dibhost import cli
from tests.support.fixture import ssh_keypair
from tests.support.rootfs import have_debootstrap
from tests.support.sshhost import SshHost

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return ssh_keypair(tmp_path_factory.mktemp("key"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, key):
    with SshHost(tmp_path_factory.mktemp("srv"), "app01", key[1], "10.0.2.21/24", key[0]) as h:
        yield h


def _leftovers(server):
    return sorted(p.name for p in (server.root / "tmp").glob("dib-migrate-scan.*"))


def test_scan_as_root_through_the_cli(server, tmp_path):
    args = ["scan", "--ssh", server.dest(), "-o", tmp_path / "out"]
    for o in server.ssh_options:
        args += ["--ssh-option", o]
    r = cli(*args)
    assert "copying the scanner" in r.stderr and "fetching report and overlay" in r.stderr
    report = load_report(tmp_path / "out/report.yaml")      # schema, overlay sha256 and members checked
    assert report.hostname == "app01"
    assert report.has_package("openssh-server") and report.has_package("python3")
    assert [i.addresses for i in report.interfaces if i.name == "eth0"] == [("10.0.2.21/24",)]
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [".dib-migrate.json", "manifest.json.gz", "overlay.tar.gz", "report.yaml"]
    assert _leftovers(server) == []


def test_scan_with_sudo_as_a_user(server, tmp_path):
    lines = []

    class Stream:
        def write(self, s):
            lines.append(s)

        def flush(self):
            pass

    report = scan_ssh(server.dest("migrate"), tmp_path, server.ssh_options, stream=Stream())
    assert any("with sudo" in line for line in lines)
    # the overlay holds root-only files: only a root scanner could read them
    assert load_report(report).overlay.files > 0
    assert os.stat(report).st_uid == os.getuid()
    assert _leftovers(server) == []


def test_unknown_host_key_is_refused(server, tmp_path):
    other = tmp_path / "known_hosts"
    other.write_text("")
    opts = [o for o in server.ssh_options if not o.startswith("UserKnownHostsFile=")]
    with pytest.raises(SshScanError) as e:
        scan_ssh(server.dest(), tmp_path / "out", opts + ["UserKnownHostsFile=%s" % other],
                 stream=open(os.devnull, "w"))
    assert e.value.step == "connect" and "Host key verification failed" in str(e.value)
    assert e.value.dest == server.dest()
    assert not (tmp_path / "out/report.yaml").exists()


def test_broken_server_fails_at_the_named_step(tmp_path, key):
    with SshHost(tmp_path / "srv", "broken01", key[1], "10.0.2.22/24", key[0], broken=True) as h:
        r = subprocess.run(["dib-migrate", "scan", "--ssh", h.dest(), "-o", str(tmp_path / "out")]
                           + [a for o in h.ssh_options for a in ("--ssh-option", o)],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PATH=os.path.dirname(os.sys.executable) + ":" + os.environ["PATH"]))
    assert r.returncode == 1
    assert "root@127.0.0.1:%d: connect failed: exit 127" % h.port in r.stderr
    assert "python3" in r.stderr
    assert not (tmp_path / "out/report.yaml").exists()


def _members(report):
    import tarfile
    with tarfile.open(report.overlay.path) as tar:
        return {m.name.lstrip("./").lstrip("/") for m in tar}


def test_delta_scan_over_ssh(server, tmp_path):
    """`scan --ssh --since`: the previous scan travels to the server, the remote scanner diffs against it
    (on the server's clock), the delta comes back naming the operator's previous report; --quiesce reaches
    the remote scanner too."""
    import yaml
    app = server.root / "srv/app"
    app.mkdir(parents=True, exist_ok=True)
    for name in ("keep.txt", "old.txt", "edit.txt"):
        (app / name).write_text("before\n")
    time.sleep(2.5)     # older than the delta's margin (delta.MARGIN_NS) before the first scan starts
    opts = [a for o in server.ssh_options for a in ("--ssh-option", o)]
    cli("scan", "--ssh", server.dest("migrate"), "-o", tmp_path / "scan1", *opts)
    first = load_report(tmp_path / "scan1/report.yaml")
    assert {"srv/app/keep.txt", "srv/app/old.txt", "srv/app/edit.txt"} <= _members(first)
    # a delta into the previous scan's own directory would replace the base of the image
    r = cli("scan", "--ssh", server.dest(), "-o", tmp_path / "scan1", "--since", tmp_path / "scan1/report.yaml",
            *opts, check=False)
    assert r.returncode == 2 and "is the --since scan's directory" in r.stderr
    (app / "old.txt").unlink()
    (app / "edit.txt").write_text("after\n")
    (app / "new.txt").write_text("new\n")
    r = cli("scan", "--ssh", server.dest("migrate"), "-o", tmp_path / "scan2", "--since",
            tmp_path / "scan1/report.yaml", "--quiesce", "postgresql", *opts)
    assert "copying the previous scan" in r.stderr
    delta = load_report(tmp_path / "scan2/report.yaml")
    assert delta.delta is not None and delta.overlay.mode == "delta"
    assert "/srv/app/old.txt" in delta.delta.deleted
    got = _members(delta)
    assert {"srv/app/edit.txt", "srv/app/new.txt"} <= got and "srv/app/keep.txt" not in got
    assert len(got) < len(_members(first)) / 4
    raw = yaml.safe_load((tmp_path / "scan2/report.yaml").read_text())
    assert raw["delta"]["since"]["report"] == str(tmp_path / "scan1/report.yaml")
    assert raw["delta"]["since"]["scanned_at"] == raw_scanned_at(tmp_path / "scan1/report.yaml")
    # the service is not installed on this server: the scanner records it as at rest
    assert raw["quiesce"]["services"] == [{"service": "postgresql", "was_running": False, "downtime_s": 0.0}]
    assert (tmp_path / "scan2/manifest.json.gz").is_file()      # the next delta starts from this one
    assert _leftovers(server) == []


def raw_scanned_at(path):
    import yaml
    return yaml.safe_load(path.read_text())["scanned_at"]
