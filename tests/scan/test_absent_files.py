"""Package files the source's admin removed: the scan names them (the rebuild would install them
again). The fake dpkg root of test_fast_path (files, then info/<pkg>.list), on the test's own
file system."""
import shutil

import yaml

from dib_migrate.report import load_report
from dib_migrate.scan import scanner as S
from tests.scan.test_fast_path import install, verify


def test_removed_files_and_directories_are_named_with_their_package(tmp_path):
    root = install(tmp_path)
    (root / "etc/demo.conf").unlink()                       # a conffile the admin deleted
    shutil.rmtree(root / "usr/share/demo")                  # a whole directory: named once
    result = verify(root)
    assert result.absent_list() == [{"path": "/etc/demo.conf", "package": "demo"},
                                    {"path": "/usr/share/demo", "package": "demo"}]


def test_a_diverted_path_is_not_absent(tmp_path):
    root = install(tmp_path)
    (root / "usr/bin/demo").rename(root / "usr/bin/demo.distrib")
    (root / "var/lib/dpkg/diversions").write_text("/usr/bin/demo\n/usr/bin/demo.distrib\nother\n")
    assert verify(root).absent_list() == []


def test_an_intact_install_has_none(tmp_path):
    assert verify(install(tmp_path)).absent_list() == []


def test_rpm_missing_lines():
    text = ("missing   c /etc/cron.daily/logrotate\nmissing     /usr/share/doc/x/README\n"
            "missing   g /var/log/btmp\nS.5....T.  c /etc/my.cnf\n")
    assert S.parse_rpm_missing(text) == ["/etc/cron.daily/logrotate", "/usr/share/doc/x/README"]


def test_the_report_carries_them_and_loads(tmp_path):
    root = install(tmp_path)
    (root / "etc/demo.conf").unlink()
    out = tmp_path / "out"
    assert S.main(["--root", str(root), "-o", str(out), "-q"]) == 0
    data = yaml.safe_load((out / "report.yaml").read_text())
    assert data["absent_package_files"] == [{"path": "/etc/demo.conf", "package": "demo"}]
    assert load_report(out / "report.yaml").absent_package_files == (("/etc/demo.conf", "demo"),)
