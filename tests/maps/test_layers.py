from datetime import timedelta

import pytest

from closeloop.errors import Invalid
from closeloop.geo import service as geo
from closeloop.geo.coords import wgs84_to_gcj02
from closeloop.maps.layers import map_layers
from models.dossier import Notice
from models.enterprise import Enterprise
from models.enums import CaseKind, Grade
from models.risk import RiskPoint
from tests.factories import NOW, act, build_org, new_case
from tests.geo.boxes import IN_G1, collection


@pytest.fixture
def org(session):  # type: ignore[no-untyped-def]
    o = build_org(session)
    geo.import_geometry(session, collection=collection(), now=NOW)
    return o


def _codes(layer) -> list:  # type: ignore[no-untyped-def]
    return [f["properties"].get("code") or f["properties"].get("number") for f in layer["features"]]


def _enterprise(session, code: str, grid: str, path: str, lat=None, lon=None) -> None:  # type: ignore[no-untyped-def]
    session.add(
        Enterprise(
            code=code,
            name=f"企业{code}",
            kind="enterprise",
            grid_code=grid,
            region_path=path,
            lat=lat,
            lon=lon,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    session.flush()


def test_grids_carry_their_open_and_overdue_figures_and_closure_rate(session, org) -> None:
    late = new_case(session, org, grid="G1", now=NOW - timedelta(days=20))
    act(session, org, late, "dispatch", "disp", now=NOW - timedelta(days=20), unit_code="ZJ")
    new_case(session, org, grid="G1")
    new_case(session, org, grid="G3", by="disp")
    grids = map_layers(session, actor=org["sup"], now=NOW, layers=["grids"])["layers"]["grids"]
    props = {f["properties"]["code"]: f["properties"] for f in grids["features"]}
    assert (props["G1"]["open"], props["G1"]["overdue"]) == (2, 1)
    assert (props["G2"]["open"], props["G2"]["overdue"]) == (0, 0)
    assert props["G1"]["accepted"] == 2 and props["G1"]["closure_rate"] == 0.0
    assert props["G2"]["closure_rate"] is None
    assert grids["period"] == {"from": "2025-07-03", "to": "2025-09-30"}


def test_each_caller_sees_only_their_grids_and_cases(session, org) -> None:
    new_case(session, org, grid="G1")  # filed by rep1
    new_case(session, org, grid="G3", by="rep3")
    s2 = map_layers(session, actor=org["sup_s2"], now=NOW)["layers"]
    assert _codes(s2["grids"]) == ["G3"]
    assert len(s2["events"]["features"]) == 1
    rep = map_layers(session, actor=org["rep1"], now=NOW)["layers"]
    assert _codes(rep["grids"]) == ["G1"]
    assert [f["properties"]["grid_code"] for f in rep["events"]["features"]] == ["G1"]
    assert rep["grids"]["features"][0]["properties"]["closure_rate"] is None
    handler = map_layers(session, actor=org["h_sw"], now=NOW)["layers"]
    assert _codes(handler["grids"]) == ["G1", "G2", "G3"]
    assert handler["events"]["features"] == []


def test_points_use_the_cases_gps_else_the_grid_centroid_and_convert_to_gcj02(session, org) -> None:
    from closeloop.cases import service as cases
    from models.case import CaseCreate, Location

    data = CaseCreate(
        kind="event",
        title="占道",
        category_code="0101",
        location=Location(lat=IN_G1[0], lon=IN_G1[1]),
    )
    cases.file_case(session, actor=org["rep1"], data=data, now=NOW)
    new_case(session, org, grid="G2", by="disp")
    wgs = map_layers(session, actor=org["disp"], now=NOW, layers=["events"])["layers"]["events"]
    points = [f["geometry"]["coordinates"] for f in wgs["features"]]
    assert points[0] == [IN_G1[1], IN_G1[0]]
    assert points[1] == pytest.approx([114.1245, 22.5465])  # G2's centre
    gcj = map_layers(session, actor=org["disp"], now=NOW, crs="gcj02", layers=["events", "grids"])
    lat, lon = wgs84_to_gcj02(IN_G1[0], IN_G1[1])
    assert gcj["layers"]["events"]["features"][0]["geometry"]["coordinates"] == pytest.approx(
        [lon, lat]
    )
    ring = gcj["layers"]["grids"]["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == pytest.approx(list(reversed(wgs84_to_gcj02(22.545, 114.120))))


def test_state_and_overdue_filters(session, org) -> None:
    late = new_case(session, org, grid="G1", now=NOW - timedelta(days=20))
    act(session, org, late, "dispatch", "disp", now=NOW - timedelta(days=20), unit_code="ZJ")
    new_case(session, org, grid="G1")

    def layer(**kw):  # type: ignore[no-untyped-def]
        out = map_layers(session, actor=org["disp"], now=NOW, layers=["events"], **kw)
        return out["layers"]["events"]

    assert len(layer()["features"]) == 2
    assert [f["properties"]["overdue"] for f in layer(overdue=True)["features"]] == [True]
    assert len(layer(overdue=False)["features"]) == 1
    assert [f["properties"]["state"] for f in layer(state="reported")["features"]] == ["reported"]
    with pytest.raises(Invalid, match="state"):
        layer(state="nonsense")
    with pytest.raises(Invalid, match="crs"):
        map_layers(session, actor=org["disp"], now=NOW, crs="bd09")
    with pytest.raises(Invalid, match="layer"):
        map_layers(session, actor=org["disp"], now=NOW, layers=["roads"])


def test_hazards_listed_major_hazards_and_risk_points(session, org) -> None:
    _enterprise(session, "E1", "G1", "/D1/S1/C1/G1/", lat=22.5466, lon=114.1211)
    _enterprise(session, "E3", "G3", "/D1/S2/C2/G3/")
    general = new_case(session, org, kind=CaseKind.hazard, grid="G1")
    major = new_case(session, org, kind=CaseKind.hazard, grade=Grade.major, grid="G3")
    session.add(Notice(type="listing", case_id=major.id, due_at=NOW, created_at=NOW))
    for code, ent, level in (("R1", "E1", "major"), ("R2", "E3", "low")):
        session.add(
            RiskPoint(
                code=code,
                enterprise_code=ent,
                name=code,
                level=level,
                region_path="/D1/S1/C1/G1/" if ent == "E1" else "/D1/S2/C2/G3/",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    session.flush()
    out = map_layers(session, actor=org["sup"], now=NOW)["layers"]
    assert [f["properties"]["grade"] for f in out["hazards"]["features"]] == ["general", "major"]
    assert [f["properties"]["id"] for f in out["major"]["features"]] == [major.id]
    risks = {f["properties"]["code"]: f for f in out["risks"]["features"]}
    assert risks["R1"]["properties"]["level"] == "major"
    assert risks["R1"]["geometry"]["coordinates"] == [114.1211, 22.5466]  # the enterprise's point
    assert risks["R2"]["geometry"]["coordinates"] == pytest.approx(
        [114.1315, 22.5415]
    )  # G3's centre
    s2 = map_layers(session, actor=org["sup_s2"], now=NOW, layers=["risks", "hazards"])["layers"]
    assert list(risks) == ["R1", "R2"] and _codes(s2["risks"]) == ["R2"]
    assert [f["properties"]["id"] for f in s2["hazards"]["features"]] == [major.id]
    assert general.id not in [f["properties"]["id"] for f in out["major"]["features"]]
