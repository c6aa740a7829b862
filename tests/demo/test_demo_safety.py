"""The demo district's safety-production side, read from one load of the demo per database (a
load takes ~20 s): checklists and inspections whose failed items are hazards; a risk register at
all four levels with reviewed, rejected, pending and late reports; grid polygons holding the
demo's case points and enterprises, and a grid worker's map showing their own grid."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.auth import service as auth
from closeloop.db import make_engine, new_session
from closeloop.demo import service as demo
from closeloop.geo.locate import locate
from closeloop.maps.layers import map_layers
from closeloop.safety import risk_reports
from models.case import Case
from models.enterprise import Enterprise
from models.enums import CaseKind
from models.geo import GridGeometry
from models.inspection import Checklist, Inspection
from models.risk import RiskPoint, RiskReport
from models.user import User
from tests.conftest import _wipe

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = str(request.getfixturevalue(f"{request.param.replace('postgresql', 'pg')}_url"))
    engine = make_engine(url)
    _wipe(engine)
    demo.load_demo(engine, now=NOW)
    yield engine
    _wipe(engine)
    engine.dispose()


def test_checklists_and_inspections_whose_failed_items_are_hazards(loaded: Engine) -> None:
    with new_session(loaded) as s:
        assert len(s.exec(select(Checklist)).all()) == 3
        rows = s.exec(select(Inspection)).all()
        assert len(rows) == 5 and sum(r.unannounced for r in rows) == 3
        assert all(r.at < NOW for r in rows)
        hazards = s.exec(select(Case).where(col(Case.inspection_id).is_not(None))).all()
        assert len(hazards) == sum(r.hazards_found for r in rows) == 4
        assert all(c.kind == CaseKind.hazard and c.enterprise_code for c in hazards)
        assert {c.enterprise_code for c in hazards} == {"E-DM-001", "E-DM-002", "E-GY-002"}


def test_a_risk_register_and_its_reviews(loaded: Engine) -> None:
    with new_session(loaded) as s:
        levels = {p.level for p in s.exec(select(RiskPoint))}
        assert levels == {"major", "significant", "general", "low"}
        reports = list(s.exec(select(RiskReport)))
        states = [r.state for r in reports]
        assert states.count("approved") >= 3 and states.count("pending") >= 2
        rejected = [r for r in reports if r.state == "rejected"]
        assert len(rejected) == 1 and rejected[0].reason
        assert len([r for r in reports if risk_reports.is_overdue(r, NOW)]) == 1
        assert all(r.reviewed_at is None or r.reviewed_at <= NOW for r in reports)
        # An approved new point is on the register, linked back.
        new = [r for r in reports if r.state == "approved" and r.name == "钢瓶仓储区"]
        assert new and s.get(RiskPoint, new[0].risk_point_code or "") is not None


def test_the_cases_and_enterprises_lie_in_their_grids(loaded: Engine) -> None:
    with new_session(loaded) as s:
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
