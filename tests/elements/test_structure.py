"""The elements follow diskimage-builder's conventions (issue 3, "How it is proven")."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .hookrun import ELEMENTS, REPO

PHASES = ("root.d", "extra-data.d", "pre-install.d", "install.d", "post-install.d", "post-root.d",
          "block-device.d", "pre-finalise.d", "finalise.d", "cleanup.d")
ELEMENT_NAMES = sorted(p.name for p in ELEMENTS.iterdir() if p.is_dir())
HEADER = ("#!/bin/bash\nif [ ${DIB_DEBUG_TRACE:-0} -gt 0 ]; then\n    set -x\nfi\nset -eu\n"
          "set -o pipefail\n")


def hooks():
    for el in ELEMENT_NAMES:
        for phase in PHASES:
            d = ELEMENTS / el / phase
            if d.is_dir():
                for h in sorted(d.iterdir()):
                    yield el, phase, h


def _bin(name):
    return str(Path(sys.executable).parent / name)


def test_dib_lint_passes():
    env = dict(os.environ, ELEMENTS_DIR="elements", LIB_DIR="elements",
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    res = subprocess.run([_bin("dib-lint")], cwd=REPO, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert res.stdout.rstrip().endswith("PASS")


def test_expected_elements_exist():
    for name in ("migrate-base", "migrate-overlay", "migrate-rootfs", "migrate-network", "migrate-fstab",
                 "migrate-clock", "migrate-services", "migrate-kernel", "migrate-bootloader",
                 "migrate-cloud-openstack", "migrate-cloud-ec2", "migrate-cloud-azure",
                 "migrate-firstboot", "migrate-identity", "migrate-selinux", "migrate-growroot"):
        assert name in ELEMENT_NAMES


@pytest.mark.parametrize("element", ELEMENT_NAMES)
def test_readme_and_deps(element):
    d = ELEMENTS / element
    assert (d / "README.rst").read_text().startswith(element + "\n" + "=" * len(element))
    if element != "migrate-base":
        assert "migrate-base" in (d / "element-deps").read_text().split()
    if (d / "package-installs.yaml").exists():
        assert "package-installs" in (d / "element-deps").read_text().split()


def test_hook_names_unique_short_and_standard():
    seen = {}
    for el, phase, hook in hooks():
        m = re.fullmatch(r"(\d\d)-([a-z0-9-]+)", hook.name)
        assert m, hook
        assert 10 <= int(m.group(1)) <= 90, hook
        assert hook.name not in seen, "%s in %s and %s" % (hook.name, el, seen[hook.name])
        seen[hook.name] = el
        text = hook.read_text()
        assert text.startswith(HEADER), hook
        assert os.access(hook, os.X_OK), hook
        # data is read, never executed
        assert not re.search(r"^\s*(eval|source|\.)\s", text, re.M), hook
    assert len(seen) >= 16


# DIB's own hooks are about a screenful (growroot's is 25 lines): longer logic goes into a
# migrate-lib/ helper or a hook of its own
MAX_HOOK_LINES = 40


def test_hooks_are_short():
    lines = {hook.name: len(hook.read_text().splitlines()) for _el, _phase, hook in hooks()}
    long = {name: n for name, n in lines.items() if n > MAX_HOOK_LINES}
    assert not long, "hooks over %d lines: %s" % (MAX_HOOK_LINES, long)


@pytest.mark.parametrize("element", ELEMENT_NAMES)
def test_readme_names_every_hook_and_helper(element):
    d = ELEMENTS / element
    readme = (d / "README.rst").read_text()
    for _el, phase, hook in hooks():
        if _el == element:
            assert "%s/%s" % (phase, hook.name) in readme, "%s/README.rst lacks %s/%s" % (element, phase, hook.name)
    # and the table of every element's hooks in migrate-base's
    table = (ELEMENTS / "migrate-base/README.rst").read_text().splitlines()
    for _el, phase, hook in hooks():
        if _el == element:
            assert [phase, hook.name, element] in [ln.split() for ln in table], hook
    if (d / "migrate-lib").is_dir():
        for helper in sorted((d / "migrate-lib").iterdir()):
            assert helper.name in readme, "%s/README.rst lacks migrate-lib/%s" % (element, helper.name)


def test_every_hook_reads_data_beside_itself():
    for _el, _phase, hook in hooks():
        text = hook.read_text()
        if "/migrate-data" in text:
            assert '$(dirname "$0")/..' in text, hook
            assert "TMP_HOOKS_PATH:-" not in text, hook


def test_dependencies_resolve_with_dib():
    from diskimage_builder import element_dependencies as ed
    dib_dir = Path(ed.__file__).parent / "elements"
    paths = [str(ELEMENTS), str(dib_dir)]
    for el in ELEMENT_NAMES:
        # every build needs an operating-system provider; migrate-rootfs is one itself
        wanted = [el] if el == "migrate-rootfs" else [el, "debian-minimal"]
        expanded = {name for name, _path in ed.get_elements(wanted, ":".join(paths))}
        assert el in expanded and "migrate-base" in expanded
    # the driver's pairing for the rootfs strategy: migrate-rootfs is the operating-system
    expanded = {name for name, _path in ed.get_elements(["migrate-rootfs", "dpkg"], ":".join(paths))}
    assert {"migrate-rootfs", "migrate-overlay", "dpkg", "package-installs"} <= expanded
    env = dict(os.environ, ELEMENTS_PATH=os.pathsep.join(paths))
    # what DIB's lib/element-info.py (the `element-info` command) runs
    cmd = "import sys; from diskimage_builder.element_dependencies import main; sys.exit(main())"
    res = subprocess.run([sys.executable, "-c", cmd] + ELEMENT_NAMES,
                         env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_tarcheck_is_flake8_clean():
    res = subprocess.run([_bin("flake8"), "--max-line-length=110",
                          str(ELEMENTS / "migrate-overlay/migrate-lib/tarcheck.py")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


def _scripts():
    for f in sorted(ELEMENTS.glob("*/*/*")) + sorted(ELEMENTS.glob("*/*/*/*")):
        if f.is_file() and f.suffix != ".rst" and f.parent.name != "migrate-data":
            yield f


def test_no_hook_or_script_tests_the_family():
    """What differs between families arrives as migrate-data/family/ data (dib_migrate/distros)."""
    for f in _scripts():
        text = f.read_text()
        assert "os/family" not in text, f
        assert not re.search(r"\b(debian|redhat|suse|rhel|centos|ubuntu|sles)\b", text, re.I), f


def test_package_names_have_one_source():
    """Package names come from dib_migrate/distros only, through the per-host element's generated
    package-installs.yaml: no static element has a pkg-map or a package list to disagree with them."""
    for el in ELEMENT_NAMES:
        assert not (ELEMENTS / el / "pkg-map").exists(), el
        assert not (ELEMENTS / el / "package-installs.yaml").exists(), el
    assert "package-installs" in (ELEMENTS / "migrate-base/element-deps").read_text().split()


def test_units_are_real_files_installed_by_their_hooks():
    units = sorted(ELEMENTS.glob("*/migrate-units/*/*"))
    assert {u.name for u in units} >= {"dib-migrate-firstboot-early.service", "dib-migrate-firstboot-late.service",
                                       "dib-migrate-growroot.service", "dib-migrate-growroot.conf",
                                       "dib-migrate-ssh-keygen.service"}
    hooks_text = "".join(h.read_text() for _el, _phase, h in hooks())
    for u in units:
        assert "[Unit]" in u.read_text() or u.suffix == ".conf"
        name = u.name.replace("-early", "-$stage").replace("-late", "-$stage")
        assert "migrate-units/%s/%s" % (u.parent.name, name) in hooks_text, u
    # no unit written from a heredoc any more
    assert "<<UNIT" not in hooks_text and "<<'UNIT'" not in hooks_text
