"""render: the per-host element (data only), element-deps, image.yaml; atomic writes; golden trees."""
import os
import stat

import pytest
import yaml

from dib_migrate import render as render_mod
from dib_migrate.errors import InputError
from dib_migrate.options import load_profile
from dib_migrate.render import ELEMENTS_DIR, element_name, package_installs, render, static_elements

from .helpers import FIXTURES, GOLDEN, ROOT, check_golden_tree, dib_resolve, plan_of

ARCHIVE = "overlay/archive.tar"


def rendered(example_report, target, tmp_path, **options):
    plan = plan_of(example_report, target, **options)
    out = tmp_path / "out"
    paths = render(plan, example_report, out)
    return plan, out, out / "elements" / element_name(plan), paths


def tree_files(root, out):
    """{relative path: text} of every file under root except the overlay archive, absolute paths
    replaced by placeholders; MODES lists each file's mode."""
    files, modes = {}, []
    for dirpath, dirnames, filenames in os.walk(str(root)):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, str(root))
            if rel.endswith(ARCHIVE):
                continue
            with open(path) as f:
                text = f.read()
            files[rel] = text.replace(str(out), "@OUT@").replace(str(ELEMENTS_DIR), "@ELEMENTS@") \
                .replace(str(ROOT), "@ROOT@")
            mode = stat.S_IMODE(os.stat(path).st_mode)
            modes.append("%s %s\n" % ("0755" if mode & 0o100 else "%04o" % (mode & 0o666), rel))
    files["MODES"] = "".join(sorted(modes, key=lambda line: line.split(" ", 1)[1]))
    return files


def tree_text(root, out):
    return "".join("=== %s\n%s" % kv for kv in sorted(tree_files(root, out).items()))


@pytest.mark.parametrize("name,target", [("debian12-web", "openstack"), ("centos6-xen-pv", "ec2"),
                                         ("rocky9-vmware", "azure")])
def test_golden_tree(example, tmp_path, name, target):
    old = os.umask(0o022)
    try:
        plan, out, _el, _paths = rendered(example(name), target, tmp_path)
    finally:
        os.umask(old)
    check_golden_tree(GOLDEN / "render" / ("%s-%s" % (name, target)), tree_files(out, out))


def test_layout_and_data_only(example, tmp_path):
    plan, out, el, paths = rendered(example("debian12-web"), "openstack", tmp_path)
    assert sorted(os.listdir(out)) == [".dib-migrate.json", "elements", "image.yaml", "plan.json"]
    assert sorted(os.listdir(el)) == ["README.rst", "element-deps", "migrate-data", "package-installs.yaml"]
    # data only: no hook directories (DIB takes an element's top-level *.d as phases; deeper
    # ones, like etc/udev/rules.d in the network tree, are plain data), nothing executable
    assert not [d for d in os.listdir(el) if d.endswith(".d")]
    for dirpath, dirnames, filenames in os.walk(str(el)):
        for f in filenames:
            assert not os.access(os.path.join(dirpath, f), os.X_OK), f
    assert paths[:2] == [out / "elements", ELEMENTS_DIR]


def test_data_files_contract(example, tmp_path):
    plan, out, el, _ = rendered(example("debian12-web"), "openstack", tmp_path)
    data = el / "migrate-data"

    def read(rel):
        return (data / rel).read_text()
    assert read("os/family") == "debian\n" and read("os/init") == "systemd\n"
    assert read("strategy") == "packages\n"
    assert read("identity/policy") == "keep\n" and read("growroot") == "cloud-init\n"
    enabled, disabled = read("services/enable").split(), read("services/disable").split()
    assert {"ssh", "networking", "nginx"} <= set(enabled)
    assert {"libvirtd", "netfilter-persistent", "hal", "haldaemon"} <= set(disabled)
    assert "hwclock" in read("services/mask").split()
    assert read("fstab/dropped").splitlines() == [
        "/dev/xvda1 / ext4 errors=remount-ro 0 1", "/dev/xvda2 none swap sw 0 0",
        "nas.example.com:/export/www /srv/shared nfs rw,hard,intr 0 0",
        "nas.example.com:/export/backup /backup nfs4 rw,noauto 0 0"]
    assert not (data / "fstab/append").exists()
    assert read("clock/adjtime") == "0.0 0 0.0\n0\nUTC\n"
    assert read("network/remove") == "/etc/udev/rules.d/70-persistent-net.rules\n"
    assert read("boot/cmdline") == "net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200\n"
    assert "virtio_blk" in read("boot/drivers").split()
    assert read("boot/kernel") == "yes\n"
    assert yaml.safe_load(read("cloud/cloud.cfg"))["datasource_list"][0] == "ConfigDrive"
    assert "iface eth0 inet static" in read("network/tree/etc/network/interfaces")
    assert read("overlay/mode") == "changed\n" and read("overlay/compression") == "gzip\n"
    assert "deploy 1001\n" in read("overlay/users") and "libvirt 104\n" in read("overlay/groups")
    installs = read("packages/install").split()
    assert {"nginx", "linux-image-amd64", "grub-pc", "cloud-init"} <= set(installs)
    assert (data / ARCHIVE).read_bytes() == example("debian12-web").overlay.path.read_bytes()
    assert yaml.safe_load(read("plan.json")) == plan.to_dict()


def test_every_list_item_is_one_line(example, tmp_path):
    _plan, _out, el, _ = rendered(example("rocky9-vmware"), "azure", tmp_path)
    data = el / "migrate-data"
    for rel in ("services/enable", "services/disable", "packages/install", "packages/remove", "boot/drivers"):
        for line in (data / rel).read_text().splitlines():
            assert line and " " not in line, (rel, line)
    assert (data / "packages/remove").read_text() == "open-vm-tools\n"
    assert (data / "selinux/relabel").read_text() == "yes\n"
    assert "ResourceDisk.EnableSwap=n\n" in (data / "cloud/waagent").read_text()
    assert "LABEL=archive /archive xfs defaults,noatime,nofail 0 0\n" == (data / "fstab/append").read_text()


def test_element_deps_exist(example, tmp_path):
    for name, target in (("debian12-web", "openstack"), ("centos6-xen-pv", "ec2"),
                         ("rocky9-vmware", "azure"), ("ubuntu2204-netplan", "kvm")):
        _plan, out, el, _ = rendered(example(name), target, tmp_path / name)
        deps = (el / "element-deps").read_text().split()
        assert deps and len(deps) == len(set(deps))
        for dep in deps:
            assert (ELEMENTS_DIR / dep).is_dir(), "element-deps names %s, missing from elements/" % dep


def test_element_deps_follow_the_plan(example):
    assert "migrate-kernel" in static_elements(plan_of(example("debian12-web")))
    assert "migrate-kernel" not in static_elements(plan_of(example("rocky9-vmware")))
    assert "migrate-selinux" in static_elements(plan_of(example("rocky9-vmware")))
    assert "migrate-overlay" not in static_elements(plan_of(example("rocky9-vmware")))
    for target, cloud in (("openstack", "migrate-cloud-openstack"), ("ec2", "migrate-cloud-ec2"),
                          ("azure", "migrate-cloud-azure"), ("kvm", "migrate-cloud-kvm")):
        assert cloud in static_elements(plan_of(example("debian12-web"), target))


def test_dib_resolves_the_element_set(example, tmp_path):
    pytest.importorskip("diskimage_builder.element_dependencies")
    for name, target in (("debian12-web", "kvm"), ("debian12-web", "openstack"), ("rocky9-vmware", "azure")):
        plan, out, el, paths = rendered(example(name), target, tmp_path / name / target)
        names = dib_resolve(list(plan.build.elements) + [element_name(plan)], paths)
        assert {element_name(plan), "migrate-network", "migrate-services", plan.build.elements[0]} <= names


def test_package_installs_pinned(example):
    deb = package_installs(plan_of(example("debian12-web"), pin_versions=True))
    assert "nginx=1.22.1-9+deb12u9" in deb and deb["linux-image-amd64"] is None
    rh = package_installs(plan_of(example("centos6-xen-pv"), pin_versions=True))
    assert "mysql-server-5.1.73-8.el6_8" in rh and rh["kernel-xen"] == {"uninstall": True}
    assert "nginx" in package_installs(plan_of(example("debian12-web")))


def test_image_definition(example, tmp_path):
    plan, out, el, paths = rendered(example("debian12-web"), "kvm", tmp_path)
    (image,) = yaml.safe_load((out / "image.yaml").read_text())
    assert image["elements"] == ["debian-minimal", "vm", "migrate-host-web01"]
    assert image["types"] == ["qcow2"] and image["arch"] == "amd64"
    elements_path = image["environment"]["ELEMENTS_PATH"].split(os.pathsep)
    assert elements_path[:2] == [str(out / "elements"), str(ELEMENTS_DIR)]
    assert image["environment"]["DIB_RELEASE"] == "bookworm"
    assert image["imagename"] == str(out / "web01-kvm")


def test_extra_elements_path(example, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    plan = plan_of(example("debian12-web"), "kvm", extra_elements=("site-ca",))
    paths = render(plan, example("debian12-web"), tmp_path / "out", extra_paths=[str(site)])
    assert paths[-1] == site
    (image,) = yaml.safe_load((tmp_path / "out" / "image.yaml").read_text())
    assert "site-ca" in image["elements"] and str(site) in image["environment"]["ELEMENTS_PATH"]


def test_firstboot_files_and_modes(example, tmp_path):
    profile = load_profile(FIXTURES / "profiles" / "web01-readdress.yaml")
    _plan, _out, el, _ = rendered(example("debian12-web"), "kvm", tmp_path, profile=profile)
    fb = el / "migrate-data" / "firstboot"
    script = fb / "scripts" / "10-register"
    assert os.access(script, os.X_OK) and script.read_text().startswith("#!/bin/sh")
    assert (fb / "keyboard").read_text() == "de\n" and (fb / "timezone").read_text() == "Europe/Berlin\n"
    assert (fb / "root-password-hash").read_text() == profile.root_password_hash + "\n"
    assert "address 10.1.2.10/24" in (fb / "network/tree/etc/network/interfaces").read_text()
    assert "10.1.2.10\tweb01" in (el / "migrate-data/network/tree/etc/hosts").read_text()
    assert "migrate-firstboot" in (el / "element-deps").read_text().split()


def test_nmconnection_mode(example, tmp_path):
    _plan, _out, el, _ = rendered(example("rocky9-vmware"), "kvm", tmp_path)
    nm = el / "migrate-data/network/tree/etc/NetworkManager/system-connections/ens192.nmconnection"
    assert stat.S_IMODE(nm.stat().st_mode) == 0o600


# --- atomicity -------------------------------------------------------------------------------

def leftovers(parent, name="out"):
    return [p for p in os.listdir(str(parent)) if p.startswith(".%s." % name)]


def test_failure_mid_render_leaves_nothing(example, tmp_path, monkeypatch):
    def boom(plan):
        raise RuntimeError("disk full")
    monkeypatch.setattr(render_mod, "package_installs", boom)
    plan = plan_of(example("debian12-web"))
    with pytest.raises(RuntimeError):
        render(plan, example("debian12-web"), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_failure_mid_render_keeps_previous_output(example, tmp_path, monkeypatch):
    plan = plan_of(example("debian12-web"))
    render(plan, example("debian12-web"), tmp_path / "out")
    before = tree_text(tmp_path / "out", tmp_path / "out")
    calls = {"n": 0}
    real = type(tmp_path).write_text

    def flaky(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(self, *a, **kw)
    monkeypatch.setattr(type(tmp_path), "write_text", flaky)
    with pytest.raises(OSError):
        render(plan_of(example("debian12-web"), "kvm", firewall=True), example("debian12-web"), tmp_path / "out")
    monkeypatch.undo()
    assert tree_text(tmp_path / "out", tmp_path / "out") == before
    assert leftovers(tmp_path) == []


def test_rerender_replaces_old_content(example, tmp_path):
    out = tmp_path / "out"
    render(plan_of(example("debian12-web"), "openstack"), example("debian12-web"), out)
    data = out / "elements" / "migrate-host-web01" / "migrate-data"
    (data / "stale").write_text("from the previous render\n")
    render(plan_of(example("debian12-web"), "openstack", firewall=True), example("debian12-web"), out)
    assert not (data / "stale").exists()
    assert leftovers(tmp_path) == []


def test_other_targets_element_set_is_not_replaced(example, tmp_path):
    out = tmp_path / "out"
    render(plan_of(example("debian12-web"), "openstack"), example("debian12-web"), out)
    before = tree_text(out, out)
    with pytest.raises(InputError, match="target openstack"):
        render(plan_of(example("debian12-web"), "kvm"), example("debian12-web"), out)
    assert tree_text(out, out) == before and leftovers(tmp_path) == []
