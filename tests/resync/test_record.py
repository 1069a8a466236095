"""The resync record and the merge of a scan with its deltas (the state verify and compare read)."""
import hashlib
import io
import tarfile

import pytest

from dib_migrate.errors import InputError
from dib_migrate.report import load_report
from dib_migrate.resync import record
from tests.resync.test_resync import EXAMPLE, delta_report


def _archive(path, entries):
    """``entries``: name -> bytes (a file) or None (a directory)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


def _entry(archive, deleted, scanned_at):
    return {"scanned_at": scanned_at, "archive": str(archive), "deleted": deleted,
            "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()}


def _merged(layers):
    out = {}
    for path, m, tar, layer in layers.members():
        assert path not in out, "each path once"
        out[path] = (tar.extractfile(m).read() if m.isfile() else None, layer)
    return out


def test_the_last_layer_to_lay_a_path_wins_and_deletions_follow_the_order(tmp_path):
    base = _archive(tmp_path / "base.tar.gz", {
        "./srv": None, "./srv/a": b"a0", "./srv/b": b"b0", "./srv/c": b"c0", "./srv/dir": None,
        "./srv/dir/x": b"x0", "./srv/keep": b"k0"})
    d1 = _archive(tmp_path / "d1.tar.gz", {"./srv/a": b"a1", "./srv/new": b"n1"})
    d2 = _archive(tmp_path / "d2.tar.gz", {"./srv/a": b"a2", "./srv/b": b"b2", "./srv/dir": None,
                                           "./srv/dir/y": b"y2"})
    layers = record.Layers(base, [_entry(d1, ["/srv/b", "/srv/c"], "t1"),
                                  # rm -rf /srv/dir, then d2 lays it again with y only
                                  _entry(d2, ["/srv/new", "/srv/dir"], "t2")])
    merged = _merged(layers)
    assert merged["/srv/a"] == (b"a2", 2)
    assert merged["/srv/b"] == (b"b2", 2)       # deleted by d1, laid again by d2
    assert merged["/srv/keep"] == (b"k0", 0)
    assert merged["/srv/dir/y"] == (b"y2", 2)
    assert "/srv/dir/x" not in merged            # under a directory d2 deleted before laying it again
    assert "/srv/c" not in merged and "/srv/new" not in merged
    assert layers.gone == {"/srv/c", "/srv/new"}


def test_skip_leaves_paths_out_and_a_changed_delta_is_refused(tmp_path):
    base = _archive(tmp_path / "base.tar.gz", {"./etc/hosts": b"h", "./srv/a": b"a"})
    d1 = _archive(tmp_path / "d1.tar.gz", {"./srv/a": b"a1"})
    entry = _entry(d1, [], "t1")
    layers = record.Layers(base, [entry])
    assert [p for p, *_ in layers.members(skip=lambda p: p.startswith("/etc/"))] == ["/srv/a"]
    d1.write_bytes(b"not the delta that was laid")
    with pytest.raises(InputError, match="the delta of t1 is not at .*d1.tar.gz"):
        record.Layers(base, [entry])


def test_state_takes_the_last_deltas_facts_after_the_scan_it_follows(tmp_path):
    image = tmp_path / "web01.raw"
    assert record.state(EXAMPLE, image).report.path == EXAMPLE.resolve()      # no record: as built
    first = delta_report(tmp_path / "d1", [("srv/www/index.html", b"one\n", 0o644, 0, {})], [])
    record.write(image, None, load_report(first), [])
    second = delta_report(tmp_path / "d2", [("srv/www/index.html", b"two\n", 0o644, 0, {})], [],
                          since="2026-11-27T04:00:00Z")
    record.write(image, record.read(image), load_report(second), [])
    st = record.state(EXAMPLE, image)
    assert st.report.path == second.resolve() and st.base.path == EXAMPLE.resolve()
    assert [d["report"] for d in st.deltas] == [str(first.resolve()), str(second.resolve())]
    merged = _merged(st.layers())
    assert merged["/srv/www/index.html"] == (b"two\n", 2)

    with pytest.raises(InputError, match="a delta report: give the full scan"):
        record.state(second, image)
    # the first delta laid follows another scan than the one given
    (tmp_path / "d1/report.yaml").write_text(first.read_text().replace("2026-11-20T09:30:00Z", "2026-11-19T00:00:00Z"))
    with pytest.raises(InputError, match="follow the scan of 2026-11-19T00:00:00Z, not this one"):
        record.state(EXAMPLE, image)
