"""The escalation and delivery flows as a user runs them: `closeloop escalate` (a real process),
POST /api/v1/escalations/run, `closeloop run-job`, and the flows' summaries and effects."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import col, select

from cli import main
from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from models.enums import DeliveryStatus
from models.escalation import EscalationFire
from models.jobs import JobRun
from models.letter import Letter
from models.org import Unit
from models.outbox import OutboxMessage
from tests.escalation.escalation_helpers import late_case
from tests.factories import PASSWORD
from workflows.flows import run_job

KEYS = {"checked", "notifications", "letters", "listed"}
NONE = {"reminder": 0, "supervision": 0, "warning": 0}
LATE = "2025-10-20T10:00:00+08:00"  # 14 working days after a deadline at the end of 09-30


@pytest.fixture
def late(engine: Engine, org):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return late_case(s, org, due="2025-09-30", dispatched="2025-09-26")


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", db_url)
    get_settings.cache_clear()
    return db_url


def _count(engine: Engine, model: type, *where: object) -> int:
    with new_session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def test_cli_escalate_runs_the_flow_once(engine: Engine, late, cli_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "CLOSELOOP_DATABASE_URL": cli_db}
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "escalate", "--now", LATE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert set(summary) >= KEYS and set(summary["letters"]) == set(NONE)
    assert summary["checked"] >= 1 and sum(summary["letters"].values()) >= 1
    assert _count(engine, Letter) == sum(summary["letters"].values())
    fires = _count(engine, EscalationFire, col(EscalationFire.case_id) == late.id)
    assert fires >= 1
    # The same run again, in-process: everything has fired, nothing fires twice.
    assert main(["escalate", "--now", LATE]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["letters"] == NONE and again["notifications"] == 0
    assert _count(engine, EscalationFire, col(EscalationFire.case_id) == late.id) == fires


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01T10:00:00", ""])
def test_cli_refuses_a_bad_now(cli_db: str, bad: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["escalate", "--now", bad]) == 2
    err = capsys.readouterr().err
    assert "ISO 8601" in err and "now" in err


def _token(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_api_runs_the_flow(client: TestClient, engine: Engine, late, clock) -> None:  # type: ignore[no-untyped-def]
    clock.at = datetime(2025, 10, 20, 2, 5, tzinfo=UTC)  # a run's now may not be in the future
    admin = _token(client, "admin")
    # No offset: Shanghai time. 10:00 in Shanghai is 02:00 UTC.
    r = client.post("/api/v1/escalations/run", json={"now": "2025-10-20T10:00:00"}, headers=admin)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert set(summary) == KEYS and set(summary["letters"]) == set(NONE)
    assert sum(summary["letters"].values()) >= 1
    with new_session(engine) as s:
        issued = {letter.issued_at for letter in s.exec(select(Letter))}
    assert issued == {datetime(2025, 10, 20, 2, 0, tzinfo=UTC)}
    again = client.post("/api/v1/escalations/run", json={"now": LATE}, headers=admin).json()
    assert again["letters"] == NONE and again["notifications"] == 0
    # null (or no body): the server's clock, 2025-10-20 10:05 Shanghai here
    for body in ({"now": None}, None):
        r = client.post("/api/v1/escalations/run", json=body, headers=admin)
        assert r.status_code == 200 and set(r.json()) == KEYS, r.text


def test_api_refuses_a_bad_now_and_non_admins(client: TestClient, org) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/escalations/run", json={"now": "next tuesday"}, headers=_token(client, "admin")
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "ISO 8601" in r.json()["detail"]
    r = client.post("/api/v1/escalations/run", json={"now": None}, headers=_token(client, "sup"))
    assert r.status_code == 403
    assert client.post("/api/v1/escalations/run", json={}).status_code == 401


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A group robot on loopback that records what it is sent."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode": 0}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/robot", received
    finally:
        server.shutdown()
        server.server_close()


def test_delivery_flow_sends_what_escalation_queued(engine: Engine, late, webhook) -> None:  # type: ignore[no-untyped-def]
    url, received = webhook
    with transaction(engine) as s:
        unit = s.exec(select(Unit).where(Unit.code == "ZJ")).one()
        unit.webhook_url = url
    at = datetime.fromisoformat(LATE)
    run_job("escalation", now=at, engine=engine)
    due = col(OutboxMessage.status) == DeliveryStatus.pending
    queued = _count(engine, OutboxMessage, due)
    assert queued >= 1
    summary = run_job("delivery", now=at, engine=engine)
    assert summary == {"claimed": queued, "sent": queued, "retrying": 0, "failed": 0}
    assert len(received) == queued
    assert _count(engine, OutboxMessage, due) == 0
    assert run_job("delivery", now=at, engine=engine)["claimed"] == 0  # nothing sent twice


def test_run_job_and_jobs_commands(engine: Engine, cli_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["jobs"]) == 0
    listing = capsys.readouterr().out
    assert "escalation" in listing and "*/10 * * * *" in listing and "Asia/Shanghai" in listing
    assert main(["run-job", "delivery"]) == 0
    assert set(json.loads(capsys.readouterr().out)) >= {"claimed", "sent", "retrying", "failed"}
    with new_session(engine) as s:
        runs = list(s.exec(select(JobRun)))
    assert [(r.name, r.status) for r in runs] == [("delivery", "ok")]
    assert runs[0].finished_at is not None
    assert main(["run-job", "nope"]) == 2
    assert "escalation" in capsys.readouterr().err
