"""Units belong to a district: grouped by unit, the metrics and the report of a region show the
units serving its district (and those serving every district), not another district's."""

from datetime import date, datetime

from closeloop.org import service as org_service
from closeloop.reports import content
from closeloop.reports.metrics import service as metrics
from closeloop.reports.periods import parse
from models.enums import RegionLevel
from models.org import RegionCreate, UnitCreate
from models.types import SHANGHAI
from tests.factories import act, new_case

AT = datetime(2025, 9, 10, 10, tzinfo=SHANGHAI)
SEPT = {
    "date_from": date(2025, 9, 1),
    "date_to": date(2025, 9, 30),
    "now": datetime(2025, 10, 1, 9, tzinfo=SHANGHAI),
}


def _second_district(session) -> None:  # type: ignore[no-untyped-def]
    org_service.create_region(
        session, data=RegionCreate(code="D2", name="福田区", level=RegionLevel.district)
    )
    org_service.create_unit(
        session, data=UnitCreate(code="FT", name="福田城管局", short_name="福", region_code="D2")
    )
    org_service.create_unit(
        session, data=UnitCreate(code="LH", name="罗湖城管局", short_name="罗", region_code="D1")
    )


def test_ranking_by_unit_shows_the_districts_units(session, org):  # type: ignore[no-untyped-def]
    _second_district(session)
    case = new_case(session, org, now=AT)
    act(session, org, case, "dispatch", "disp", AT, unit_code="LH")
    for actor, region in (("sup", None), ("sup_s2", None), ("admin", "S1"), ("admin", "D1")):
        r = metrics.compute(session, actor=org[actor], group_by="unit", region_code=region, **SEPT)
        keys = {g.key for g in r.groups}
        assert {"LH", "ZJ", "SW"} <= keys and "FT" not in keys, (actor, region, keys)
    r = metrics.compute(session, actor=org["admin"], group_by="unit", region_code="D2", **SEPT)
    assert {g.key for g in r.groups} == {"FT", "ZJ", "SW"}
    r = metrics.compute(session, actor=org["admin"], group_by="unit", **SEPT)
    assert {"FT", "LH", "ZJ", "SW"} <= {g.key for g in r.groups}


def test_a_unit_that_held_the_regions_cases_still_shows(session, org):  # type: ignore[no-untyped-def]
    _second_district(session)
    case = new_case(session, org, now=AT)
    act(session, org, case, "dispatch", "disp", AT, unit_code="ZJ")
    # ZJ is assigned to the other district afterwards: its September case still counts here.
    from models.org import UnitUpdate

    org_service.update_unit(session, code="ZJ", data=UnitUpdate(region_code="D2"))
    r = metrics.compute(session, actor=org["sup"], group_by="unit", **SEPT)
    groups = {g.key: g for g in r.groups}
    assert "FT" not in groups and groups["ZJ"].name == "区住房和建设局"


def test_the_reports_unit_table_shows_the_districts_units(session, org):  # type: ignore[no-untyped-def]
    _second_district(session)
    region = org_service.list_regions(session)[0]
    assert region.code == "D1"
    c = content.gather(
        session,
        actor=org["sup"],
        region=region,
        period=parse("monthly", "2025-09"),
        now=SEPT["now"],
    )
    keys = {g.key for g in c.by["unit"].groups}
    assert {"LH", "ZJ", "SW"} <= keys and "FT" not in keys
