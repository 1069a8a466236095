"""The single-file scanner (dib_migrate.scan.artifact): a deterministic zipapp that runs on
the oldest Python here and writes the same report as the package it was built from."""
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from dib_migrate.scan import artifact as A
from dib_migrate.scan import build_artifact
from dib_migrate.scan import scanner as S
from tests.scan.scan_output import overlay_members
from tests.scan.scan_output import read_report as load
from tests.support import fixture as F
from tests.support.rootfs import Chroot, debian_root, have_debootstrap

needs_root = pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")


def oldest_python():
    """The oldest Python 3.6+ interpreter on this machine (pyenv's or the system's), or None."""
    found = []
    for pattern in ("/root/.pyenv/versions/3.*/bin/python3", "/usr/bin/python3.*", "/usr/local/bin/python3.*"):
        top, _, glob = pattern.partition("*")
        base = Path(top).parent
        for path in sorted(base.glob(Path(top).name + "*" + glob)) if base.is_dir() else []:
            m = re.search(r"3\.([0-9]+)", str(path))
            if m and int(m.group(1)) >= 6 and os.access(str(path), os.X_OK) and not str(path).endswith("-config"):
                found.append((int(m.group(1)), str(path)))
    return min(found)[1] if found else None


OLDEST = oldest_python()


def test_the_artifact_is_a_deterministic_executable_zipapp(tmp_path):
    first = Path(build_artifact(str(tmp_path / "one.pyz")))
    (tmp_path / "dir").mkdir()
    second = Path(build_artifact(str(tmp_path / "dir")))
    assert second == tmp_path / "dir" / A.ARTIFACT_NAME
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert stat.S_IMODE(first.stat().st_mode) == 0o755
    with zipfile.ZipFile(str(first)) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {A.FIXED_TIME}
        assert "__main__.py" in names
        assert sorted(n for n in names if n != "__main__.py") == [n for n, _p in A.sources()]
        assert zf.read(A.PACKAGE + "/scan_root.py") == (Path(S.__file__).parent / "scan_root.py").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "one.pyz"]     # no temporary left


def test_a_failed_build_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        build_artifact(str(tmp_path / "missing" / "x.pyz"))
    assert list(tmp_path.iterdir()) == []


def test_the_module_prints_the_path(tmp_path, capsys):
    assert A.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == "%s\n" % (tmp_path / A.ARTIFACT_NAME)


@pytest.mark.skipif(OLDEST is None, reason="no Python 3.6+ interpreter besides this one")
def test_every_module_compiles_on_the_oldest_python(tmp_path):
    pyz = build_artifact(str(tmp_path))
    code = ("import sys, zipfile\n"
            "z = zipfile.ZipFile(sys.argv[1])\n"
            "for n in z.namelist():\n"
            "    compile(z.read(n), n, 'exec')\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "import %s.scan_root, %s.artifact, %s.scanner\n" % ((A.PACKAGE,) * 3))
    subprocess.run([OLDEST, "-c", code, pyz], check=True)
    out = subprocess.run([OLDEST, pyz, "--help"], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert out.stdout.startswith("usage: dib-migrate scan")


def members(out, report):
    return sorted((m.name, m.type, m.mode, m.size, m.linkname) for m in overlay_members(out, report).values())


def comparable(report):
    """The report without what differs between two runs: the time and the archive's checksum
    (tar's pax headers carry access times)."""
    report = dict(report)
    report.pop("scanned_at")
    report["overlay"] = dict(report["overlay"], sha256=None)
    return report


@pytest.mark.rootfs
@needs_root
@pytest.mark.skipif(OLDEST is None, reason="no Python 3.6+ interpreter besides this one")
def test_the_artifact_on_the_oldest_python_reports_what_the_package_reports(tmp_path):
    _key, public = F.ssh_keypair(tmp_path)
    root = F.make_fixture(tmp_path / "root", public).root
    pyz = build_artifact(str(tmp_path))
    assert S.main(["--root", str(root), "-o", str(tmp_path / "package"), "-q"]) == 0
    subprocess.run([OLDEST, pyz, "--root", str(root), "-o", str(tmp_path / "artifact"), "-q"], check=True)
    package, artifact = load(tmp_path / "package"), load(tmp_path / "artifact")
    assert comparable(artifact) == comparable(package)
    assert package["network"]["interfaces"] and package["packages"] and package["overlay"]["files"]
    assert members(tmp_path / "artifact", artifact) == members(tmp_path / "package", package)


@pytest.mark.rootfs
@needs_root
def test_the_artifact_scans_a_live_debian_bullseye_with_its_python(tmp_path):
    """Debian 11's python3.9, the oldest distribution Python debootstrap gives here, running the
    artifact as a live scan inside the chroot; an offline scan of the same tree by the package
    must find the same system."""
    root = debian_root(tmp_path / "bullseye", include=("python3",), suite="bullseye")
    shutil.copy(build_artifact(str(tmp_path)), str(root / "root" / A.ARTIFACT_NAME))
    with Chroot(root) as chroot:
        version = chroot.run("python3", "--version", stdout=subprocess.PIPE, universal_newlines=True).stdout
        assert version.startswith("Python 3.9.")
        chroot.run("python3", "/root/" + A.ARTIFACT_NAME, "-o", "/root/scan", "-q")
    (root / "root" / "scan").rename(tmp_path / "live")
    assert S.main(["--root", str(root), "-o", str(tmp_path / "offline"), "-q"]) == 0
    live, offline = load(tmp_path / "live"), load(tmp_path / "offline")
    assert live["os"] == offline["os"] and live["os"]["codename"] == "bullseye"
    assert any(p["name"] == "python3.9" for p in live["packages"])
    for key in ("packages", "services", "users", "groups", "fstab", "etc_symlinks", "selinux", "init_system",
                "bootloader", "firewall"):
        assert live[key] == offline[key], key
    assert live["kernel"]["packages"] == offline["kernel"]["packages"]
    assert live["network"]["manager"] == offline["network"]["manager"]
    assert live["overlay"]["files"] > 0
