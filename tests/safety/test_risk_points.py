"""Risk points: kept by admins, dispatchers and supervisors within their region; read within
jurisdiction; street and region path copied from the enterprise."""

import pytest
from sqlmodel import Session

from closeloop.errors import Conflict, Forbidden, Invalid
from closeloop.safety import risk_points
from models.enums import RiskLevel
from models.risk import RiskPointCreate, RiskPointUpdate
from tests.factories import NOW, Org
from tests.safety.risk_factories import add_enterprise


def point(
    code: str = "P1", ent: str = "E1", level: str = "general", **kw: object
) -> RiskPointCreate:
    return RiskPointCreate(code=code, enterprise_code=ent, name=f"{code} 配电房", level=level, **kw)  # type: ignore[arg-type]


@pytest.fixture
def ents(session: Session, org: Org) -> None:
    add_enterprise(session, "E1", "G1")
    add_enterprise(session, "E3", "G3")


def test_create_copies_place_and_checks_refs(session: Session, org: Org, ents: None) -> None:
    row = risk_points.create_point(
        session, actor=org["disp"], data=point(unit_code="ZJ", measures="每日巡查"), now=NOW
    )
    assert (row.street_code, row.region_path) == ("S1", "/D1/S1/C1/G1/")
    with pytest.raises(Conflict):
        risk_points.create_point(session, actor=org["disp"], data=point(), now=NOW)
    with pytest.raises(Invalid, match="NOPE"):
        risk_points.create_point(session, actor=org["disp"], data=point("P2", "NOPE"), now=NOW)
    with pytest.raises(Invalid, match="unit_code"):
        risk_points.create_point(
            session, actor=org["disp"], data=point("P2", unit_code="XX"), now=NOW
        )


def test_roles_and_jurisdiction(session: Session, org: Org, ents: None) -> None:
    with pytest.raises(Forbidden):
        risk_points.create_point(session, actor=org["rep1"], data=point(), now=NOW)
    with pytest.raises(Forbidden):  # E1 lies in street S1, sup_s2 keeps S2
        risk_points.create_point(session, actor=org["sup_s2"], data=point(), now=NOW)
    risk_points.create_point(session, actor=org["admin"], data=point(unit_code="SW"), now=NOW)
    risk_points.create_point(session, actor=org["sup_s2"], data=point("P3", "E3"), now=NOW)
    codes = lambda who: [p.code for p in risk_points.list_points(session, actor=org[who])]  # noqa: E731
    assert codes("disp") == ["P1", "P3"]
    assert codes("sup_s2") == ["P3"]
    assert codes("rep1") == ["P1"]  # a grid worker reads the points of their grid
    assert codes("h_sw") == ["P1"]  # a unit's staff the points it is responsible for
    assert codes("h_zj") == []
    with pytest.raises(Forbidden):
        risk_points.get_point(session, actor=org["sup_s2"], code="P1")


def test_update_and_filters(session: Session, org: Org, ents: None) -> None:
    risk_points.create_point(session, actor=org["disp"], data=point("P1"), now=NOW)
    risk_points.create_point(session, actor=org["disp"], data=point("P2", level="major"), now=NOW)
    risk_points.create_point(session, actor=org["disp"], data=point("P3", "E3", "low"), now=NOW)
    row = risk_points.update_point(
        session,
        actor=org["sup"],
        code="P1",
        data=RiskPointUpdate(level=RiskLevel.significant, active=False),
        now=NOW,
    )
    assert (row.level, row.active) == ("significant", False)
    sup = org["sup"]
    assert [p.code for p in risk_points.list_points(session, actor=sup)] == ["P2", "P1", "P3"]
    assert [p.code for p in risk_points.list_points(session, actor=sup, active=True)] == [
        "P2",
        "P3",
    ]
    assert [p.code for p in risk_points.list_points(session, actor=sup, street_code="S2")] == ["P3"]
    assert [p.code for p in risk_points.list_points(session, actor=sup, region="C1")] == [
        "P2",
        "P1",
    ]
    assert [p.code for p in risk_points.list_points(session, actor=sup, level="low")] == ["P3"]  # type: ignore[arg-type]
    assert [p.code for p in risk_points.list_points(session, actor=sup, q="P2")] == ["P2"]
    with pytest.raises(Forbidden):
        risk_points.update_point(
            session, actor=org["h_zj"], code="P1", data=RiskPointUpdate(name="x"), now=NOW
        )
