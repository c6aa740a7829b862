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
FIELDS = {
    "id",
    "number",
    "type",
    "unit_code",
    "case_ids",
    "issued_at",
    "reply_due_at",
    "case_id",
    "title",
    "withdrawn",
    "withdrawn_at",
    "withdraw_reason",
}


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
    r = _issue(
        client,
        auth("sup"),
        type="supervision",
        unit_code="ZJ",
        case_ids=cases["open"],
        reason="多次催办未果",
    )
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
    letter = _issue(
        client, auth("sup"), type="warning", unit_code="ZJ", case_ids=cases["open"]
    ).json()
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
    up = client.post(
        f"{case_url}/attachments",
        headers=auth("h_zj"),
        files={"file": ("整改报告.png", PNG, "image/png")},
    )
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
    letter = _issue(
        client, auth("sup"), type="supervision", unit_code="ZJ", case_ids=cases["open"]
    ).json()
    html = client.get(f"/api/v1/letters/{letter['id']}.html", headers=auth("h_zj"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert (
        letter["number"] in html.text and "<table" in html.text and "区住房和建设局：" in html.text
    )
    pdf = client.get(f"/api/v1/letters/{letter['id']}.pdf", headers=auth("h_zj"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    disposition = pdf.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(letter['number'] + '.pdf')}" in disposition
    assert f'filename="letter-{letter["id"]}.pdf"' in disposition
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
        ).stdout.decode()
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
    assert {
        "/api/v1/letters",
        "/api/v1/letters/{letter_id}.pdf",
        "/api/v1/letters/{letter_id}.html",
        "/api/v1/letters/{letter_id}",
    } <= set(paths)


def test_hand_issued_warning_lists_its_cases(client, auth, session, org):
    case = case_in(session, org, CaseState.rectifying)
    session.commit()
    r = client.post(
        "/api/v1/letters",
        headers=auth("sup"),
        json={
            "type": "warning",
            "unit_code": "ZJ",
            "case_ids": [case.id],
            "reason": "多次催办未果",
        },
    )
    assert r.status_code == 201, r.text
    got = client.get(f"/api/v1/cases/{case.id}", headers=auth("sup")).json()
    assert got["listed"] is True
    actions = [
        h["action"]
        for h in client.get(f"/api/v1/cases/{case.id}/history", headers=auth("sup")).json()
    ]
    assert actions[-2:] == ["letter", "list"]


# --- issue 10: preview, chosen reply date, withdraw (作废), letter cases' own lifecycle ---------


def test_preview_shows_the_letter_and_writes_nothing(client, auth, cases):
    body = {
        "type": "supervision",
        "unit_code": "ZJ",
        "case_ids": cases["open"],
        "reason": "多次催办未果",
    }
    for _ in range(3):
        r = client.post("/api/v1/letters/preview", headers=auth("sup"), json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert "文号待定" in r.text and 'data-mark="preview"' in r.text and "预览" in r.text
        assert "关于督促加快整改超期隐患的督办函" in r.text and "〔2025〕" not in r.text
    assert client.get("/api/v1/letters", headers=auth("admin")).json() == []
    history = client.get(f"/api/v1/cases/{cases['open'][0]}/history", headers=auth("sup")).json()
    assert [h["action"] for h in history if h["action"] in ("letter", "list")] == []
    # Same validation as issuing.
    for user, extra, status in (
        ("h_zj", {}, 403),
        ("sup_s2", {}, 403),
        ("sup", {"case_ids": [999999]}, 422),
        ("sup", {"type": "praise"}, 422),
        ("sup", {"reply_due_at": "2025-10-01"}, 422),
    ):
        r = client.post("/api/v1/letters/preview", headers=auth(user), json={**body, **extra})
        assert r.status_code == status, (user, extra, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    issued = _issue(client, auth("sup"), **body).json()
    assert issued["number"] == "罗应急督〔2025〕1号"  # previews drew no number


def test_the_supervisor_chooses_the_reply_date(client, auth, cases):
    r = _issue(
        client,
        auth("sup"),
        type="warning",
        unit_code="ZJ",
        case_ids=cases["open"],
        reply_due_at="2025-10-22",
    )
    assert r.status_code == 201, r.text
    assert r.json()["reply_due_at"] == "2025-10-22T23:59:59+08:00"
    r = _issue(
        client,
        auth("sup"),
        type="reminder",
        unit_code="ZJ",
        case_ids=cases["open"],
        reply_due_at="2025-10-22",
    )
    assert r.status_code == 422 and "reminder asks for no reply" in r.json()["detail"]


def test_withdraw_over_http(client, auth, cases):
    letter = _issue(
        client, auth("sup"), type="warning", unit_code="ZJ", case_ids=cases["open"]
    ).json()
    url = f"/api/v1/letters/{letter['id']}/withdraw"
    r = client.post(url, headers=auth("h_zj"), json={"reason": "发错"})
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    assert client.post(url, headers=auth("disp"), json={"reason": "发错"}).status_code == 403
    assert client.post(url, headers=auth("sup_s2"), json={"reason": "发错"}).status_code == 403
    for body in ({}, {"reason": "  "}):
        r = client.post(url, headers=auth("sup"), json=body)
        assert r.status_code == 422 and "needs a reason" in r.json()["detail"], r.text
    assert (
        client.post(url, headers=auth("sup"), json={"reason": "x", "extra": 1}).status_code == 422
    )
    assert (
        client.post(
            "/api/v1/letters/4242/withdraw", headers=auth("sup"), json={"reason": "x"}
        ).status_code
        == 404
    )
    r = client.post(url, headers=auth("sup"), json={"reason": "主送单位有误"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert set(done) == FIELDS
    assert (done["withdrawn"], done["withdraw_reason"]) == (True, "主送单位有误")
    assert done["withdrawn_at"] == "2025-10-20T10:00:00+08:00"
    assert done["number"] == letter["number"] == "罗应急警〔2025〕1号"
    again = client.post(url, headers=auth("sup"), json={"reason": "再来一次"})
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]
    listed = client.get("/api/v1/letters", headers=auth("h_zj")).json()
    assert [(x["id"], x["withdrawn"]) for x in listed] == [(letter["id"], True)]
    own = client.get(f"/api/v1/cases/{letter['case_id']}", headers=auth("sup")).json()
    assert (own["state"], own["allowed_actions"]) == ("cancelled", [])
    for c in cases["open"]:  # listed by this warning alone: unlisted
        assert client.get(f"/api/v1/cases/{c}", headers=auth("sup")).json()["listed"] is False
    html = client.get(f"/api/v1/letters/{letter['id']}.html", headers=auth("h_zj")).text
    assert "作废原因：主送单位有误" in html
    if shutil.which("pdftotext"):
        pdf = client.get(f"/api/v1/letters/{letter['id']}.pdf", headers=auth("h_zj")).content
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "作废" in re.sub(r"\s+", "", text)
    nxt = _issue(client, auth("sup"), type="warning", unit_code="ZJ", case_ids=cases["open"])
    assert nxt.json()["number"] == "罗应急警〔2025〕2号"
    # No route edits or deletes a letter.
    assert (
        client.patch(
            f"/api/v1/letters/{letter['id']}", headers=auth("admin"), json={"title": "x"}
        ).status_code
        == 405
    )
    assert (
        client.delete(f"/api/v1/letters/{letter['id']}", headers=auth("admin")).status_code == 405
    )


def test_a_letter_case_cannot_be_returned_cancelled_or_merged(client, auth, cases):
    letter = _issue(
        client, auth("sup"), type="supervision", unit_code="ZJ", case_ids=cases["open"]
    ).json()
    url = f"/api/v1/cases/{letter['case_id']}"
    own = client.get(url, headers=auth("h_zj")).json()
    assert own["state"] == "dispatched" and own["allowed_actions"] == ["sign"]
    r = client.post(f"{url}/actions/return", headers=auth("h_zj"), json={"reason": "不归我们管"})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert "督办件不能退单、撤销或合并" in detail and "dispatched" in detail and "sign" in detail
    for action, body in (("cancel", {"reason": "x"}), ("merge", {"target_case_id": 1})):
        r = client.post(f"{url}/actions/{action}", headers=auth("sup"), json=body)
        assert r.status_code == 409 and "never be returned, cancelled or merged" in r.text
    r = client.post(f"{url}/actions/withdraw", headers=auth("sup"), json={"reason": "x"})
    assert r.status_code == 403 and "/withdraw" in r.json()["detail"]
    after = client.get(url, headers=auth("h_zj")).json()
    assert (after["state"], after["version"]) == ("dispatched", own["version"])
