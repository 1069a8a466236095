"""A wave of source servers on paper: reports made from the example server, each with its own
hostname and address (for dry-run fleets of any size)."""
import json
import shutil
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/debian12-web"


def wave(directory, n, targets=("kvm",)):
    """Write n reports and an inventory naming them under ``directory``; returns the inventory path."""
    directory = Path(directory)
    src = yaml.safe_load((EXAMPLE / "report.yaml").read_text())
    hosts = []
    for i in range(n):
        name = "web%03d" % i
        d = directory / name
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLE / src["overlay"]["archive"], d)
        data = json.loads(json.dumps(src))
        data["host"]["hostname"] = name
        data["host"]["fqdn"] = name + ".example.test"
        for iface in data["network"]["interfaces"]:
            if iface.get("addresses"):
                iface["addresses"] = ["10.20.%d.%d/16" % (i // 250, i % 250 + 2)]
        (d / "report.yaml").write_text(yaml.safe_dump(data))
        hosts.append({"name": name, "report": str(d / "report.yaml")})
    inv = directory / "inventory.yaml"
    inv.write_text(yaml.safe_dump({"inventory_version": 1, "defaults": {"targets": list(targets)}, "hosts": hosts}))
    return inv
