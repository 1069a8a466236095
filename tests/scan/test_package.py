"""Every module of dib_migrate.scan can run on an old source server: it parses as Python 3.6,
imports only the standard library, and reaches its siblings by relative imports that stay
inside the package (so it also runs from the zipapp, where the package has another name)."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import dib_migrate.scan

PACKAGE = Path(dib_migrate.scan.__file__).resolve().parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
# standard library modules that appeared after Python 3.6
NEWER = {"dataclasses", "contextvars", "graphlib", "zoneinfo", "tomllib", "importlib.metadata",
         "importlib.resources"}


def imports(tree):
    """(module name, level, line) of every import in ``tree``, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0, node.lineno
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level, node.lineno
            if node.module == "__future__":
                for alias in node.names:
                    yield "__future__." + alias.name, 0, node.lineno


def test_the_package_is_split_into_small_modules():
    assert len(MODULES) > 20
    for path in MODULES:
        assert len(path.read_text().splitlines()) <= 300, path


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_python36_and_stdlib_only(path):
    tree = ast.parse(path.read_text(), str(path), feature_version=(3, 6))
    depth = len(path.relative_to(PACKAGE).parts) - 1       # 0 for modules at the package's top
    for name, level, line in imports(tree):
        where = "%s:%d" % (path.relative_to(PACKAGE), line)
        if level:
            assert level <= depth + 1, "%s: relative import leaves the package" % where
            continue
        assert name.split(".")[0] in sys.stdlib_module_names, "%s: %s is not in the standard library" % (
            where, name)
        assert name not in NEWER and name.split(".")[0] not in NEWER, "%s: %s is newer than 3.6" % (where, name)
        assert name != "__future__.annotations", "%s: postponed annotations need 3.7" % where


def test_a_newer_construct_is_caught():
    with pytest.raises(SyntaxError):
        ast.parse("if (n := 1):\n    pass\n", feature_version=(3, 6))
    with pytest.raises(SyntaxError):
        ast.parse("def f(a, /):\n    pass\n", feature_version=(3, 6))


def test_python_m_dib_migrate_scan_is_the_scanner_cli():
    for module in ("dib_migrate.scan", "dib_migrate.scan.scanner"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, check=True)
        assert out.stdout.startswith("usage: dib-migrate scan"), module
        assert out.stderr == ""
