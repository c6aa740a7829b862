from datetime import timedelta

import pytest
from sqlmodel import select

from closeloop.cases import service as cases
from closeloop.errors import Invalid, NotFound
from closeloop.geo import service as geo
from models.case import CaseCreate, Location
from models.geo import GridGeometry
from tests.factories import NOW, build_org
from tests.geo.boxes import GEOMETRY, IN_G1, IN_G2, IN_G3, NOWHERE, box, collection, feature


@pytest.fixture
def org(session):  # type: ignore[no-untyped-def]
    return build_org(session)


def test_import_stores_each_grid_polygon_with_its_bounding_box(session, org) -> None:
    assert geo.import_geometry(session, collection=collection(), now=NOW) == {
        "imported": 3,
        "rejected": [],
    }
    row = session.get(GridGeometry, "G1")
    assert row is not None
    assert (row.min_lon, row.min_lat, row.max_lon, row.max_lat) == (114.12, 22.545, 114.123, 22.548)
    assert [f["properties"]["code"] for f in geo.feature_collection(session)["features"]] == [
        "G1",
        "G2",
        "G3",
    ]


def test_reimport_replaces_a_grids_polygon(session, org) -> None:
    geo.import_geometry(session, collection=collection(), now=NOW)
    moved = box(114.140, 22.550, 114.141, 22.551)
    later = NOW + timedelta(days=1)
    assert geo.import_geometry(session, collection=collection(G1=moved), now=later)["imported"] == 1
    row = session.get(GridGeometry, "G1")
    assert row is not None and row.geometry == moved and row.min_lon == 114.140
    assert geo.locate_grid(session, lat=22.5505, lon=114.1405)["grid_code"] == "G1"
    with pytest.raises(NotFound):
        geo.locate_grid(session, lat=IN_G1[0], lon=IN_G1[1])


def test_a_bad_file_writes_nothing_and_lists_every_problem_by_feature(session, org) -> None:
    open_ring = box(114.1, 22.5, 114.2, 22.6)
    open_ring["coordinates"][0].pop()
    swapped = box(22.5, 114.1, 22.6, 114.2)  # lat, lon: latitude out of range
    bad = {
        "type": "FeatureCollection",
        "features": [
            feature("G1", GEOMETRY["G1"]),  # fine on its own
            feature("NOPE", GEOMETRY["G2"]),
            feature("C1", GEOMETRY["G2"]),  # a community, not a grid
            feature("G2", {"type": "Point", "coordinates": [114.1, 22.5]}),
            feature("G3", open_ring),
            feature("G1", GEOMETRY["G1"]),  # twice in the file
            feature("G2", swapped),
            {"type": "Feature", "properties": {}, "geometry": GEOMETRY["G1"]},
            feature(
                "G3",
                {"type": "Polygon", "coordinates": [[[114.1, 22.5], [114.2, 22.5], [114.1, 22.5]]]},
            ),
        ],
    }
    with pytest.raises(Invalid) as caught:
        geo.import_geometry(session, collection=bad, now=NOW)
    errors = caught.value.extra["errors"]
    assert sorted({e["feature"] for e in errors}) == [1, 2, 3, 4, 5, 6, 7, 8]
    text = {i: " ".join(e["error"] for e in errors if e["feature"] == i) for i in range(9)}
    assert "NOPE" in text[1] and "不存在" in text[1]
    assert "不是网格" in text[2]
    assert "Point" in text[3]
    assert "not closed" in text[4]
    assert "repeats feature 0" in text[5]
    assert "out of range" in text[6]
    assert "properties.code" in text[7]
    assert "at least 4" in text[8]
    assert session.exec(select(GridGeometry)).all() == []


@pytest.mark.parametrize(
    "body",
    [[], {"type": "Feature"}, {"type": "FeatureCollection", "features": []}, "text"],
)
def test_a_body_that_is_no_feature_collection_is_refused(session, org, body) -> None:
    with pytest.raises(Invalid):
        geo.import_geometry(session, collection=body, now=NOW)


def test_read_geojson_refuses_what_is_not_json() -> None:
    assert geo.read_geojson(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(Invalid, match="not GeoJSON"):
        geo.read_geojson(b"<kml/>")


def test_multipolygons_with_holes_import_and_locate(session, org) -> None:
    outer = box(114.10, 22.50, 114.20, 22.60)["coordinates"][0]
    hole = box(114.14, 22.54, 114.16, 22.56)["coordinates"][0]
    island = box(114.30, 22.50, 114.31, 22.51)["coordinates"][0]
    multi = {"type": "MultiPolygon", "coordinates": [[outer, hole], [island]]}
    geo.import_geometry(session, collection=collection(G3=multi), now=NOW)
    assert geo.locate_grid(session, lat=22.505, lon=114.305)["grid_code"] == "G3"
    assert geo.locate_grid(session, lat=22.52, lon=114.12)["grid_code"] == "G3"
    with pytest.raises(NotFound):
        geo.locate_grid(session, lat=22.55, lon=114.15)  # in the hole


def test_locate_names_the_grid_its_street_and_community(session, org) -> None:
    geo.import_geometry(session, collection=collection(), now=NOW)
    found = geo.locate_grid(session, lat=IN_G2[0], lon=IN_G2[1])
    assert found == {
        "grid_code": "G2",
        "grid_name": "湖贝第二网格",
        "street_code": "S1",
        "street_name": "东门街道",
        "community_code": "C1",
        "community_name": "湖贝社区",
        "region_path": "/D1/S1/C1/G2/",
    }
    assert geo.locate_grid(session, lat=IN_G3[0], lon=IN_G3[1])["street_code"] == "S2"
    with pytest.raises(NotFound, match="lies in no grid"):
        geo.locate_grid(session, lat=NOWHERE[0], lon=NOWHERE[1])
    with pytest.raises(Invalid):
        geo.locate_grid(session, lat=95.0, lon=114.0)


def test_filing_with_a_location_and_no_grid_takes_the_grid_holding_it(session, org) -> None:
    geo.import_geometry(session, collection=collection(), now=NOW)
    data = CaseCreate(
        kind="event",
        title="占道经营",
        category_code="0101",
        location=Location(lat=IN_G2[0], lon=IN_G2[1]),
    )
    case = cases.file_case(session, actor=org["disp"], data=data, now=NOW)
    assert (case.grid_code, case.region_path) == ("G2", "/D1/S1/C1/G2/")
    outside = data.model_copy(update={"location": Location(lat=NOWHERE[0], lon=NOWHERE[1])})
    with pytest.raises(Invalid, match="no grid"):
        cases.file_case(session, actor=org["disp"], data=outside, now=NOW)


def test_centroid_of_a_box_is_its_centre() -> None:
    lat, lon = geo.centroid(box(114.0, 22.0, 114.2, 22.4))
    assert (round(lat, 9), round(lon, 9)) == (22.2, 114.1)
