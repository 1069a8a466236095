"""A build's private copy of DIB's image cache: links in, what the build added published back."""
import os
import subprocess
from pathlib import Path

import pytest

from dib_migrate import caches
from tests.support.rootfs import Chroot, debian_root, have_debootstrap

TARBALL = "debootstrap-debian-bookworm-amd64.tar.gz"


@pytest.fixture
def shared(tmp_path):
    s = tmp_path / "cache"
    (s / "apt/debian").mkdir(parents=True)
    (s / "apt/debian/old_1.0_all.deb").write_bytes(b"old")
    (s / "apt/debian/lock").write_text("")
    (s / TARBALL).write_bytes(b"tarball")
    (s / "yum").mkdir()
    return s


def test_private_cache_links_and_publishes(shared):
    env = {"DIB_IMAGE_CACHE": str(shared)}
    with caches.build_cache(env) as extra:
        private = Path(extra["DIB_IMAGE_CACHE"])
        assert private.parent == shared / caches.BUILDS_DIR
        assert extra["DIB_MIGRATE_KEEP_APT_ARCHIVES"] == "1"
        # hard links, not copies; the lock file is the build's own (not linked)
        assert (private / TARBALL).stat().st_ino == (shared / TARBALL).stat().st_ino
        assert (private / "apt/debian/old_1.0_all.deb").stat().st_ino == \
            (shared / "apt/debian/old_1.0_all.deb").stat().st_ino
        assert not (private / "apt/debian/lock").exists()
        assert (private / "yum").is_symlink()
        # what a build does: apt downloads, dpkg's apt-get clean deletes, our finalise hook kept links
        (private / "apt/debian/new_2.0_all.deb").write_bytes(b"new")
        (private / "apt/debian/keep").mkdir()
        (private / "apt/debian/kept_3.0_all.deb").write_bytes(b"kept")
        os.link(private / "apt/debian/kept_3.0_all.deb", private / "apt/debian/keep/kept_3.0_all.deb")
        (private / "apt/debian/kept_3.0_all.deb").unlink()
        (private / "apt/debian/old_1.0_all.deb").unlink()
        (private / "ubuntu-base.img").write_bytes(b"base")
        extra.succeeded = True
    assert sorted(extra.published) == ["apt/debian/kept_3.0_all.deb", "apt/debian/new_2.0_all.deb",
                                       "ubuntu-base.img"]
    assert (shared / "apt/debian/old_1.0_all.deb").read_bytes() == b"old"
    assert (shared / "apt/debian/new_2.0_all.deb").read_bytes() == b"new"
    assert (shared / "ubuntu-base.img").read_bytes() == b"base"
    assert not private.exists()


def test_failed_build_keeps_debs_not_base_files(shared):
    (shared / TARBALL).unlink()
    with pytest.raises(RuntimeError):
        with caches.build_cache({"DIB_IMAGE_CACHE": str(shared)}) as extra:
            private = Path(extra["DIB_IMAGE_CACHE"])
            (private / TARBALL).write_bytes(b"half a tarb")      # killed while DIB was writing it
            (private / "apt/debian/new_2.0_all.deb").write_bytes(b"new")
            raise RuntimeError("disk-image-create failed")
    assert not (shared / TARBALL).exists()
    assert (shared / "apt/debian/new_2.0_all.deb").exists()


def test_sweep_removes_only_dead_builds(shared):
    with caches.build_cache({"DIB_IMAGE_CACHE": str(shared)}) as live:
        dead = shared / caches.BUILDS_DIR / "build-dead"
        (dead / "apt").mkdir(parents=True)
        (dead / caches.LOCK_NAME).write_text("")
        caches.sweep(shared / caches.BUILDS_DIR)
        assert not dead.exists()
        assert Path(live["DIB_IMAGE_CACHE"]).is_dir()


@pytest.mark.rootfs
@pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")
def test_seen_failure_two_builds_one_apt_archive(tmp_path, shared):
    """Issue 14's failure: DIB bind-mounts $DIB_IMAGE_CACHE/apt/debian as the chroot's apt archive; while
    another build's apt holds its lock, this build's apt-get exits 100. The private cache has its own lock."""
    import fcntl
    root = debian_root(tmp_path / "root")
    archives = root / "var/cache/apt/archives"

    def apt_clean_with(source):
        subprocess.run(["mount", "--bind", str(source), str(archives)], check=True)
        try:
            with Chroot(root) as ch:
                return ch.run("apt-get", "clean", capture_output=True, text=True, check=False,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        finally:
            subprocess.run(["umount", str(archives)], check=True)

    with open(shared / "apt/debian/lock", "w") as other_build:
        # apt locks with fcntl; this is the other build's apt-get in the middle of its install
        fcntl.lockf(other_build, fcntl.LOCK_EX | fcntl.LOCK_NB)
        seen = apt_clean_with(shared / "apt/debian")
        assert seen.returncode == 100, seen
        assert "Could not get lock /var/cache/apt/archives/lock" in seen.stderr
        with caches.build_cache({"DIB_IMAGE_CACHE": str(shared)}) as extra:
            fixed = apt_clean_with(Path(extra["DIB_IMAGE_CACHE"]) / "apt/debian")
            assert fixed.returncode == 0, fixed.stderr
            extra.succeeded = True
    # the build's apt-get clean emptied its own archive, not the shared one
    assert (shared / "apt/debian/old_1.0_all.deb").read_bytes() == b"old"
