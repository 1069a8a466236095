"""host_env: what disk-image-create needs from this host (no I/O beyond /proc/misc)."""
import os

from dib_migrate import hostshims
from dib_migrate.distros.debian import security_mirror


def test_security_mirror_is_on_the_distribution_mirrors_host():
    assert security_mirror("http://deb.debian.org/debian") == "http://deb.debian.org/debian-security"
    assert security_mirror("http://mirror.example/debian/") == "http://mirror.example/debian-security"


def test_debian_settings_and_user_values_win(monkeypatch):
    monkeypatch.setattr(hostshims, "needs_shims", lambda: False)
    env = hostshims.host_env({"PATH": "/usr/bin", "DIB_DEBIAN_SECURITY_MIRROR": "http://s/",
                              "DIB_DEBIAN_DISTRIBUTION_MIRROR": "http://m/debian"}, family="debian")
    assert "PATH" not in env and "DIB_DEBIAN_SECURITY_MIRROR" not in env
    assert env["DIB_APT_MINIMAL_CREATE_INTERFACES"] == "0"
    assert env["DIB_DEBOOTSTRAP_CACHE"] == env["DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE"] == "1"
    env = hostshims.host_env({"PATH": "/usr/bin", "DIB_DISTRIBUTION_MIRROR": "http://m/debian"}, family="debian")
    assert env["DIB_DEBIAN_SECURITY_MIRROR"] == "http://m/debian-security"
    env = hostshims.host_env({"DIB_MIGRATE_NO_DEBOOTSTRAP_CACHE": "1"}, family="debian")
    assert env.get("DIB_DEBOOTSTRAP_CACHE") is None


def test_other_families_get_no_debian_settings(monkeypatch):
    monkeypatch.setattr(hostshims, "needs_shims", lambda: False)
    assert hostshims.host_env({"PATH": "/usr/bin"}, family="redhat") == {}


def test_shims_first_in_path_only_without_device_mapper(monkeypatch):
    monkeypatch.setattr(hostshims, "needs_shims", lambda: True)
    env = hostshims.host_env({"PATH": "/usr/bin"})
    assert env["PATH"].split(os.pathsep) == [str(hostshims.SHIMS_DIR), "/usr/bin"]
    for tool in ("kpartx", "dmsetup", "mount", "umount", "sudo"):
        assert os.access(hostshims.SHIMS_DIR / tool, os.X_OK), tool
