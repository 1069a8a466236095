"""The cloud elements' hooks on a real Debian 12 root: they apply the Plan's data and add
no decision of their own (datasources, agent keys)."""
import shutil

import pytest
import yaml

from .hookrun import EXAMPLES, Chroot, Hooks, debian_root, have_debootstrap, render_data

pytestmark = [pytest.mark.rootfs,
              pytest.mark.skipif(not have_debootstrap(), reason="needs root and debootstrap")]
FIXTURES = EXAMPLES.parent / "tests/elements/fixtures"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return debian_root(tmp_path_factory.mktemp("cloud") / "root")


def _run(root, tmp_path, target, hook):
    data = render_data(EXAMPLES / "debian12-web/report.yaml", target, tmp_path / "render")
    hooks = Hooks(root, data)
    with Chroot(root):
        res = hooks.run("post-install.d", hook)
    shutil.rmtree(hooks.dir)
    return data, res


def test_azure_agent_gets_exactly_the_plans_keys(root, tmp_path):
    shutil.copy(FIXTURES / "waagent.conf", root / "etc/waagent.conf")
    (root / "etc/cloud/cloud.cfg.d").mkdir(parents=True, exist_ok=True)
    data, res = _run(root, tmp_path, "azure", "72-migrate-cloud-azure")
    conf = dict(ln.split("=", 1) for ln in (root / "etc/waagent.conf").read_text().splitlines()
                if not ln.startswith("#"))
    planned = dict(ln.split("=", 1) for ln in (data / "cloud/waagent").read_text().splitlines())
    assert planned["ResourceDisk.EnableSwap"] == "n"
    assert {k: conf[k] for k in planned} == planned
    # what the Plan does not name stays as the package shipped it
    assert conf["Provisioning.Enabled"] == "y" and conf["ResourceDisk.SwapSizeMB"] == "0"
    assert "migrate-cloud-azure: ResourceDisk.EnableSwap=n" in res.stdout


def test_azure_hook_fails_without_the_plans_settings(root, tmp_path):
    shutil.copy(FIXTURES / "waagent.conf", root / "etc/waagent.conf")
    data = render_data(EXAMPLES / "debian12-web/report.yaml", "azure", tmp_path / "render")
    (data / "cloud/waagent").unlink()
    hooks = Hooks(root, data)
    with Chroot(root):
        res = hooks.run("post-install.d", "72-migrate-cloud-azure", check=False)
    shutil.rmtree(hooks.dir)
    assert res.returncode != 0 and "cloud/waagent" in res.stderr
    assert (root / "etc/waagent.conf").read_text() == (FIXTURES / "waagent.conf").read_text()


def test_openstack_datasources_are_the_plans(root, tmp_path):
    cfg = root / "etc/cloud/cloud.cfg.d"
    shutil.rmtree(cfg, ignore_errors=True)
    cfg.mkdir(parents=True)
    data, _res = _run(root, tmp_path, "openstack", "70-migrate-cloud-openstack")
    assert sorted(p.name for p in cfg.iterdir()) == ["91-dib-migrate.cfg"]
    assert (cfg / "91-dib-migrate.cfg").read_text() == (data / "cloud/cloud.cfg").read_text()
    assert yaml.safe_load((cfg / "91-dib-migrate.cfg").read_text())["datasource_list"] == \
        ["ConfigDrive", "OpenStack", "None"]


@pytest.mark.parametrize("planned", [True, False])
def test_kvm_gives_a_carried_cloud_init_the_plans_settings(root, tmp_path, planned):
    """The trixie rootfs cell on kvm: the source's cloud-init came along, the Plan had its settings, and no
    element wrote them (verify: 91-dib-migrate.cfg missing)."""
    cfg = root / "etc/cloud/cloud.cfg.d"
    shutil.rmtree(cfg, ignore_errors=True)
    cfg.mkdir(parents=True)
    data = tmp_path / "data"
    (data / "cloud").mkdir(parents=True)
    text = "# written by dib-migrate\npreserve_hostname: true\nssh_deletekeys: false\n"
    if planned:
        (data / "cloud/cloud.cfg").write_text(text)
    hooks = Hooks(root, data)
    with Chroot(root):
        res = hooks.run("post-install.d", "73-migrate-cloud-kvm")
    shutil.rmtree(hooks.dir)
    if planned:
        assert (cfg / "91-dib-migrate.cfg").read_text() == text
    else:
        assert not list(cfg.iterdir()) and "nothing to do" in res.stdout
