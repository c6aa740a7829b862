"""The risk register through the API: points, reports, review (422 without a reason, 409 twice),
imports and figures."""

from closeloop.db import new_session
from tests.safety.risk_factories import add_enterprise


def setup_ents(engine) -> None:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        add_enterprise(s, "E1", "G1")
        add_enterprise(s, "E3", "G3")
        s.commit()


def test_points_reports_review_and_figures(client, auth, engine) -> None:  # type: ignore[no-untyped-def]
    setup_ents(engine)
    body = {"code": "P1", "enterprise_code": "E1", "name": "储罐区", "level": "general"}
    r = client.post("/api/v1/risk-points", json=body | {"unit_code": "ZJ"}, headers=auth("disp"))
    assert r.status_code == 201, r.text
    assert (r.json()["street_code"], r.json()["unit_code"]) == ("S1", "ZJ")
    assert client.post("/api/v1/risk-points", json=body, headers=auth("disp")).status_code == 409
    assert client.post("/api/v1/risk-points", json=body, headers=auth("rep1")).status_code == 403
    bad = client.post("/api/v1/risk-points", json=body | {"level": "red"}, headers=auth("disp"))
    assert bad.status_code == 422
    r = client.patch("/api/v1/risk-points/P1", json={"measures": "双人巡查"}, headers=auth("sup"))
    assert r.status_code == 200 and r.json()["measures"] == "双人巡查"
    assert (
        client.patch("/api/v1/risk-points/P1", json={"name": None}, headers=auth("sup")).status_code
        == 422
    )
    r = client.get("/api/v1/risk-points?level=general&street_code=S1", headers=auth("rep1"))
    assert [p["code"] for p in r.json()] == ["P1"]

    r = client.post(
        "/api/v1/risk-reports",
        json={"risk_point_code": "P1", "level": "significant", "content": "新增储罐"},
        headers=auth("rep1"),
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["state"] == "pending" and report["number"] == "FX2025000001"
    assert report["review_due_at"] and report["overdue"] is False
    url = f"/api/v1/risk-reports/{report['id']}/review"
    r = client.post(url, json={"decision": "reject"}, headers=auth("sup"))
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    assert client.post(url, json={"decision": "approve"}, headers=auth("disp")).status_code == 403
    r = client.post(url, json={"decision": "approve"}, headers=auth("sup"))
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert client.post(url, json={"decision": "approve"}, headers=auth("sup")).status_code == 409
    assert (
        client.get("/api/v1/risk-points/P1", headers=auth("sup")).json()["level"] == "significant"
    )

    r = client.post(
        "/api/v1/risk-reports",
        json={"enterprise_code": "E1", "name": "喷漆房", "level": "low"},
        headers=auth("rep1"),
    )
    assert r.status_code == 201
    r = client.get("/api/v1/risk-reports?state=pending&street_code=S1", headers=auth("sup"))
    assert [x["name"] for x in r.json()] == ["喷漆房"]
    r = client.get(
        "/api/v1/risk-reports/figures?from=2025-09-01&to=2025-09-30", headers=auth("sup")
    )
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["reports"], f["reviewed"], f["review_rate"], f["pending"]) == (2, 1, 0.5, 1)
    r = client.get(
        "/api/v1/risk-reports/figures?from=2025-09-01&to=2025-09-30&group_by=street",
        headers=auth("sup"),
    )
    assert [s["street_code"] for s in r.json()["streets"]] == ["S1"]
    r = client.get(
        "/api/v1/risk-reports/figures?from=2025-10-01&to=2025-10-31", headers=auth("sup")
    )
    assert r.json()["review_rate"] is None  # nothing reported: no rate
    r = client.get("/api/v1/risk-points/figures?group_by=street", headers=auth("sup"))
    assert r.json()["levels"] == {"major": 0, "significant": 1, "general": 0, "low": 0}
    assert r.json()["streets"][0]["street_code"] == "S1"


def test_imports(client, auth, engine) -> None:  # type: ignore[no-untyped-def]
    setup_ents(engine)
    points = "code,enterprise_code,name,level\nP1,E1,a,low\nP2,E9,b,low\n"
    r = client.post(
        "/api/v1/risk-points/import",
        files={"file": ("points.csv", points.encode(), "text/csv")},
        headers=auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 1 and r.json()["rejected"][0]["row"] == 3
    reports = (
        "number,risk_point_code,enterprise_code,level,reported_at,reviewed_at,decision\n"
        "R1,P1,E1,low,2025-09-01,2025-09-02,approve\nR2,,E3,low,2025-09-01,,\n"
    )
    r = client.post(
        "/api/v1/risk-reports/import",
        files={"file": ("reports.csv", reports.encode(), "text/csv")},
        headers=auth("admin"),
    )
    assert r.json() == {"imported": 2, "rejected": [], "rejected_count": 0}
    r = client.post(
        "/api/v1/risk-reports/import",
        files={"file": ("reports.txt", b"x", "text/plain")},
        headers=auth("admin"),
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/risk-reports/import",
        files={"file": ("reports.csv", reports.encode(), "text/csv")},
        headers=auth("rep1"),
    )
    assert r.status_code == 403
    r = client.get("/api/v1/risk-reports?overdue=true", headers=auth("sup"))
    assert [x["number"] for x in r.json()] == ["R2"] and r.json()[0]["overdue"] is True


def test_handlers_see_their_units_points_and_no_reports(client, auth, engine) -> None:  # type: ignore[no-untyped-def]
    setup_ents(engine)
    body = {
        "code": "P1",
        "enterprise_code": "E1",
        "name": "泵房",
        "level": "low",
        "unit_code": "SW",
    }
    assert client.post("/api/v1/risk-points", json=body, headers=auth("admin")).status_code == 201
    report = {"risk_point_code": "P1", "level": "general"}
    assert client.post("/api/v1/risk-reports", json=report, headers=auth("rep1")).status_code == 201
    assert [p["code"] for p in client.get("/api/v1/risk-points", headers=auth("h_sw")).json()] == [
        "P1"
    ]
    assert client.get("/api/v1/risk-points", headers=auth("h_zj")).json() == []
    assert client.get("/api/v1/risk-reports", headers=auth("h_sw")).json() == []
    r = client.get(
        "/api/v1/risk-reports/figures?from=2025-09-01&to=2025-09-30", headers=auth("h_sw")
    )
    assert r.status_code == 200 and r.json()["reports"] == 0
    r = client.get(
        "/api/v1/risk-reports/figures?from=2025-09-30&to=2025-09-01", headers=auth("sup")
    )
    assert r.status_code == 422
    assert client.get("/api/v1/risk-reports/1", headers=auth("sup_s2")).status_code == 403
