"""Overlay archive safety: nothing may land outside the image root; load_report refuses such archives."""
import hashlib
import io
import shutil
import subprocess
import tarfile

import pytest

from dib_migrate.errors import InputError
from dib_migrate.overlay import check_archive, member_problem

from .helpers import dump_yaml, source_data


def _member(name, kind="file", link=None, data=b"x\n"):
    ti = tarfile.TarInfo(name)
    if kind == "file":
        ti.size = len(data)
        return ti, io.BytesIO(data)
    ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE}[kind]
    ti.mode = 0o755 if kind == "dir" else 0o777
    if link is not None:
        ti.linkname = link
    return ti, None


def make_tar(path, members, mode="w:gz"):
    with tarfile.open(str(path), mode) as tar:
        for m in members:
            tar.addfile(*_member(*m))
    return path


SAFE = [("./etc", "dir"), ("./etc/nginx", "dir"), ("./etc/nginx/nginx.conf", "file"),
        ("./etc/localtime", "sym", "/usr/share/zoneinfo/Europe/Berlin"),
        ("./usr/local/bin/tool", "file"), ("./usr/local/bin/tool2", "lnk", "usr/local/bin/tool"),
        ("./srv/www", "sym", "../srv/data"), ("etc/motd", "file")]

HOSTILE = {
    "dotdot": ([("./etc", "dir"), ("./../../etc/cron.d/evil", "file")], "'..'"),
    "dotdot-inner": ([("etc/../../x", "file")], "'..'"),
    "absolute": ([("/etc/shadow", "file")], "absolute"),
    "absolute-dir": ([("/root", "dir")], "absolute"),
    "through-symlink": ([("./etc", "dir"), ("./etc/evil", "sym", "/etc"), ("./etc/evil/passwd", "file")],
                        "through the symlink"),
    "through-relative-symlink": ([("up", "sym", "../../.."), ("up/boot/x", "file")], "through the symlink"),
    "through-symlink-dir": ([("a/b", "sym", "/"), ("a/b/etc", "dir")], "through the symlink"),
    "through-symlink-renamed": ([("./lnk", "sym", "/"), ("./lnk/x", "file")], "through the symlink"),
    "through-symlink-dot-slashes": ([("lnk", "sym", "/"), ("./././lnk/x", "file")], "through the symlink"),
    "through-symlink-double-slash": ([("lnk", "sym", "/"), ("lnk//x", "file")], "through the symlink"),
    "through-symlink-dot-component": ([("lnk", "sym", "/"), ("lnk/./x", "file")],
                                      "through the symlink"),
    "symlink-replaced-later": ([("lnk", "sym", "/"), ("lnk", "dir"), ("lnk/x", "file")],
                               "through the symlink"),
    "hardlink-absolute": ([("x", "lnk", "/etc/shadow")], "hard link"),
    "hardlink-dotdot": ([("x", "lnk", "../../etc/shadow")], "hard link"),
    "hardlink-through-symlink": ([("lnk", "sym", "/etc"), ("x", "lnk", "lnk/shadow")], "symlink"),
}


@pytest.mark.parametrize("compression", ["gz", "", "xz"])
def test_safe_archive_passes(tmp_path, compression):
    path = make_tar(tmp_path / "o.tar", SAFE, "w:" + compression if compression else "w")
    assert check_archive(path, "none" if not compression else "gzip") is None


@pytest.mark.skipif(not shutil.which("zstd"), reason="needs zstd")
def test_a_zstd_archive_with_padding_after_its_end_blocks_is_sound(tmp_path):
    # GNU tar pads to its record size after the end-of-archive blocks; tarfile stops at those
    # blocks, and a zstd still writing the rest must not be killed by the closed pipe (a sound
    # archive failed "zstd could not decompress" depending on timing)
    plain = make_tar(tmp_path / "o.tar", SAFE, "w")
    with open(plain, "ab") as f:
        f.write(b"\0" * (4 << 20))              # more than a pipe holds: zstd blocks in write()
    subprocess.run(["zstd", "-q", "-f", str(plain), "-o", str(tmp_path / "o.tar.zst")], check=True)
    for _ in range(3):
        assert check_archive(tmp_path / "o.tar.zst", "zstd") is None


def test_shipped_overlays_are_safe():
    from .helpers import EXAMPLES
    for name in ("debian12-web", "centos6-xen-pv"):
        assert check_archive(EXAMPLES / name / "overlay.tar.gz", "gzip") is None


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_refused(tmp_path, case):
    members, words = HOSTILE[case]
    problem = check_archive(make_tar(tmp_path / "o.tar.gz", members), "gzip")
    assert problem is not None, case
    assert words in problem


def test_member_problem_unit():
    sym = {"etc/evil"}
    assert member_problem(tarfile.TarInfo("etc/ok"), sym) is None
    assert "absolute" in member_problem(tarfile.TarInfo("/x"), sym)
    assert "symlink" in member_problem(tarfile.TarInfo("etc/evil/x"), sym)
    # a sibling whose name merely starts like the symlink is fine
    assert member_problem(tarfile.TarInfo("etc/evilness"), sym) is None


def test_not_a_tar(tmp_path):
    p = tmp_path / "o.tar.gz"
    p.write_bytes(b"\x1f\x8b this is not gzip at all")
    assert "not a readable tar archive" in check_archive(p, "gzip")


def test_truncated_tar(tmp_path):
    p = make_tar(tmp_path / "o.tar", [("a", "file", None, b"y" * 5000)], "w")
    data = p.read_bytes()
    p.write_bytes(data[:1024])
    assert "not a readable tar archive" in check_archive(p, "none")


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd not installed")
def test_zstd_archive(tmp_path):
    plain = make_tar(tmp_path / "o.tar", [("ok", "file"), ("/abs", "file")], "w")
    subprocess.run(["zstd", "-q", str(plain), "-o", str(tmp_path / "o.tar.zst")], check=True)
    assert "absolute" in check_archive(tmp_path / "o.tar.zst", "zstd")
    safe = make_tar(tmp_path / "s.tar", SAFE, "w")
    subprocess.run(["zstd", "-q", str(safe), "-o", str(tmp_path / "s.tar.zst")], check=True)
    assert check_archive(tmp_path / "s.tar.zst", "zstd") is None


def _report_with_archive(tmp_path, members, mode="w:gz", name="overlay.tar.gz"):
    from dib_migrate.report import load_report
    archive = make_tar(tmp_path / name, members, mode)
    data = source_data("debian12-web")
    data["overlay"] = {"archive": name, "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
                       "files": len(members), "bytes": 1, "mode": "changed"}
    (tmp_path / "report.yaml").write_text(dump_yaml(data))
    return lambda: load_report(tmp_path / "report.yaml")


@pytest.mark.parametrize("case", ["dotdot", "absolute", "through-symlink", "hardlink-absolute"])
def test_load_report_refuses_hostile_overlay(tmp_path, case):
    load = _report_with_archive(tmp_path, HOSTILE[case][0])
    with pytest.raises(InputError) as e:
        load()
    assert e.value.field == "overlay.archive" and e.value.value == "overlay.tar.gz"
    assert HOSTILE[case][1] in str(e.value)


@pytest.mark.parametrize("mode,compression", [("w:gz", "gzip"), ("w", "none")])
def test_load_report_detects_compression(tmp_path, mode, compression):
    r = _report_with_archive(tmp_path, SAFE, mode, "overlay.tar")()
    assert r.overlay.compression == compression and r.overlay.mode == "changed"
