"""compare's text output: one row per difference, whatever shape the values have."""
from dib_migrate.compare.cli import format_row
from dib_migrate.compare.diff import Difference


def test_a_route_list_is_printed_not_a_crash():
    # network routes are a list of dicts: the text format crashed on them (TypeError)
    d = Difference("network", "bond0.100.routes", [{"to": "172.16.50.0/24", "via": "192.168.100.1"}], None)
    assert format_row(d) == "UNEXPLAINED network  bond0.100.routes: to=172.16.50.0/24 via=192.168.100.1 -> -"


def test_a_long_value_is_shortened():
    d = Difference("packages", "x", ["p%d" % i for i in range(40)], "1.0", "pkg-rebuild", "why")
    row = format_row(d)
    assert "p0 p1 p2" in row and "..." in row and row.endswith("[pkg-rebuild] why")
