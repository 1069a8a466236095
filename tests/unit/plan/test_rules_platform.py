"""cloud-config (openstack), azure agent settings, identity keep/reset, selinux-relabel, growroot,
pkg-whitebox."""
import pytest
import yaml

from dib_migrate.options import load_profile

from ..helpers import FIXTURES, plan_of


def cloud_cfg(plan):
    c = plan.find("cloud-config", "/etc/cloud/cloud.cfg.d/91-dib-migrate.cfg")
    return c, yaml.safe_load(c.data["content"])


def test_cloud_init_config_on_openstack(example):
    c, cfg = cloud_cfg(plan_of(example("debian12-web"), "openstack"))
    assert c.rule == "pkg-cloud-init" and c.data["content"].startswith("# written by dib-migrate\n")
    assert cfg["datasource_list"][:2] == ["ConfigDrive", "OpenStack"]
    assert cfg["network"] == {"config": "disabled"} and cfg["users"] == []
    assert cfg["preserve_hostname"] is True and cfg["ssh_deletekeys"] is False


def test_cloud_init_leaves_the_carried_locale(example):
    """bullseye-openstack: cloud-init 20.4's locale module ran update-locale LANG=en_US.UTF-8 (its distro default,
    never generated in the image) over the server's carried /etc/default/locale: cloud-config.service failed."""
    for identity in ("keep", "reset"):
        c, cfg = cloud_cfg(plan_of(example("debian12-web"), "openstack", identity=identity))
        assert cfg["locale"] is False and "locale" in c.reason


def test_cloud_init_config_reset_identity(example):
    _c, cfg = cloud_cfg(plan_of(example("debian12-web"), "openstack", identity="reset"))
    assert cfg["preserve_hostname"] is False and cfg["ssh_deletekeys"] is True


@pytest.mark.parametrize("target", ["ec2", "azure", "kvm"])
def test_no_cloud_config_elsewhere(example, target):
    assert not plan_of(example("debian12-web"), target).by_action("cloud-config")


@pytest.mark.parametrize("target", ["openstack", "ec2", "azure", "kvm"])
def test_identity_keep_stops_cloud_init_on_every_target(derive, target):
    """A source that runs cloud-init keeps it; first boot must not rename the host, regenerate host
    keys, rewrite the network or add the metadata's keypair to root's authorized_keys."""
    def m(d):
        d["packages"].append({"name": "cloud-init", "version": "22.4.2-1", "arch": "all"})
    c, cfg = cloud_cfg(plan_of(derive("debian12-web", m), target))
    assert cfg["preserve_hostname"] is True and cfg["ssh_deletekeys"] is False and cfg["ssh_genkeytypes"] == []
    assert cfg["network"] == {"config": "disabled"} and cfg["allow_public_ssh_keys"] is False
    assert cfg["manage_etc_hosts"] is False
    assert "hostname, SSH host keys, network configuration, locale or authorized_keys" in c.reason


@pytest.mark.parametrize("target,datasources,settings", [
    ("openstack", ["ConfigDrive", "OpenStack", "None"], None),
    ("ec2", ["Ec2", "None"], {"Ec2": {"strict_id": False}}),
    ("azure", ["Azure"], None),
    ("kvm", None, None),
])
def test_the_plan_decides_the_datasources(derive, target, datasources, settings):
    """The hooks only install the Plan's file (91-, after Debian's 90_dpkg.cfg whose list would win)."""
    def m(d):
        d["packages"].append({"name": "cloud-init", "version": "22.4.2-1", "arch": "all"})
    _c, cfg = cloud_cfg(plan_of(derive("debian12-web", m), target))
    assert cfg.get("datasource_list") == datasources and cfg.get("datasource") == settings


def test_identity_reset_lets_cloud_init_provision(example):
    c, cfg = cloud_cfg(plan_of(example("debian12-web"), "openstack", identity="reset"))
    assert cfg["allow_public_ssh_keys"] is True and "ssh_genkeytypes" not in cfg
    assert "regenerates the SSH host keys" in c.reason


@pytest.mark.parametrize("identity,regen,agent", [("keep", "n", "disabled"), ("reset", "y", "waagent")])
def test_azure_agent_settings(example, identity, regen, agent):
    c = plan_of(example("debian12-web"), "azure", identity=identity).find("agent-config", "/etc/waagent.conf")
    assert c.rule == "pkg-azure-agent"
    assert c.data["settings"] == {"ResourceDisk.EnableSwap": "n", "ResourceDisk.Format": "y",
                                  "Provisioning.DeleteRootPassword": "n",
                                  "Provisioning.RegenerateSshHostKeyPair": regen,
                                  "Provisioning.Agent": agent}


def test_azure_provisioning_agent_is_one_the_image_has(derive):
    """Debian's waagent.conf says Provisioning.Agent=cloud-init: in an image without cloud-init
    nothing would provision or report ready (issue 13, the matrix's bookworm-azure cell). A kept
    identity is a specialised disk (nothing to provision: "disabled" still reports ready); a reset
    one is provisioned by the agent itself; a carried cloud-init provisions where it is there."""
    r = derive("debian12-web", lambda d: d["packages"].append({"name": "cloud-init", "version": "22.4.2-1",
                                                              "arch": "all"}))
    for identity in ("keep", "reset"):
        c = plan_of(r, "azure", identity=identity).find("agent-config", "/etc/waagent.conf")
        assert c.data["settings"]["Provisioning.Agent"] == "cloud-init"


def test_identity_keep_is_default(example):
    (c,) = plan_of(example("debian12-web")).by_rule("identity")
    assert (c.action, c.subject) == ("identity", "keep")
    assert c.data == {"machine_id": "keep", "ssh_host_keys": "keep", "cloud_init_state": "keep"}
    assert plan_of(example("debian12-web")).identity == "keep"


def test_identity_reset(example):
    plan = plan_of(example("debian12-web"), identity="reset")
    (c,) = plan.by_rule("identity")
    assert c.subject == "reset" and plan.identity == "reset"
    assert c.data == {"machine_id": "reset", "ssh_host_keys": "reset", "cloud_init_state": "clean"}
    assert "regenerated at first boot" in c.reason


@pytest.mark.parametrize("state,relabel", [("enforcing", True), ("permissive", True), ("disabled", False),
                                           ("absent", False)])
def test_selinux_relabel(derive, state, relabel):
    plan = plan_of(derive("rocky9-vmware", lambda d: d.update(selinux=state)))
    changes = plan.by_rule("selinux-relabel")
    assert bool(changes) == relabel
    if relabel:
        assert changes[0].action == "selinux-relabel" and changes[0].subject == "/.autorelabel"
        assert state in changes[0].reason


def test_selinux_fixture(example):
    assert plan_of(example("rocky9-vmware")).by_rule("selinux-relabel")
    assert not plan_of(example("debian12-web")).by_rule("selinux-relabel")


@pytest.mark.parametrize("target,method", [("openstack", "cloud-init"), ("ec2", "growroot"),
                                           ("azure", "growroot"), ("kvm", "growroot")])
def test_growroot(example, target, method):
    plan = plan_of(example("debian12-web"), target)
    (c,) = plan.by_action("growroot")
    assert c.rule == "growroot" and c.subject == "/" and c.data["method"] == method
    assert c.data["packages"] == ["cloud-guest-utils"]


def test_growroot_package_installed_unless_present(example, derive):
    def has(plan):
        return [c.subject for c in plan.by_action("install-package") if c.rule == "growroot"]
    assert has(plan_of(example("centos6-xen-pv"))) == ["cloud-utils-growpart"]
    r = derive("centos6-xen-pv", lambda d: d["packages"].append({"name": "cloud-utils-growpart"}))
    assert has(plan_of(r)) == []


def test_whitebox_firstboot(example):
    profile = load_profile(FIXTURES / "profiles" / "web01-readdress.yaml")
    (c,) = plan_of(example("debian12-web"), "openstack", profile=profile).by_rule("pkg-whitebox")
    assert c.action == "firstboot" and c.subject == "dib-migrate-firstboot"
    assert c.data == {"root_password_hash": profile.root_password_hash, "keyboard": "de",
                      "timezone": "Europe/Berlin", "nics": ["eth0"],
                      "boot_scripts": [{"name": "10-register",
                                        "content": "#!/bin/sh\nlogger \"web01 migrated\"\n"}]}
    assert "web01-readdress.yaml" in c.reason and "once" in c.reason


def test_whitebox_empty_profile(example, tmp_path):
    p = tmp_path / "empty.yaml"
    p.write_text("{}\n")
    (c,) = plan_of(example("debian12-web"), profile=load_profile(p)).by_rule("pkg-whitebox")
    assert "applies nothing" in c.reason
