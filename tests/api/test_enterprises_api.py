"""The register's API as CONTRACT.md "Safety production" states it."""

import io

from tests.safety.test_enterprises import credit, wrong


def body(code: str = "E1", n: int = 1, **kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": code,
        "name": f"企业{code}",
        "credit_code": credit(n),
        "kind": "enterprise",
        "address": "东门中路 1 号",
        "grid_code": "G1",
        "industry": "工贸",
        "risk_level": "general",
        "contact_name": "陈志强",
        "contact_phone": "13800001001",
    }
    data.update(kw)
    return data


def test_create_get_list_patch(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/enterprises", json=body(), headers=auth("disp"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["street_code"] == "S1" and created["risk_level"] == "general"
    assert created["created_at"].endswith("+08:00")
    r = client.post(
        "/api/v1/enterprises",
        json=body("P1", kind="place", credit_code=None, grid_code="G3", risk_level=None),
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text

    r = client.get("/api/v1/enterprises/E1", headers=auth("rep1"))
    assert r.status_code == 200 and r.json()["name"] == "企业E1"
    assert client.get("/api/v1/enterprises/E1", headers=auth("rep3")).status_code == 403
    assert client.get("/api/v1/enterprises/NOPE", headers=auth("disp")).status_code == 404

    r = client.get("/api/v1/enterprises", params={"kind": "place"}, headers=auth("disp"))
    assert [e["code"] for e in r.json()["items"]] == ["P1"] and r.json()["total"] == 1
    r = client.get(
        "/api/v1/enterprises", params={"q": "企业", "page_size": 1}, headers=auth("disp")
    )
    assert r.json()["total"] == 2 and len(r.json()["items"]) == 1
    r = client.get("/api/v1/enterprises", headers=auth("disp_s2"))
    assert [e["code"] for e in r.json()["items"]] == ["P1"]
    r = client.get("/api/v1/enterprises", params={"risk_level": "huge"}, headers=auth("disp"))
    assert r.status_code == 422

    r = client.patch(
        "/api/v1/enterprises/E1", json={"active": False, "scale": "小微"}, headers=auth("sup")
    )
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["scale"] == "小微"
    r = client.patch("/api/v1/enterprises/E1", json={"name": None}, headers=auth("sup"))
    assert r.status_code == 422
    r = client.patch("/api/v1/enterprises/E1", json={"code": "E2"}, headers=auth("sup"))
    assert r.status_code == 422  # the code never changes
    r = client.patch("/api/v1/enterprises/E1", json={"name": "x"}, headers=auth("h_zj"))
    assert r.status_code == 403


def test_refusals(client, auth) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/enterprises", json=body(credit_code=wrong(credit(1))), headers=auth("disp")
    )
    assert r.status_code == 422
    assert f"check character should be {credit(1)[17]}" in r.json()["detail"]
    assert client.post("/api/v1/enterprises", json=body(), headers=auth("disp")).status_code == 201
    r = client.post("/api/v1/enterprises", json=body(), headers=auth("disp"))
    assert r.status_code == 409
    r = client.post("/api/v1/enterprises", json=body("E2"), headers=auth("disp"))
    assert r.status_code == 409 and "E1" in r.json()["detail"]
    r = client.post("/api/v1/enterprises", json=body("E3", 3, grid_code="C1"), headers=auth("disp"))
    assert r.status_code == 422
    r = client.post("/api/v1/enterprises", json=body("E4", 4), headers=auth("rep1"))
    assert r.status_code == 403
    r = client.post(
        "/api/v1/enterprises", json=body("E5", 5, risk_level="huge"), headers=auth("disp")
    )
    assert r.status_code == 422


def test_import_and_cases_by_enterprise(client, auth) -> None:  # type: ignore[no-untyped-def]
    lines = [
        "code,name,credit_code,kind,grid_code,industry,risk_level",
        f"E1,企业一,{credit(1)},enterprise,G2,工贸,major",
        f"E2,企业二,{wrong(credit(2))},enterprise,G1,,",
        "P1,东门町,,place,G1,人员密集场所,",
    ]
    data = ("\n".join(lines) + "\n").encode()
    r = client.post(
        "/api/v1/enterprises/import",
        files={"file": ("register.csv", io.BytesIO(data), "text/csv")},
        headers=auth("disp"),
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["imported"] == 2
    assert [x["row"] for x in result["rejected"]] == [3]
    assert "check character" in result["rejected"][0]["error"]

    hazard = {"kind": "hazard", "grade": "major", "title": "消防通道堵塞", "category_code": "0201"}
    r = client.post("/api/v1/cases", json={**hazard, "enterprise_code": "E1"}, headers=auth("disp"))
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == "G2" and r.json()["enterprise_code"] == "E1"
    r = client.post(
        "/api/v1/cases",
        json={**hazard, "enterprise_code": "E1", "grid_code": "G1"},
        headers=auth("disp"),
    )
    assert r.status_code == 422
    r = client.post("/api/v1/cases", json={**hazard, "grid_code": "G2"}, headers=auth("disp"))
    assert r.status_code == 201
    r = client.get("/api/v1/cases", params={"enterprise_code": "E1"}, headers=auth("disp"))
    assert [c["enterprise_code"] for c in r.json()["items"]] == ["E1"]

    r = client.post(
        "/api/v1/enterprises/import",
        files={"file": ("register.csv", io.BytesIO(b"code,name\nE9,x\n"), "text/csv")},
        headers=auth("disp"),
    )
    assert r.status_code == 422 and "grid_code" in r.json()["detail"]
