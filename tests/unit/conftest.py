"""Fixtures of the driver's unit tests (helpers are in helpers.py)."""
import shutil

import pytest
from dib_migrate.report import load_report

from .helpers import dump_yaml, source_data, source_path


@pytest.fixture(scope="session")
def example():
    """example(name) -> the loaded Report of a shipped example or fixture report (cached)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = load_report(source_path(name))
        return cache[name]
    return get


@pytest.fixture
def derive(tmp_path):
    """derive(base, mutate=None, overlay=False) -> Report written under tmp_path and loaded.

    ``mutate(data)`` edits the parsed YAML of ``base`` in place. With overlay=False the
    report carries no overlay; with overlay=True the base's archive is copied beside it.
    """
    counter = [0]

    def make(base="debian12-web", mutate=None, overlay=False, load=True):
        data = source_data(base)
        counter[0] += 1
        d = tmp_path / ("report%d" % counter[0])
        d.mkdir()
        if overlay and data.get("overlay"):
            shutil.copy(source_path(base).parent / data["overlay"]["archive"], d)
        else:
            data["overlay"] = None
        if mutate:
            mutate(data)
        path = d / "report.yaml"
        path.write_text(dump_yaml(data))
        return load_report(path) if load else path
    return make
