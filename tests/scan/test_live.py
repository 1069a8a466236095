"""Vanishing and changing files on a live server: tar's messages, owners, the report section."""
import os
import subprocess

from dib_migrate.scan import live as L


def _tar(root, names):
    listing = root.parent / "list"
    listing.write_bytes(b"".join(n.encode("utf-8", "surrogateescape") + b"\0" for n in names))
    proc = subprocess.run(["tar", "--create", "--format=pax", "--no-recursion", "--null", "--xattrs", "--acls",
                           "-C", str(root), "-T", str(listing), "-f", os.devnull],
                          stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL="C"))
    return proc.returncode, proc.stderr.decode()


def test_real_tar_messages_for_vanished_files_are_recorded_not_errors(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "keep").write_text("x")
    odd = "new\nline \u00e9 a: b"
    rc, err = _tar(root, ["keep", "var/lib/pg/gone", odd])
    assert rc == 2                      # what made the scan abort before
    live = L.LiveChanges()
    other = live.tar_messages(err)
    assert other == []
    assert live.vanished == {"/var/lib/pg/gone", "/" + odd}
    assert live.changed == set()


def test_changed_and_shrunk_files_and_real_errors_are_told_apart():
    live = L.LiveChanges()
    other = live.tar_messages(
        "tar: var/log/syslog: file changed as we read it\n"
        "tar: srv/big: File shrank by 4096 bytes; padding with zeros\n"
        "tar: etc/x: Cannot open: Permission denied\n"
        "tar: run/s: socket ignored\n"
        "tar: Exiting with failure status due to previous errors\n")
    assert live.changed == {"/var/log/syslog", "/srv/big"}
    assert other == ["tar: etc/x: Cannot open: Permission denied"]


def test_a_file_that_changed_then_vanished_counts_as_vanished_only():
    live = L.LiveChanges()
    live.touched("/a")
    live.gone("/a")
    live.touched("/a")
    assert live.vanished == {"/a"} and live.changed == set()


def test_report_lists_counts_paths_and_owning_services():
    live = L.LiveChanges()
    for i in range(L.LIST_LIMIT + 5):
        live.gone("/var/lib/postgresql/15/main/pg_wal/%08d" % i)
    live.touched("/var/lib/redis/dump.rdb")
    live.touched("/srv/www/index.html")
    paths = list(live.vanished) + list(live.changed)
    owners = L.owning_services(paths, [("/var/lib/postgresql/15/main", "postgresql")],
                               ["redis-server", "nginx", "postgresql"])
    section = live.report(owners)
    assert section["vanished"]["count"] == L.LIST_LIMIT + 5
    assert len(section["vanished"]["paths"]) == L.LIST_LIMIT
    assert section["changed"] == {"count": 2, "paths": ["/srv/www/index.html", "/var/lib/redis/dump.rdb"]}
    assert section["services"] == ["postgresql", "redis-server"]
    assert "/srv/www/index.html" not in owners


def test_stat_or_gone_and_read_member(tmp_path):
    live = L.LiveChanges()
    f = tmp_path / "f"
    f.write_text("one")
    st = L.stat_or_gone(str(f), "/f", live)
    assert st is not None
    f.write_text("longer now")
    with L.read_member(str(f), "/f", st, live) as handle:
        assert handle.read() == b"longer now"
    assert live.changed == {"/f"}
    f.unlink()
    assert L.stat_or_gone(str(f), "/f", live) is None
    assert L.read_member(str(f), "/f", st, live) is None
    assert live.vanished == {"/f"}
