"""Letters over HTTP: a supervisor issues by hand, the list, the documents, the letter case."""

import re
import shutil
import subprocess
from urllib.parse import quote

import pytest

from closeloop.db import new_session
from models.enums import CaseKind, CaseState
from tests.factories import act, case_in, new_case

PROBLEM = "application/problem+json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FIELDS = {"id", "number", "type", "unit_code", "case_ids", "issued_at", "reply_due_at", "case_id",
          "title"}


@pytest.fixture
def cases(engine, org, clock):  # type: ignore[no-untyped-def]
    """Open ZJ hazards in G1, a closed one, an SW case in G3; then 20 days pass."""
    with new_session(engine) as s:
        open_ = [case_in(s, org, CaseState.rectifying, kind=CaseKind.hazard) for _ in range(2)]
        closed = case_in(s, org, CaseState.closed)
        sw = new_case(s, org, category="0102", grid="G3", by="disp")
        act(s, org, sw, "dispatch", "disp", unit_code="SW")
        s.commit()
        ids = {"open": [c.id for c in open_], "closed": closed.id, "sw": sw.id}
    clock.advance(days=20)  # 2025-10-20 10:00 Shanghai: 4 working days past the deadline
    return ids


def _issue(client, headers, **body):
    return client.post("/api/v1/letters", headers=headers, json=body)


def test_supervisor_issues_lists_and_reads(client, auth, cases):
    r = _issue(client, auth("sup"), type="supervision", unit_code="ZJ", case_ids=cases["open"],
               reason="多次催办未果")
    assert r.status_code == 201, r.text
    letter = r.json()
    assert set(letter) == FIELDS
    assert letter["number"] == "罗应急督〔2025〕1号" and letter["type"] == "supervision"
    assert letter["case_ids"] == cases["open"] and letter["unit_code"] == "ZJ"
    assert letter["issued_at"] == "2025-10-20T10:00:00+08:00"
    assert letter["reply_due_at"] == "2025-10-23T23:59:59+08:00"
    reminder = _issue(client, auth("sup"), type="reminder", unit_code="SW", case_ids=[cases["sw"]])
    assert reminder.status_code == 201 and reminder.json()["case_id"] is None

    every = client.get("/api/v1/letters", headers=auth("sup")).json()
    assert [x["id"] for x in every] == [reminder.json()["id"], letter["id"]]
    only = client.get("/api/v1/letters?type=supervision", headers=auth("admin")).json()
    assert [x["number"] for x in only] == ["罗应急督〔2025〕1号"]
    assert client.get("/api/v1/letters?unit_code=SW", headers=auth("admin")).json()[0]["type"] == (
        "reminder"
    )
    assert [x["id"] for x in client.get("/api/v1/letters", headers=auth("h_zj")).json()] == [
        letter["id"]
    ]
    assert [x["type"] for x in client.get("/api/v1/letters", headers=auth("sup_s2")).json()] == [
        "reminder"
    ]
    assert client.get("/api/v1/letters", headers=auth("rep1")).status_code == 403
    assert client.get(f"/api/v1/letters/{letter['id']}", headers=auth("h_zj")).json() == letter
    r = client.get(f"/api/v1/letters/{letter['id']}", headers=auth("h_sw"))
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/v1/letters/4242", headers=auth("admin")).status_code == 404
    assert client.get("/api/v1/letters").status_code == 401

    history = client.get(f"/api/v1/cases/{cases['open'][0]}/history", headers=auth("sup")).json()
    assert history[-1]["action"] == "letter" and history[-1]["data"]["number"] == letter["number"]


def test_letter_case_is_signed_answered_and_verified(client, auth, cases):
    letter = _issue(client, auth("sup"), type="warning", unit_code="ZJ",
                    case_ids=cases["open"]).json()
    case_url = f"/api/v1/cases/{letter['case_id']}"
    own = client.get(case_url, headers=auth("h_zj")).json()
    assert (own["kind"], own["state"], own["number"]) == ("letter", "dispatched", "DB2025000001")
    assert own["due_at"] == letter["reply_due_at"] and own["title"] == letter["title"]
    assert "sign" in own["allowed_actions"]
    assert client.get(case_url, headers=auth("sup")).status_code == 200
    assert client.get(case_url, headers=auth("h_sw")).status_code == 403

    def step(user, action, **body):
        r = client.post(f"{case_url}/actions/{action}", headers=auth(user), json=body)
        return r

    assert step("h_zj", "sign").status_code == 200
    assert step("h_zj", "submit", note="整改情况").status_code == 422  # evidence is required
    up = client.post(f"{case_url}/attachments", headers=auth("h_zj"),
                     files={"file": ("整改报告.png", PNG, "image/png")})
    assert up.status_code == 201, up.text
    ids = [up.json()["id"]]
    assert step("h_zj", "submit", note="整改情况", attachment_ids=ids).status_code == 200
    assert step("disp", "approve").status_code == 403  # letters are verified by leadership
    rejected = step("sup", "reject", reason="未附整改前后对比")
    assert rejected.status_code == 200 and rejected.json()["rework_count"] == 1
    assert step("h_zj", "submit", note="补充", attachment_ids=ids).status_code == 200
    closed = step("sup", "approve", note="同意销号")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    actions = [h["action"] for h in client.get(f"{case_url}/history", headers=auth("sup")).json()]
    assert actions == ["issue", "sign", "submit", "reject", "submit", "approve"]


def test_documents_render_as_html_and_pdf(client, auth, cases):
    letter = _issue(client, auth("sup"), type="supervision", unit_code="ZJ",
                    case_ids=cases["open"]).json()
    html = client.get(f"/api/v1/letters/{letter['id']}.html", headers=auth("h_zj"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert letter["number"] in html.text and "<table" in html.text and "区住房和建设局：" in html.text
    pdf = client.get(f"/api/v1/letters/{letter['id']}.pdf", headers=auth("h_zj"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    disposition = pdf.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(letter['number'] + '.pdf')}" in disposition
    assert f'filename="letter-{letter["id"]}.pdf"' in disposition
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                              check=True).stdout.decode()
        flat = re.sub(r"\s+", "", text)
        assert letter["number"] in flat and letter["title"] in flat and "测试案件" in flat
    for url, status in (
        (f"/api/v1/letters/{letter['id']}.pdf", 403),
        ("/api/v1/letters/4242.pdf", 404),
        ("/api/v1/letters/4242.html", 404),
        ("/api/v1/letters/abc.pdf", 422),
        ("/api/v1/letters/0.html", 422),
    ):
        user = "h_sw" if status == 403 else "admin"
        r = client.get(url, headers=auth(user))
        assert r.status_code == status, (url, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    "user, body, status, words",
    [
        ("h_zj", {}, 403, "supervisor"),
        ("disp", {}, 403, "supervisor"),
        ("sup_s2", {}, 403, "outside your jurisdiction"),
        ("sup", {"case_ids": "closed"}, 422, "is closed"),
        ("sup", {"case_ids": "sw"}, 422, "not dispatched to unit ZJ"),
        ("sup", {"case_ids": [999999]}, 422, "do not exist"),
        ("sup", {"case_ids": []}, 422, "case_ids"),
        ("sup", {"unit_code": "NOPE"}, 422, "unit_code"),
        ("sup", {"type": "praise"}, 422, "type"),
        ("sup", {"extra": 1}, 422, "extra"),
    ],
)
def test_manual_issue_refusals_say_why(client, auth, cases, user, body, status, words):
    data = {"type": "supervision", "unit_code": "ZJ", "case_ids": cases["open"], **body}
    if isinstance(data["case_ids"], str):
        data["case_ids"] = cases["open"] + [cases[data["case_ids"]]]
    r = _issue(client, auth(user), **data)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM) and words in r.json()["detail"]
    assert client.get("/api/v1/letters", headers=auth("admin")).json() == []


def test_openapi_lists_the_document_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/letters", "/api/v1/letters/{letter_id}.pdf",
            "/api/v1/letters/{letter_id}.html", "/api/v1/letters/{letter_id}"} <= set(paths)


def test_hand_issued_warning_lists_its_cases(client, auth, session, org):
    case = case_in(session, org, CaseState.rectifying)
    session.commit()
    r = client.post("/api/v1/letters", headers=auth("sup"), json={
        "type": "warning", "unit_code": "ZJ", "case_ids": [case.id], "reason": "多次催办未果"})
    assert r.status_code == 201, r.text
    got = client.get(f"/api/v1/cases/{case.id}", headers=auth("sup")).json()
    assert got["listed"] is True
    actions = [h["action"] for h in client.get(f"/api/v1/cases/{case.id}/history",
                                               headers=auth("sup")).json()]
    assert actions[-2:] == ["letter", "list"]
