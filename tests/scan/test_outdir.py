"""scan -o: the operator's directories are never written into or cleaned; a scan's own are reused."""
import json
import os

import pytest

from dib_migrate import outputs
from dib_migrate.scan import outdir
from dib_migrate.scan.errors import ScanRefused


def test_new_directory_is_marked_and_reused(tmp_path):
    out = str(tmp_path / "scan")
    assert outdir.prepare_outdir(out) == out
    assert json.loads((tmp_path / "scan" / outdir.MARK).read_text())["kind"] == "scan"
    (tmp_path / "scan" / "report.yaml").write_text("old\n")
    (tmp_path / "scan" / ".overlay.abc.tmp").write_text("killed scan's temporary\n")
    assert outdir.prepare_outdir(out) == out                      # ours: a rescan replaces it
    assert not (tmp_path / "scan" / ".overlay.abc.tmp").exists()


@pytest.mark.parametrize("setup,words", [
    (lambda p: (p / "notes.txt").write_text("mine\n"), "not empty"),
    (lambda p: (p / "overlay.tar.gz").write_text("an operator's archive\n"), "not empty"),
])
def test_operator_directory_refused(tmp_path, setup, words):
    setup(tmp_path)
    before = sorted(os.listdir(str(tmp_path)))
    with pytest.raises(ScanRefused, match=words):
        outdir.prepare_outdir(str(tmp_path))
    assert sorted(os.listdir(str(tmp_path))) == before


def test_file_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ScanRefused, match="is a file"):
        outdir.prepare_outdir(str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "x"


def test_same_marker_name_as_the_driver():
    assert outdir.MARK == outputs.MARK
