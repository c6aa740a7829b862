"""closeloop/org/units.py: changing and deactivating units, and the districts they serve."""

import pytest

from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.org import service as org_service
from models.enums import CaseState
from models.org import CategoryUpdate, UnitCreate, UnitUpdate
from tests.factories import act, case_in, new_case


def test_update_unit_fields(session, org):  # type: ignore[no-untyped-def]
    u = org_service.update_unit(
        session,
        code="ZJ",
        data=UnitUpdate(name="住建局", email="zj@example.cn", region_code="D1"),
    )
    assert (u.name, u.email, u.region_code, u.short_name) == (
        "住建局",
        "zj@example.cn",
        "D1",
        "住建",
    )
    u = org_service.update_unit(session, code="ZJ", data=UnitUpdate(region_code=None))
    assert u.region_code is None
    with pytest.raises(NotFound):
        org_service.update_unit(session, code="NOPE", data=UnitUpdate(name="x"))


def test_bad_values_are_422(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="email"):
        org_service.update_unit(session, code="ZJ", data=UnitUpdate(email="not-an-email"))
    with pytest.raises(Invalid, match="district"):
        org_service.update_unit(session, code="ZJ", data=UnitUpdate(region_code="S1"))
    with pytest.raises(Invalid, match="district"):
        org_service.create_unit(
            session, data=UnitCreate(code="X", name="x", short_name="x", region_code="NOPE")
        )


def test_a_unit_holding_open_cases_cannot_be_deactivated(session, org):  # type: ignore[no-untyped-def]
    org_service.update_category(session, code="0201", data=CategoryUpdate(unit_code="SW"))
    org_service.update_category(session, code="0101", data=CategoryUpdate(unit_code="SW"))
    case = case_in(session, org, CaseState.rectifying)  # held by ZJ
    with pytest.raises(Conflict, match="1 open cases"):
        org_service.update_unit(session, code="ZJ", data=UnitUpdate(active=False))
    act(session, org, case, "suspend", "sup", reason="等待")
    with pytest.raises(Conflict, match="re-dispatch or close"):
        org_service.update_unit(session, code="ZJ", data=UnitUpdate(active=False))


def test_a_unit_routing_active_categories_cannot_be_deactivated(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict, match="0101"):
        org_service.update_unit(session, code="ZJ", data=UnitUpdate(active=False))
    for code in ("0101", "0201"):
        org_service.update_category(session, code=code, data=CategoryUpdate(unit_code="SW"))
    u = org_service.update_unit(session, code="ZJ", data=UnitUpdate(active=False))
    assert u.active is False
    assert "ZJ" not in {x.code for x in org_service.units_for(session, region_code=None)}


def test_an_inactive_unit_takes_no_dispatch(session, org):  # type: ignore[no-untyped-def]
    for code in ("0101", "0201"):
        org_service.update_category(session, code=code, data=CategoryUpdate(unit_code="SW"))
    org_service.update_unit(session, code="ZJ", data=UnitUpdate(active=False))
    case = new_case(session, org)
    with pytest.raises(Invalid, match="unit_code"):
        act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    assert case.state == CaseState.reported


def test_units_for_two_districts(session, two_districts):  # type: ignore[no-untyped-def]
    codes = lambda region: [u.code for u in org_service.units_for(session, region_code=region)]  # noqa: E731
    assert codes("G1") == ["LH", "SW", "ZJ"]
    assert codes("S1") == codes("D1") == ["LH", "SW", "ZJ"]
    assert codes("G9") == ["FT", "SW", "ZJ"]
    assert codes(None) == ["FT", "LH", "SW", "ZJ"]
    org_service.update_unit(session, code="LH", data=UnitUpdate(active=False))
    assert codes("G1") == ["SW", "ZJ"]
    with pytest.raises(Invalid, match="region_code"):
        codes("NOPE")


def test_dispatch_to_another_districts_unit_is_422(session, two_districts):  # type: ignore[no-untyped-def]
    o = two_districts
    case = new_case(session, o, grid="G1")
    with pytest.raises(Invalid, match="FT.*D2"):
        act(session, o, case, "dispatch", "disp", unit_code="FT")
    act(session, o, case, "dispatch", "disp", unit_code="LH")
    assert (case.state, case.unit_code) == (CaseState.dispatched, "LH")


def test_unit_usage(session, org):  # type: ignore[no-untyped-def]
    case_in(session, org, CaseState.rectifying)
    case_in(session, org, CaseState.closed)
    usage = org_service.unit_usage(session)
    assert usage["ZJ"] == {"cases": 2, "open_cases": 1, "categories": 2}
    assert usage["SW"] == {"cases": 0, "open_cases": 0, "categories": 1}
