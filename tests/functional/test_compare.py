"""End-to-end (issue 11): `dib-migrate compare` finds no unexplained difference between the
fixture server and the images built from it, and a deliberately altered image makes it exit 1."""
import json
from pathlib import Path

import pytest

from tests.support.dibhost import compare_json as _compare
from tests.support.imagecopy import altered_copy, enable_unit

pytestmark = pytest.mark.functional


@pytest.mark.parametrize("target", ["openstack", "ec2"])
def test_every_difference_is_explained(build, report, target):
    built = build(target)
    rc, out = _compare(report, built.image, built.plan_path)
    bad = [d for d in out["differences"] if not d["explained"]]
    print("compare %s: %d differences, %d explained, %.1fs" % (target, len(out["differences"]),
                                                               out["explained"], out["seconds"]))
    assert rc == 0 and not bad, json.dumps(bad, indent=1)
    # the Plan's big changes show up as explained differences, each with its rule
    rules = {d["rule"] for d in out["differences"]}
    assert {"svc-libvirtd", "fstab-nfs", "net-mac", "pkg-kernel"} <= rules, rules


def test_altered_image_is_unexplained(build, report, workdir):
    ec2 = build("ec2")

    def mutate(mnt):
        # a unit the Plan disabled re-enabled, a carried file changed
        enable_unit(mnt, "libvirtd.service")
        with open(mnt / "srv/www/index.html", "ab") as f:
            f.write(b"<!-- changed -->\n")
    broken = altered_copy(ec2.image, workdir, mutate, name="altered.raw")
    try:
        rc, out = _compare(report, broken, ec2.plan_path)
    finally:
        Path(broken).unlink()
    bad = {(d["area"], d["subject"]) for d in out["differences"] if not d["explained"]}
    assert rc == 1
    assert bad == {("services", "libvirtd"), ("files", "/srv/www/index.html")}, bad
