"""compare's file rows read the image's archives as resync laid them (first overlay + deltas)."""
import os

from dib_migrate.compare.diff import Explainer, files
from dib_migrate.compare.overlay import member_rows
from dib_migrate.resync.record import Layers
from tests.compare.test_diff import plan
from tests.resync.test_record import _archive, _entry


def _root(tmp_path, files):
    root = tmp_path / "root"
    for path, data in files.items():
        p = root / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.chmod(p, 0o644)
    for d in [root] + [p for p in root.rglob("*") if p.is_dir()]:
        os.chmod(d, 0o755)
    return root


def test_a_resynced_root_matches_the_merged_layers_and_nothing_else(tmp_path):
    base = _archive(tmp_path / "base.tar.gz", {
        "./srv/app/config.ini": b"version 1\n", "./srv/app/old.txt": b"old\n",
        "./etc/sysctl.d/90-app.conf": b"vm.swappiness = 10\n"})
    delta = _archive(tmp_path / "delta.tar.gz", {
        "./srv/app/config.ini": b"version 2\n", "./etc/sysctl.d/90-app.conf": b"vm.swappiness = 20\n"})
    layers = Layers(base, [_entry(delta, ["/srv/app/old.txt"], "t1")])
    root = _root(tmp_path, {"/srv/app/config.ini": b"version 2\n",
                            "/etc/sysctl.d/90-app.conf": b"vm.swappiness = 20\n"})
    rows, sysctl, _ident = member_rows(layers, root)
    assert [r for r in rows if r[0].startswith("/srv/app/") and r[0] != "/srv/app"] == []
    assert sysctl == {"vm.swappiness": ("20", "/etc/sysctl.d/90-app.conf")}     # the delta's file

    # what changed in the image after the resync, without a delta, is a difference no Change explains
    (root / "srv/app/config.ini").write_bytes(b"edited by hand\n")
    (root / "srv/app/old.txt").write_bytes(b"old\n")
    rows, _sysctl, _ident = member_rows(layers, root)
    found = {(r[0], r[1]) for r in rows}
    assert ("/srv/app/config.ini", "content") in found and ("/srv/app/old.txt", "present") in found
    diffs = files([r for r in rows if r[0].startswith("/srv/app/") and r[0] != "/srv/app"],
                  Explainer(plan()))
    assert sorted(d.subject for d in diffs if not d.explained) == ["/srv/app/config.ini", "/srv/app/old.txt present"]
