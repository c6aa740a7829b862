"""The dossier over HTTP: plan, recheck, notices, publish and the documents."""

import shutil
import subprocess

import pytest

from closeloop.db import new_session
from models.enums import CaseKind, CaseState, Grade
from tests.factories import act, case_in

PROBLEM = "application/problem+json"
PLAN = {
    "measures": "加装泄漏报警装置",
    "funds": "8 万元",
    "responsible": "吴海涛",
    "deadline": "2025-10-31",
    "emergency_plan": "划定警戒区，专人值守",
}


@pytest.fixture
def major(engine, org):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        case = case_in(s, org, CaseState.dispatched, kind=CaseKind.hazard, grade=Grade.major)
        act(s, org, case, "sign", "h_zj")
        s.commit()
        return case.id


def test_plan_recheck_publish_and_documents(client, auth, major, tmp_path):  # type: ignore[no-untyped-def]
    url = f"/api/v1/cases/{major}"
    assert client.get(f"{url}/plan", headers=auth("sup")).status_code == 404
    r = client.post(f"{url}/plan", headers=auth("h_zj"), json={"measures": "x"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert "资金、责任人、时限、应急预案" in r.json()["detail"]
    assert client.post(f"{url}/plan", headers=auth("h_sw"), json=PLAN).status_code == 403
    r = client.post(f"{url}/plan", headers=auth("h_zj"), json=PLAN)
    assert r.status_code == 201 and r.json()["listing_notice_id"]
    assert client.get(f"{url}/plan", headers=auth("sup")).json()["responsible"] == "吴海涛"

    listed = client.get(f"/api/v1/notices?case_id={major}", headers=auth("sup")).json()
    assert [(n["type"], n["number"], n["published_at"]) for n in listed] == [
        ("listing", None, None)
    ]
    assert {"id", "type", "number", "case_id", "published_at", "due_at"} <= set(listed[0])
    nid = listed[0]["id"]
    draft = client.get(f"/api/v1/notices/{nid}.html", headers=auth("h_zj"))
    assert draft.status_code == 200 and "草稿" in draft.text
    assert client.post(f"/api/v1/notices/{nid}/publish", headers=auth("h_zj")).status_code == 403
    pub = client.post(f"/api/v1/notices/{nid}/publish", headers=auth("sup"))
    assert pub.status_code == 200 and pub.json()["number"] == "罗应急挂〔2025〕1号"
    again = client.post(f"/api/v1/notices/{nid}/publish", headers=auth("sup"))
    assert again.status_code == 409
    pdf = client.get(f"/api/v1/notices/{nid}.pdf", headers=auth("sup"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        path = tmp_path / "n.pdf"
        path.write_bytes(pdf.content)
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
        assert "罗应急挂〔2025〕1号" in out and "吴海涛" in out and "草稿" not in out
    assert client.get(f"/api/v1/notices/{nid}", headers=auth("h_sw")).status_code == 403
    assert client.get("/api/v1/notices/99999", headers=auth("sup")).status_code == 404

    up = client.post(
        f"{url}/attachments",
        headers=auth("h_zj"),
        files={"file": ("after.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png")},
    )
    assert up.status_code == 201, up.text
    step = client.post(
        f"{url}/actions/submit", headers=auth("h_zj"), json={"attachment_ids": [up.json()["id"]]}
    )
    assert step.status_code == 200
    r = client.post(f"{url}/actions/approve", headers=auth("sup"), json={})
    assert r.status_code == 409 and "复查" in r.json()["detail"]
    r = client.post(f"{url}/recheck", headers=auth("sup"), json={"result": "fail"})
    assert r.status_code == 422
    r = client.post(f"{url}/recheck", headers=auth("sup"), json={"result": "pass", "note": "合格"})
    assert r.status_code == 201 and r.json()["result"] == "pass"
    assert client.get(f"{url}/rechecks", headers=auth("h_zj")).json()[0]["by_name"]
    assert "approve" in client.get(url, headers=auth("sup")).json()["allowed_actions"]
    r = client.post(f"{url}/actions/approve", headers=auth("sup"), json={})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    pending = client.get("/api/v1/notices?published=false", headers=auth("sup")).json()
    assert [n["type"] for n in pending] == ["delisting"]
