"""In-app notifications over HTTP (list, read, read-all, only one's own) and the admin outbox."""

from sqlalchemy import func
from sqlmodel import select

from closeloop.config import Settings
from closeloop.db import new_session, transaction
from models.org import Unit
from models.outbox import OutboxMessage
from tests.notifications.delivering import delivery_job
from tests.notifications.servers import free_port

PROBLEM = "application/problem+json"


def _file_and_dispatch(client, auth, title="占道经营") -> dict:
    body = {
        "kind": "event",
        "title": title,
        "description": "早市摊贩占道",
        "category_code": "0101",
        "grid_code": "G1",
        "address": "东门路12号",
    }
    case = client.post("/api/v1/cases", headers=auth("rep1"), json=body).json()
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch",
        headers=auth("disp"),
        json={"version": case["version"]},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_handler_sees_the_dispatch_notice_newest_first_and_reads_it(client, auth, clock):
    first = _file_and_dispatch(client, auth, "第一件")
    clock.advance(minutes=5)
    second = _file_and_dispatch(client, auth, "第二件")
    r = client.get("/api/v1/notifications", headers=auth("h_zj"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2 and page["unread"] == 2 and page["page"] == 1
    newest, older = page["items"]
    assert newest["case_id"] == second["id"] and older["case_id"] == first["id"]
    assert "新案件待签收" in newest["subject"] and second["number"] in newest["body"]
    assert newest["read_at"] is None and newest["created_at"].endswith("+08:00")
    assert client.get("/api/v1/notifications", headers=auth("h_sw")).json()["total"] == 0

    r = client.post(f"/api/v1/notifications/{older['id']}/read", headers=auth("h_zj"))
    assert r.status_code == 200 and r.json()["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=true", headers=auth("h_zj")).json()
    assert [m["id"] for m in unread["items"]] == [newest["id"]]
    assert unread["total"] == 1 and unread["unread"] == 1
    again = client.post(f"/api/v1/notifications/{older['id']}/read", headers=auth("h_zj"))
    assert again.json()["read_at"] == r.json()["read_at"]  # reading twice keeps the first time


def test_only_ones_own_message_can_be_read(client, auth):
    _file_and_dispatch(client, auth)
    (msg,) = client.get("/api/v1/notifications", headers=auth("h_zj")).json()["items"]
    for other in ("h_sw", "disp", "admin"):
        r = client.post(f"/api/v1/notifications/{msg['id']}/read", headers=auth(other))
        assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    assert client.post("/api/v1/notifications/999999/read", headers=auth("h_zj")).status_code == 404
    assert client.get("/api/v1/notifications", headers=auth("h_zj")).json()["unread"] == 1
    assert client.get("/api/v1/notifications").status_code == 401


def test_read_all_and_paging(client, auth):
    for n in range(3):
        _file_and_dispatch(client, auth, f"案件{n}")
    page = client.get("/api/v1/notifications?page=2&page_size=2", headers=auth("h_zj")).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page_size"] == 2
    r = client.post("/api/v1/notifications/read-all", headers=auth("h_zj"))
    assert r.status_code == 200 and r.json() == {"marked": 3}
    assert client.get("/api/v1/notifications", headers=auth("h_zj")).json()["unread"] == 0
    assert client.post("/api/v1/notifications/read-all", headers=auth("h_zj")).json() == {
        "marked": 0
    }


def test_a_refused_action_writes_no_notification(client, auth, engine):
    case = _file_and_dispatch(client, auth)
    stale = client.post(
        f"/api/v1/cases/{case['id']}/actions/return",
        headers=auth("h_zj"),
        json={"version": case["version"] - 1, "reason": "不属于本单位"},
    )
    assert stale.status_code == 409
    with new_session(engine) as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == 1  # the dispatch
    assert client.get("/api/v1/notifications", headers=auth("disp")).json()["total"] == 0


def test_admin_sees_delivery_state_and_retries_a_failed_message(
    client, auth, engine, clock, monkeypatch
):
    with transaction(engine) as s:
        s.get(Unit, "ZJ").webhook_url = f"http://127.0.0.1:{free_port()}/robot"  # nobody there
    _file_and_dispatch(client, auth)
    delivery_job(monkeypatch)(
        engine,
        now=clock.now(),
        settings=Settings(delivery_max_attempts=1, webhook_timeout_seconds=2),
    )
    admin = auth("admin")
    r = client.get("/api/v1/outbox?status=failed", headers=admin)
    assert r.status_code == 200, r.text
    (failed,) = r.json()["items"]
    assert failed["channel"] == "webhook" and failed["attempts"] == 1
    assert "ConnectError" in failed["last_error"] and failed["sent_at"] is None
    assert failed["next_attempt_at"].endswith("+08:00")
    assert client.get("/api/v1/outbox", headers=admin).json()["total"] == 2  # and the in-app one
    assert (
        client.get("/api/v1/outbox?channel=inapp", headers=admin).json()["items"][0]["status"]
        == "sent"
    )
    assert client.get("/api/v1/outbox?status=lost", headers=admin).status_code == 422
    assert client.get("/api/v1/outbox", headers=auth("disp")).status_code == 403

    assert (
        client.post(f"/api/v1/outbox/{failed['id']}/retry", headers=auth("sup")).status_code == 403
    )
    r = client.post(f"/api/v1/outbox/{failed['id']}/retry", headers=admin)
    assert r.status_code == 200, r.text
    retried = r.json()
    assert retried["status"] == "pending" and retried["attempts"] == 0
    assert retried["last_error"] == failed["last_error"]  # what went wrong stays visible
    again = client.post(f"/api/v1/outbox/{failed['id']}/retry", headers=admin)
    assert again.status_code == 409 and "pending" in again.json()["detail"]
    assert client.post("/api/v1/outbox/999999/retry", headers=admin).status_code == 404
    assert client.get("/api/v1/outbox?status=pending", headers=admin).json()["total"] == 1
