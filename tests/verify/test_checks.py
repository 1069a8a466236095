"""Checks against a plain directory standing in for the mounted image (no root needed)."""
from types import SimpleNamespace

import pytest

from dib_migrate.network_files import network_files
from dib_migrate.plan.model import Change
from dib_migrate.verify import checks


def _ctx(root, plan=None):
    return checks.Ctx(SimpleNamespace(root=str(root), root_uuid=None), plan)


@pytest.mark.parametrize("manager,scanned", [
    ("ifupdown", "/root/old-interfaces"),          # outside /etc/network: render writes the default file
    ("network-scripts", "/etc/sysconfig/network-scripts/ifcfg-eth0"),
    ("NetworkManager", "/var/tmp/eth0.nmconnection"),
])
def test_set_network_reads_the_file_render_wrote(tmp_path, manager, scanned):
    c = Change("set-network", "eth0", "net-static", "r",
               {"mode": "static", "addresses": ["192.0.2.10/24"], "gateway": "192.0.2.1", "dns": [],
                "manager": manager, "file": scanned})
    plan = SimpleNamespace(by_action=lambda a: [c] if a == "set-network" else [])
    for path, content in network_files(plan).items():
        (tmp_path / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.lstrip("/")).write_text(content)
    ok, detail = checks.CHECKS["set-network"](_ctx(tmp_path), c)
    assert ok, detail
