import io
import lzma
import urllib.error

import pytest

from dib_migrate import mirror
from dib_migrate.errors import InputError

from .helpers import plan_of

PACKAGES = {
    "bookworm": "Package: nginx\nVersion: 1.22.1-9\n\nPackage: bash\nVersion: 5.2.15-2+b13\n",
    "bookworm-updates": "Package: nginx\nVersion: 1.22.1-9+deb12u9\n",
    "bookworm-security": "Package: openssl\nVersion: 3.0.20-1~deb12u2\n",
}


class FakeOpener:
    def __init__(self, missing_suites=()):
        self.urls, self.missing = [], missing_suites

    def __call__(self, url, timeout=None):
        self.urls.append(url)
        suite = url.split("/dists/")[1].split("/")[0]
        if suite in self.missing:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(lzma.compress(PACKAGES[suite].encode()))


def test_index_reads_release_updates_and_security_on_the_same_host():
    opener = FakeOpener()
    index = mirror.fetch_index("debian", "debian", "bookworm", "amd64", "http://m.example/debian", opener=opener)
    assert index["nginx"] == {"1.22.1-9", "1.22.1-9+deb12u9"} and "openssl" in index
    assert opener.urls == [
        "http://m.example/debian/dists/bookworm/main/binary-amd64/Packages.xz",
        "http://m.example/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz",
        "http://m.example/debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz"]


def test_missing_updates_suite_is_fine_but_missing_release_is_an_input_error():
    assert "bash" in mirror.fetch_index("debian", "debian", "bookworm", "amd64",
                                        opener=FakeOpener(("bookworm-updates",)))
    with pytest.raises(InputError) as e:
        mirror.fetch_index("debian", "debian", "bookworm", "amd64", opener=FakeOpener(("bookworm",)))
    assert "Packages.xz" in str(e.value)


def test_missing_names_and_pins(example):
    plan = plan_of(example("debian12-web"), "kvm", pin_versions=True)
    index = {"nginx": {"1.22.1-9+deb12u9"}, "bash": {"0"}, "linux-image-amd64": {"1"}}
    names, pins = mirror.missing(plan, index)
    assert "nginx" not in names and "nginx=1.22.1-9+deb12u9" not in pins
    assert "bash=5.2.15-2+b13" in pins
    assert "adduser" in names and "linux-image-amd64" not in names
