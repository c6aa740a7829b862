import io
from datetime import timedelta

import pytest

from closeloop.db import new_session
from models.enums import EnterpriseKind
from tests.conftest import DEFAULT_NOW
from tests.safety.factories import enterprise

AT = (DEFAULT_NOW - timedelta(hours=2)).isoformat()
SET = {
    "code": "GM93",
    "name": "工贸企业“9+3”检查表",
    "industry": "工贸",
    "category_code": "0201",
    "items": [
        {"code": "1", "text": "安全出口畅通", "basis": "GB 50016-2014 第 5.5.17 条"},
        {"code": "2", "text": "有限空间作业审批", "basis": "《安全生产法》第四十三条"},
    ],
}


@pytest.fixture
def places(engine, org):
    with new_session(engine) as s:
        enterprise(s, "E1", name="湖贝五金厂")
        enterprise(s, "P1", kind=EnterpriseKind.place, industry="人员密集场所")
        s.commit()


def answers(first: str = "fail", **extra: object) -> list[dict]:
    return [
        {"item_code": "1", "result": first, "note": "堆放纸箱", **extra},
        {"item_code": "2", "result": "pass"},
    ]


def test_checklists_admin_only_and_409(client, auth, places) -> None:
    assert client.post("/api/v1/checklists", json=SET, headers=auth("disp")).status_code == 403
    r = client.post("/api/v1/checklists", json=SET, headers=auth("admin"))
    assert r.status_code == 201, r.text
    assert [i["category_code"] for i in r.json()["items"]] == ["0201", "0201"]
    assert client.post("/api/v1/checklists", json=SET, headers=auth("admin")).status_code == 409
    bad = {**SET, "code": "X", "category_code": None}
    r = client.post("/api/v1/checklists", json=bad, headers=auth("admin"))
    assert r.status_code == 422 and "item 1" in r.json()["detail"]
    listed = client.get("/api/v1/checklists", headers=auth("rep1")).json()
    assert [c["code"] for c in listed] == ["GM93"]
    r = client.patch("/api/v1/checklists/GM93", json={"active": False}, headers=auth("admin"))
    assert r.status_code == 200 and r.json()["active"] is False


def test_record_inspection_files_hazards(client, auth, places) -> None:
    client.post("/api/v1/checklists", json=SET, headers=auth("admin"))
    body = {
        "enterprise_code": "E1",
        "checklist_code": "GM93",
        "at": AT,
        "unannounced": True,
        "note": "四不两直暗访",
        "items": answers(grade="major"),
    }
    r = client.post("/api/v1/inspections", json=body, headers=auth("disp"))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["hazards_found"] == 1 and len(made["hazard_case_ids"]) == 1
    case = client.get(f"/api/v1/cases/{made['hazard_case_ids'][0]}", headers=auth("disp")).json()
    assert case["kind"] == "hazard" and case["grade"] == "major"
    assert case["enterprise_code"] == "E1" and case["grid_code"] == "G1"
    assert case["inspection_id"] == made["id"]
    detail = client.get(f"/api/v1/inspections/{made['id']}", headers=auth("sup")).json()
    assert detail["items"][0]["case_number"] == case["number"]
    assert detail["items"][0]["basis"] == "GB 50016-2014 第 5.5.17 条"
    listed = client.get("/api/v1/inspections?enterprise_code=E1", headers=auth("sup")).json()
    assert [i["id"] for i in listed] == [made["id"]]
    assert client.get("/api/v1/inspections?street_code=S2", headers=auth("sup")).json() == []
    figures = client.get(
        "/api/v1/inspections/figures?from=2025-09-01&to=2025-09-30&group_by=industry",
        headers=auth("sup"),
    ).json()
    assert figures["total"]["inspections"] == 1 and figures["rows"][0]["key"] == "工贸"
    assert figures["total"]["unannounced"] == 1
    r = client.patch("/api/v1/checklists/GM93", json={"items": SET["items"]}, headers=auth("admin"))
    assert r.status_code == 409


def test_refusals_write_nothing(client, auth, places) -> None:
    client.post("/api/v1/checklists", json=SET, headers=auth("admin"))
    base = {"enterprise_code": "E1", "checklist_code": "GM93", "at": AT, "items": answers()}
    missing = {**base, "items": answers()[:1]}
    r = client.post("/api/v1/inspections", json=missing, headers=auth("disp"))
    assert r.status_code == 422 and "2" in r.json()["detail"]
    r = client.post("/api/v1/inspections", json=base, headers=auth("rep1"))
    assert r.status_code == 403  # a grid worker inspects places, not enterprises
    r = client.post("/api/v1/inspections", json=base, headers=auth("disp_s2"))
    assert r.status_code == 403
    future = {**base, "at": (DEFAULT_NOW + timedelta(hours=1)).isoformat()}
    assert client.post("/api/v1/inspections", json=future, headers=auth("disp")).status_code == 422
    naive = {**base, "at": "2025-09-30T08:00:00"}
    assert client.post("/api/v1/inspections", json=naive, headers=auth("disp")).status_code == 422
    foreign = {**base, "items": answers(attachment_ids=[999999])}
    r = client.post("/api/v1/inspections", json=foreign, headers=auth("disp"))
    assert r.status_code == 422 and "999999" in r.json()["detail"]
    assert client.get("/api/v1/inspections", headers=auth("disp")).json() == []
    assert client.get("/api/v1/cases", headers=auth("disp")).json()["total"] == 0


def test_uploaded_photo_linked_to_the_hazard(client, auth, places) -> None:
    client.post("/api/v1/checklists", json=SET, headers=auth("admin"))
    # A grid worker's place: an earlier photo of theirs is linked to the hazard filed now.
    event = {
        "kind": "event",
        "title": "占道",
        "category_code": "0101",
        "grid_code": "G1",
    }
    first = client.post("/api/v1/cases", json=event, headers=auth("rep1")).json()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    up = client.post(
        f"/api/v1/cases/{first['id']}/attachments",
        files={"file": ("exit.png", io.BytesIO(png), "image/png")},
        headers=auth("rep1"),
    )
    assert up.status_code == 201, up.text
    body = {
        "enterprise_code": "P1",
        "checklist_code": "GM93",
        "at": AT,
        "items": answers(attachment_ids=[up.json()["id"]]),
    }
    r = client.post("/api/v1/inspections", json=body, headers=auth("rep1"))
    assert r.status_code == 201, r.text
    hazard = r.json()["hazard_case_ids"][0]
    photos = client.get(f"/api/v1/cases/{hazard}/attachments", headers=auth("rep1")).json()
    assert [p["filename"] for p in photos] == ["exit.png"]
    assert r.json()["items"][0]["attachment_ids"] == [photos[0]["id"]]
