from sqlmodel import select

from closeloop.db import new_session
from models.geo import GridGeometry
from tests.geo.boxes import GEOMETRY, IN_G2, NOWHERE, collection, feature

PROBLEM = "application/problem+json"


def test_admin_imports_grid_boundaries_and_anyone_signed_in_reads_them(
    client, auth, engine
) -> None:
    r = client.post("/api/v1/grids/geometry", json=collection(), headers=auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 3, "rejected": []}
    r = client.get("/api/v1/grids/geometry", headers=auth("rep1"))
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in body["features"]] == ["G1", "G2", "G3"]
    assert body["features"][0]["geometry"] == GEOMETRY["G1"]


def test_only_an_admin_imports(client, auth) -> None:
    r = client.post("/api/v1/grids/geometry", json=collection(), headers=auth("sup"))
    assert r.status_code == 403


def test_a_bad_feature_is_a_422_naming_it_and_nothing_is_written(client, auth, engine) -> None:
    body = collection()
    body["features"].append(feature("XX", GEOMETRY["G1"]))
    r = client.post("/api/v1/grids/geometry", json=body, headers=auth("admin"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["errors"] == [
        {"feature": 3, "code": "XX", "error": "网格 XX 不存在 / grid 'XX' does not exist"}
    ]
    assert "no grid boundary was imported" in problem["detail"]
    with new_session(engine) as s:
        assert s.exec(select(GridGeometry)).all() == []
    r = client.post(
        "/api/v1/grids/geometry",
        content=b"not json",
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422


def test_locate_answers_the_grid_or_404_outside_and_422_for_bad_numbers(client, auth) -> None:
    client.post("/api/v1/grids/geometry", json=collection(), headers=auth("admin"))
    r = client.get(f"/api/v1/grids/locate?lat={IN_G2[0]}&lon={IN_G2[1]}", headers=auth("rep1"))
    assert r.status_code == 200
    assert r.json()["grid_code"] == "G2" and r.json()["street_code"] == "S1"
    r = client.get(f"/api/v1/grids/locate?lat={NOWHERE[0]}&lon={NOWHERE[1]}", headers=auth("rep1"))
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    for query in ("lat=91&lon=114", "lat=22.5&lon=abc", "lat=22.5"):
        r = client.get(f"/api/v1/grids/locate?{query}", headers=auth("rep1"))
        assert r.status_code == 422, query
    assert client.get("/api/v1/grids/locate?lat=22.5&lon=114.1").status_code == 401


def test_map_layers_in_gcj02_and_its_errors(client, auth) -> None:
    client.post("/api/v1/grids/geometry", json=collection(), headers=auth("admin"))
    r = client.get("/api/v1/map/layers?crs=gcj02&layer=grids&layer=events", headers=auth("sup_s2"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["crs"] == "gcj02" and set(body["layers"]) == {"grids", "events"}
    grid = body["layers"]["grids"]["features"][0]
    assert grid["properties"]["code"] == "G3"
    assert grid["geometry"]["coordinates"][0][0] != GEOMETRY["G3"]["coordinates"][0][0]
    for query in ("crs=bd09", "layer=roads", "state=nonsense", "overdue=maybe"):
        r = client.get(f"/api/v1/map/layers?{query}", headers=auth("sup"))
        assert r.status_code == 422, query
