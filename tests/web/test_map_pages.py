"""The map pages at the HTTP level: /map for every role (a reporter's opens on their grid), its
data with the page's cookie, the filing form's position lookup, the admin's GeoJSON upload, and
the tile server let through the page's CSP only when one is configured."""

import json

from closeloop.config import get_settings
from tests.geo.boxes import GEOMETRY, IN_G2, NOWHERE, collection, feature
from tests.web.conftest import csrf_of


def _upload(c, body: object):  # type: ignore[no-untyped-def]
    token = csrf_of(c.get("/admin/grids").text)
    data = json.dumps(body).encode()
    files = {"file": ("grids.geojson", data, "application/geo+json")}
    return c.post("/admin/grids", data={"csrf_token": token}, files=files)


def test_the_admin_uploads_boundaries_and_a_bad_file_lists_its_features(web) -> None:
    admin = web("admin")
    assert 'href="/admin/grids"' in admin.get("/admin").text
    bad = collection()
    bad["features"].append(feature("NOPE", GEOMETRY["G1"]))
    r = _upload(admin, bad)
    assert r.status_code == 422
    assert 'data-testid="geo-error" data-feature="3"' in r.text and "NOPE" in r.text
    assert "0 / 3" in r.text  # nothing was written
    r = _upload(admin, collection())
    assert r.status_code == 200 and 'data-testid="geo-done"' in r.text and "3 / 3" in r.text
    download = admin.get("/admin/grids.geojson")
    assert [f["properties"]["code"] for f in download.json()["features"]] == ["G1", "G2", "G3"]
    assert web("sup").get("/admin/grids").status_code == 403


def test_the_map_page_and_its_data_follow_the_user(web) -> None:
    _upload(web("admin"), collection())
    rep = web("rep1")
    page = rep.get("/map")
    assert page.status_code == 200
    assert 'data-home-grid="G1"' in page.text and 'data-crs="wgs84"' in page.text
    assert "/static/vendor/leaflet/leaflet.js" in page.text and 'data-testid="nav-map"' in page.text
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]
    data = rep.get("/map/layers.json").json()
    assert [f["properties"]["code"] for f in data["layers"]["grids"]["features"]] == ["G1"]
    sup = web("sup").get("/map")
    assert 'data-home-grid=""' in sup.text and 'data-testid="map-home"' not in sup.text
    assert rep.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert "BSD" in rep.get("/static/vendor/leaflet/LICENSE").text


def test_a_configured_gcj02_tile_server_is_let_in_and_the_layers_follow_it(
    web, monkeypatch
) -> None:
    monkeypatch.setenv(
        "CLOSELOOP_MAP_TILE_URL", "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"
    )
    get_settings.cache_clear()
    page = web("sup").get("/map")
    assert 'data-crs="gcj02"' in page.text
    assert (
        "img-src 'self' data: https://*.is.autonavi.com;" in page.headers["content-security-policy"]
    )


def test_the_filing_form_asks_for_the_grid_and_routing_of_a_position(web) -> None:
    _upload(web("admin"), collection())
    rep = web("rep1")
    assert 'id="locate-suggest"' in rep.get("/report/new").text
    r = rep.get(f"/map/locate.json?lat={IN_G2[0]}&lon={IN_G2[1]}&category_code=0102")
    assert r.status_code == 200
    body = r.json()
    assert (body["grid_code"], body["unit_code"]) == ("G2", "SW")
    assert body["grid_text"] == "所在网格：湖贝第二网格（东门街道湖贝社区）"
    assert body["routing_text"] == "建议派往：区水务局"
    r = rep.get(f"/map/locate.json?lat={NOWHERE[0]}&lon={NOWHERE[1]}")
    assert r.status_code == 404 and "不在任何网格内" in r.json()["error"]
