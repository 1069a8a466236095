"""Entries the image has and the source did not (compare/extras.py), on a small root with dpkg
file lists, explained by the Plan or not (diff.extras)."""
from dataclasses import replace

from dib_migrate.compare.diff import differences
from dib_migrate.compare.extras import extra_rows
from dib_migrate.plan.model import Change

from .test_diff import facts, plan

LISTS = {"apache2": ["/usr", "/usr/sbin", "/usr/sbin/apache2", "/var", "/var/www", "/var/www/html"],
         "cloud-init": ["/etc", "/etc/cloud", "/etc/cloud/cloud.cfg", "/usr", "/usr/lib", "/usr/lib/systemd",
                        "/usr/lib/systemd/system", "/usr/lib/systemd/system/cloud-init.service"],
         "base-files": ["/etc", "/var", "/var/lib", "/var/lib/systemd", "/srv", "/usr/share"],
         "dpkg": ["/etc/alternatives", "/usr/bin"]}
FILES = ["/usr/sbin/apache2", "/var/www/html/index.html", "/etc/cloud/cloud.cfg",
         "/etc/cloud/cloud.cfg.d/90_dpkg.cfg", "/usr/lib/systemd/system/cloud-init.service",
         "/var/lib/systemd/deb-systemd-helper-enabled/cloud-init.service.dsh-also", "/srv/app/x", "/srv/app/y",
         "/proc/1/status", "/etc/dib-manifests/dib-manifest-dpkg", "/usr/share/odd-file"]


def _root(tmp_path):
    root = tmp_path / "image"
    for path in FILES:
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_text("x\n")
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    for package, paths in LISTS.items():
        (info / (package + ".list")).write_text("/.\n" + "".join(p + "\n" for p in paths))
    alts = root / "var/lib/dpkg/alternatives"
    alts.mkdir()
    (alts / "editor").write_text("auto\n/usr/bin/editor\n\n/bin/nano\n40\n\n")
    (root / "etc/alternatives").mkdir()
    (root / "etc/alternatives/editor").symlink_to("/bin/nano")
    (root / "usr/bin").mkdir()
    (root / "usr/bin/editor").symlink_to("/etc/alternatives/editor")
    return root


def _source(**overlay):
    ov = {"mode": "changed", "left_out": {"trees": ["/proc", "/var/lib/dpkg"], "patterns": ["/srv/app/y"]}}
    ov.update(overlay)
    return dict(facts(packages=[{"name": "apache2", "version": "2.4"}, {"name": "base-files", "version": "12"}]),
                overlay=ov)


def test_what_the_build_made_is_found_and_explained(tmp_path):
    root = _root(tmp_path)
    source = _source()
    rows, context = extra_rows(source, root, {"/srv/app", "/srv/app/x"})
    found = {path for path, _what, _a, _kind in rows}
    # neither the overlay's, nor an owned path, nor under a left-out tree or pattern: top-most entries only
    assert found == {"/var/www/html/index.html", "/etc/cloud/cloud.cfg.d",
                     "/var/lib/systemd/deb-systemd-helper-enabled",
                     "/etc/dib-manifests", "/usr/share/odd-file", "/etc/alternatives/editor", "/usr/bin/editor"}, found
    image = facts(packages=[{"name": "apache2", "version": "2.4"}, {"name": "cloud-init", "version": "23"},
                            {"name": "base-files", "version": "12"}, {"name": "dpkg", "version": "1.21"}])
    p = plan(Change("install-packages", "3 packages", "pkg-rebuild", "rebuilt", {"names": ["apache2"]}),
             Change("install-package", "cloud-init", "pkg-cloud-init", "openstack instances are configured by it"),
             Change("remove-build-residue", "diskimage-builder", "dib-residue", "r",
                    {"paths": [], "kept": ["/etc/dib-manifests"]}))
    diffs = {d.subject: d for d in differences(source, image, p, extra_rows=rows, extra_context=context)}
    assert diffs["/etc/cloud/cloud.cfg.d extra"].rule == "pkg-cloud-init"
    assert "cloud-init" in diffs["/var/lib/systemd/deb-systemd-helper-enabled extra"].reason
    assert diffs["/var/lib/systemd/deb-systemd-helper-enabled extra"].rule == "pkg-cloud-init"
    assert diffs["/etc/dib-manifests extra"].rule == "dib-residue"
    assert diffs["/etc/alternatives/editor extra"].rule == diffs["/usr/bin/editor extra"].rule == "pkg-rebuild"
    # apache2 is the source's own package: its postinst's default page where the admin had none is a difference
    assert not diffs["/var/www/html/index.html extra"].explained
    assert not diffs["/usr/share/odd-file extra"].explained


def test_a_scan_that_does_not_record_what_it_left_out_has_no_extras(tmp_path):
    root = _root(tmp_path)
    assert extra_rows(_source(left_out=None), root, set())[0] == []
    assert extra_rows(_source(mode="delta"), root, set())[0] == []


def test_a_full_scan_is_walked_and_the_rootfs_installs_explain_their_database(tmp_path):
    """A full overlay holds the source's package database too: the entries a rootfs build's
    installs add to it are extras, explained by those installs; anything else stays unexplained."""
    root = _root(tmp_path)
    (root / "var/lib/dpkg/info/grub-pc.list").write_text("/.\n")
    (root / "etc/initramfs-tools/conf.d").mkdir(parents=True)
    (root / "etc/initramfs-tools/conf.d/dib-migrate").write_text("MODULES=most\n")
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/made-by-hand").write_text("x\n")
    source = _source(mode="full", left_out={"trees": ["/proc"], "patterns": []})
    seen = {"/srv", "/srv/app", "/srv/app/x", "/srv/app/y", "/var/lib/dpkg", "/var/lib/dpkg/info",
            "/var/lib/dpkg/info/apache2.list", "/var/lib/dpkg/info/base-files.list", "/usr/local", "/usr/local/bin"}
    rows, context = extra_rows(source, root, seen)
    found = {path for path, _what, _a, _kind in rows}
    assert {"/var/lib/dpkg/info/grub-pc.list", "/usr/local/bin/made-by-hand"} <= found
    assert "/srv/app/y" not in found
    p = replace(plan(Change("install-kernel", "linux-image-amd64", "kernel-pv", "a kernel for the new platform"),
                     Change("initramfs-drivers", "virtio_blk", "boot-drivers", "generic initramfs",
                            {"drivers": ["virtio_blk"], "files": ["/etc/initramfs-tools/conf.d/dib-migrate"]})),
                strategy="rootfs")
    diffs = {d.subject: d for d in differences(source, facts(), p, extra_rows=rows, extra_context=context)}
    assert diffs["/var/lib/dpkg/info/grub-pc.list extra"].rule == "kernel-pv"
    # a directory no package owns, holding only what a Change writes
    assert diffs["/etc/initramfs-tools extra"].rule == "boot-drivers"
    assert "the package database" in diffs["/var/lib/dpkg/info/grub-pc.list extra"].reason
    assert not diffs["/usr/local/bin/made-by-hand extra"].explained


def test_rootfs_explanations_need_the_rebuild(tmp_path):
    """Without an install Change, a log or bytecode is not explained by one."""
    root = _root(tmp_path)
    (root / "var/log").mkdir()
    (root / "var/log/new.log").write_text("x")
    source = _source()
    rows, context = extra_rows(source, root, {"/srv/app", "/srv/app/x"})
    diffs = {d.subject: d for d in differences(source, facts(), replace(plan(), strategy="rootfs"),
                                               extra_rows=rows, extra_context=context)}
    assert not diffs["/var/log extra"].explained


def test_an_image_without_a_dpkg_database_is_not_walked(tmp_path):
    """Ownership comes from dpkg's lists: an rpm image would show every file as extra."""
    import shutil
    root = _root(tmp_path)
    shutil.rmtree(root / "var/lib/dpkg")
    assert extra_rows(_source(), root, set())[0] == []
