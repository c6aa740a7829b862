"""The demo district's grid polygons: one per grid, none overlapping, holding the demo's case
points and enterprises."""

import itertools
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.db import new_session
from closeloop.demo import data as D
from closeloop.demo import service as demo
from closeloop.demo.geometry import collection, grid_box
from closeloop.geo.locate import locate
from closeloop.maps.layers import map_layers
from models.case import Case
from models.enterprise import Enterprise
from models.geo import GridGeometry
from models.user import User

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)


def test_the_demo_grids_do_not_overlap() -> None:
    grids = D.grids()
    assert len(collection()["features"]) == len(grids) == 14
    for a, b in itertools.combinations(grids, 2):
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = grid_box(a), grid_box(b)
        overlap = min(ax1, bx1) - max(ax0, bx0) > 1e-9 and min(ay1, by1) - max(ay0, by0) > 1e-9
        assert not overlap, (a.code, b.code)


def test_the_demo_cases_and_enterprises_lie_in_their_grids(engine: Engine) -> None:
    from closeloop.auth import service as auth

    demo.load_demo(engine, now=NOW)
    with new_session(engine) as s:
        assert len(s.exec(select(GridGeometry)).all()) == 14
        cases = s.exec(select(Case).where(col(Case.lat).is_not(None))).all()
        assert len(cases) > 100
        wrong = [c.number for c in cases if locate(s, lat=c.lat, lon=c.lon) != c.grid_code]
        assert wrong == []
        places = s.exec(select(Enterprise).where(col(Enterprise.lat).is_not(None))).all()
        assert places
        assert [e.code for e in places if locate(s, lat=e.lat, lon=e.lon) != e.grid_code] == []
        worker = s.exec(select(User).where(User.username == "lh-wg01")).one()
        out = map_layers(s, actor=auth.principal_of(s, worker), now=NOW, layers=["grids"])
        assert [f["properties"]["code"] for f in out["layers"]["grids"]["features"]] == [
            worker.region_code
        ]
