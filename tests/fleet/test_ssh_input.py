"""`scan --ssh` input checks that need no server: destinations, fetched members, the output directory."""
import pytest

from dib_migrate.errors import InputError
from tests.support.dibhost import cli


def test_destination_and_fetched_members_and_fetched_members(tmp_path):
    import io
    import tarfile
    from dib_migrate.fleet.ssh import Remote, SshScanError, _safe_extract, parse_destination
    assert parse_destination("admin@db-01.example.test:2222") == ("admin", "db-01.example.test", 2222)
    assert parse_destination("[fe80::1]") == (None, "fe80::1", None)
    for bad in ("a b", "-oProxyCommand=x", "h:99999", "root@h;id"):
        with pytest.raises(InputError):
            parse_destination(bad)
    remote = Remote("root@h")
    assert remote.argv[-2:] == ["--", "root@h"]      # the host can never be read as an option
    for member, kind in (("../etc/passwd", tarfile.REGTYPE), ("report.yaml", tarfile.SYMTYPE),
                         ("overlay.tar.gz.sh", tarfile.REGTYPE)):
        stream = tmp_path / "s.tar"
        with tarfile.open(stream, "w") as tar:
            info = tarfile.TarInfo(member)
            info.type = kind
            info.linkname = "/etc/shadow" if kind == tarfile.SYMTYPE else ""
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
        (tmp_path / "got").mkdir(exist_ok=True)
        with pytest.raises(SshScanError, match="unexpected member"):
            _safe_extract(stream, tmp_path / "got", remote)
        assert not list((tmp_path / "got").iterdir())


def test_operator_directory_refused_before_connecting(tmp_path):
    (tmp_path / "mine.txt").write_text("the operator's\n")
    # nothing listens on port 1: the refusal must come first, exit 2, the directory untouched
    r = cli("scan", "--ssh", "root@127.0.0.1:1", "-o", tmp_path, check=False)
    assert r.returncode == 2 and "was not written by a scan" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_since_refused_before_connecting(tmp_path):
    """A --since without its manifest, or whose directory is the output, and a bad --quiesce: exit 2
    naming the option and value, before any connection (nothing listens on port 1), nothing written."""
    import shutil
    from pathlib import Path
    prev = tmp_path / "scan1"
    prev.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "examples/debian12-web/report.yaml", prev / "report.yaml")
    r = cli("scan", "--ssh", "root@127.0.0.1:1", "-o", tmp_path / "scan2", "--since", prev / "report.yaml", check=False)
    assert r.returncode == 2 and "--since" in r.stderr and "manifest.json.gz" in r.stderr
    assert str(prev / "report.yaml") in r.stderr
    r = cli("scan", "--ssh", "root@127.0.0.1:1", "-o", tmp_path / "scan2", "--quiesce", "postgresql,my sql",
            check=False)
    assert r.returncode == 2 and "--quiesce" in r.stderr and "my sql" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan1"]
