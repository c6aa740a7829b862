"""`closeloop status`: the health summary for an operator, its JSON and its exit codes, on SQLite
and PostgreSQL (the database of the `engine` fixture)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from cli import main
from closeloop.config import get_settings
from closeloop.db import new_session
from models.enums import JobStatus
from models.jobs import JobRun


@pytest.fixture
def status_db(engine, db_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", db_url)
    get_settings.cache_clear()
    return engine


def test_a_healthy_installation_exits_0(status_db, capsys):
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("状态 status: 健康 healthy")
    assert "database: reachable" in out and " ok" in out
    assert "outbox: 0 undelivered" in out
    for job in ("escalation", "delivery", "report-weekly", "report-monthly", "report-quarterly"):
        assert f"job {job}" in out

    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is True and data["database_ok"] is True
    assert data["schema_current"] is True and data["schema_revision"] == data["schema_head"]
    assert data["outbox_pending"] == 0 and data["problems"] == []
    assert [j["name"] for j in data["jobs"]][:2] == ["escalation", "delivery"]


def test_an_overdue_job_exits_1(status_db, capsys):
    now = datetime.now(UTC)
    with new_session(status_db) as s:
        s.add(
            JobRun(
                name="delivery",
                holder="t",
                started_at=now - timedelta(hours=1),
                finished_at=now - timedelta(hours=1),
                status=JobStatus.ok,
            )
        )
        s.commit()
    assert main(["status"]) == 1
    out = capsys.readouterr().out
    assert "异常 UNHEALTHY" in out and "problem: job delivery overdue" in out
    assert main(["status", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    (delivery,) = [j for j in data["jobs"] if j["name"] == "delivery"]
    assert delivery["overdue"] is True and delivery["last_status"] == "ok"
    assert data["escalation_lag_seconds"] is None  # escalation never ran


def test_an_unreachable_database_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'no' / 'such.db'}")
    get_settings.cache_clear()
    assert main(["status", "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["database_ok"] is False and data["healthy"] is False
    assert main(["status"]) == 2
    assert "database: UNREACHABLE" in capsys.readouterr().out


def test_an_unmigrated_database_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    assert main(["status"]) == 1
    assert "BEHIND" in capsys.readouterr().out


def test_an_unreachable_postgresql_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", "postgresql+psycopg://closeloop@127.0.0.1:1/none")
    get_settings.cache_clear()
    assert main(["status", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["database_error"].startswith("OperationalError")


def test_serve_writes_json_lines_with_request_ids(tmp_path):
    """The whole process's log (uvicorn's lines included) is JSON with CLOSELOOP_LOG_FORMAT=json,
    and the access line carries the request id the response sent back."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.test_cli import _free_port

    port = _free_port()
    env = {
        **os.environ,
        "CLOSELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "CLOSELOOP_DATA_DIR": str(tmp_path / "data"),
        "CLOSELOOP_SCHEDULER": "off",
        "CLOSELOOP_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if "Application startup complete" in line:
                break
        base = f"http://127.0.0.1:{port}"
        r = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "serve-check-1"})
        assert r.headers["x-request-id"] == "serve-check-1"
        assert httpx.get(f"{base}/metrics").status_code == 200  # loopback
    finally:
        proc.terminate()
        _, rest = proc.communicate(timeout=15)
    records = [
        json.loads(line) for line in [*lines, *rest.splitlines(keepends=True)] if line.strip()
    ]
    assert any(r["logger"] == "uvicorn.error" for r in records)
    (hit,) = [r for r in records if r["request_id"] == "serve-check-1"]
    assert hit["logger"] == "closeloop.access" and hit["status"] == 200
    assert hit["client"] == "127.0.0.1" and hit["route"] == "/healthz"
    assert not any(r["logger"] == "uvicorn.access" for r in records)
