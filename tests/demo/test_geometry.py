"""The demo district's grid polygons: one per grid, none overlapping, holding the demo's case
points and enterprises."""

import itertools
from datetime import UTC, datetime

from closeloop.demo import data as D
from closeloop.demo.geometry import collection, grid_box

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)


def test_the_demo_grids_do_not_overlap() -> None:
    grids = D.grids()
    assert len(collection()["features"]) == len(grids) == 14
    for a, b in itertools.combinations(grids, 2):
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = grid_box(a), grid_box(b)
        overlap = min(ax1, bx1) - max(ax0, bx0) > 1e-9 and min(ay1, by1) - max(ay0, by0) > 1e-9
        assert not overlap, (a.code, b.code)
