"""rpm parsing on recorded output of the real tools (fixtures/README.md), and an end-to-end
scan of a small rpm root built with rpmbuild when this host has it."""
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from dib_migrate.scan import scanner as S

FIXTURES = Path(__file__).with_name("fixtures")


def test_rpm_qa():
    assert S.parse_rpm_qa((FIXTURES / "rpm-qa.txt").read_text()) == [
        {"name": "demo-lib", "version": "0.9-1", "arch": "noarch"},
        {"name": "demo-server", "version": "2:1.2-3.el8", "arch": "x86_64"}]
    # the imported signing keys rpm lists as packages are not packages
    assert S.parse_rpm_qa("gpg-pubkey\t(none)\tf4a80eb5\t53a7ff4b\t(none)\n") == []


def test_rpm_file_list_leaves_out_ghosts():
    owned = S.parse_rpm_files((FIXTURES / "rpm-files.txt").read_text())
    assert "/var/log/demo/demo.log" not in owned       # %ghost: its content is the server's
    assert {"/etc/demo/demo.conf", "/usr/bin/demo", "/var/log/demo", "/usr/share/demo/link"} <= owned


def test_rpm_verify_keeps_content_mode_and_link_changes():
    changed = S.parse_rpm_verify((FIXTURES / "rpm-Va.txt").read_text())
    assert sorted(changed) == ["/etc/demo/demo.conf", "/usr/bin/demo", "/usr/share/demo/link"]
    # mtime only (T) is not a change; a missing file has nothing to archive
    assert "/usr/share/demo/data.txt" not in changed
    assert "/etc/demo/untouched.conf" not in changed
    # rpm 4.4 (CentOS 5) prints eight columns
    assert S.parse_rpm_verify("S.5....T  c /etc/my.cnf\n") == {"/etc/my.cnf": "S.5....T"}


needs_rpmbuild = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("rpmbuild") and shutil.which("rpm")),
    reason="needs root, rpm and rpmbuild")


@needs_rpmbuild
def test_scan_an_rpm_root(tmp_path):
    top = tmp_path / "build"
    (top / "SPECS").mkdir(parents=True)
    for spec in ("demo.spec", "lib.spec"):
        shutil.copy(FIXTURES / spec, top / "SPECS")
    subprocess.run(["rpmbuild", "-bb", "--define", "_topdir %s" % top, "--define", "debug_package %{nil}",
                    str(top / "SPECS/demo.spec"), str(top / "SPECS/lib.spec")],
                   check=True, capture_output=True)
    root = tmp_path / "root"
    for d in ("etc", "bin", "tmp"):
        (root / d).mkdir(parents=True)
    (root / "etc/redhat-release").write_text("CentOS Linux release 7.9.2009 (Core)\n")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    shutil.copy("/bin/sh", root / "bin/sh")
    rpm = ["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm"]
    subprocess.run(rpm + ["--initdb"], check=True)
    subprocess.run(rpm + ["-i", "--nodeps", "--noscripts"]
                   + [str(p) for p in top.glob("RPMS/*/*.rpm")], check=True, capture_output=True)
    (root / "etc/demo/demo.conf").write_text("listen 8080\n")
    os.chmod(root / "usr/bin/demo", 0o700)
    (root / "srv/app").mkdir(parents=True)
    (root / "srv/app/data").write_text("mine\n")

    out = tmp_path / "out"
    assert S.main(["--root", str(root), "-o", str(out), "-q"]) == 0
    report = yaml.safe_load((out / "report.yaml").read_text())
    assert report["os"]["family"] == "redhat" and report["os"]["distro"] == "centos"
    assert report["os"]["version"] == "7.9.2009"
    assert [p["name"] for p in report["packages"]] == ["demo-lib", "demo-server"]
    with tarfile.open(fileobj=_decompressed(out / report["overlay"]["archive"])) as tar:
        names = set(m.name for m in tar.getmembers())
    assert {"etc/demo/demo.conf", "usr/bin/demo", "srv/app", "srv/app/data", "etc/redhat-release"} <= names
    assert "usr/share/demo/data.txt" not in names and "etc/demo/untouched.conf" not in names
    assert not any(n.startswith("var/lib/rpm") for n in names)

    # the admin removes a package file after this scan: the delta scan names it (rpm -Va, no digests)
    (root / "usr/share/demo/data.txt").unlink()
    assert S.main(["--root", str(root), "--since", str(out / "report.yaml"), "-o", str(tmp_path / "delta"),
                   "-q"]) == 0
    delta = yaml.safe_load((tmp_path / "delta/report.yaml").read_text())
    assert {"path": "/usr/share/demo/data.txt"} in delta["absent_package_files"], delta["absent_package_files"]


def _decompressed(path):
    import io
    data = path.read_bytes()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        data = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    else:
        import gzip
        data = gzip.decompress(data)
    return io.BytesIO(data)
