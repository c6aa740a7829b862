"""Faults of the database layer (closeloop/db.py, api/problems.py): an exhausted connection pool
answers 503 within a bounded time, and several processes (three, started together) upgrading one
empty database migrate it once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from closeloop.clock import FixedClock
from closeloop.config import get_settings
from closeloop.db import make_engine
from tests.conftest import _create_pg_database, one_connection_engine
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def test_an_exhausted_pool_answers_503_with_retry_after_within_the_timeout(
    engine: Engine, db_url: str, org, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with one_connection_engine(db_url, monkeypatch, timeout=1) as small:
        assert small.pool.size() == 1  # type: ignore[attr-defined]
        with TestClient(create_app(engine=small, clock=clock)) as client:
            r = client.post("/api/v1/auth/token", data={"username": "disp", "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert client.get("/api/v1/cases", headers=headers).status_code == 200
            with small.connect():  # the pool's only connection, held by this thread
                started = time.monotonic()
                r = client.get("/api/v1/cases", headers=headers)
                waited = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert 0.9 <= waited < 1 + 3.0  # the pool timeout, plus a margin for a loaded machine
            assert r.headers["Retry-After"] == "2"
            assert r.headers["content-type"].startswith("application/problem+json")
            detail = r.json()["detail"]
            assert detail.startswith("服务器繁忙") and "database connection" in detail
            # The connection back in the pool, the next request is served again.
            assert client.get("/api/v1/cases", headers=headers).status_code == 200


def test_the_pool_settings_reach_the_engine(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSELOOP_POOL_SIZE", "3")
    monkeypatch.setenv("CLOSELOOP_MAX_OVERFLOW", "2")
    monkeypatch.setenv("CLOSELOOP_POOL_TIMEOUT", "7.5")
    get_settings.cache_clear()
    eng = make_engine(db_url)
    assert eng.pool.size() == 3  # type: ignore[attr-defined]
    assert eng.pool._max_overflow == 2  # type: ignore[attr-defined]
    assert eng.pool._timeout == 7.5  # type: ignore[attr-defined]
    eng.dispose()
    # An in-memory database keeps its own single-connection pool, untouched.
    make_engine("sqlite://").dispose()


UPGRADE = "from closeloop.db import upgrade; import sys; upgrade(sys.argv[1]); print('ok')"


def _upgrade_at_once(url: str, processes: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, url],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = [p.communicate(timeout=180) for p in procs]
    failed = [(p.returncode, err[-2000:]) for p, (_, err) in zip(procs, results, strict=True)]
    assert all(code == 0 for code, _ in failed), failed
    assert all(out.strip() == "ok" for out, _ in results)


def _heads() -> set[str]:
    from alembic.script import ScriptDirectory

    from closeloop.db import alembic_config

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _versions(url: str) -> list[str]:
    eng = create_engine(url)
    with eng.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    eng.dispose()
    return rows


def test_several_processes_upgrade_one_empty_postgresql_database_once(pg_url: str) -> None:
    empty = _create_pg_database()
    _upgrade_at_once(empty, 3)
    versions = _versions(empty)
    assert len(versions) == len(_heads()) and set(versions) == _heads()
    eng = create_engine(empty)
    with eng.connect() as conn:
        tables = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ).scalar_one()
        # No upgrade is left holding or waiting for the lock.
        locks = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        ).scalar_one()
    eng.dispose()
    assert tables > 20
    assert locks == 0


def test_several_processes_upgrade_one_empty_sqlite_database_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    _upgrade_at_once(url, 3)
    assert sorted(_versions(url)) == sorted(_heads())
    assert make_url(url).database is not None


def test_a_page_answers_503_too_when_the_pool_is_exhausted(
    engine: Engine, db_url: str, org, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.web.conftest import login

    with one_connection_engine(db_url, monkeypatch, timeout=1) as small:
        with TestClient(create_app(engine=small, clock=clock)) as page:
            assert login(page, "disp").status_code == 303
            assert page.get("/cases").status_code == 200
            with small.connect():
                started = time.monotonic()
                r = page.get("/cases")
                waited = time.monotonic() - started
            assert r.status_code == 503, r.text[:500]
            assert waited < 2 * 1 + 3.0  # the request's wait, and the error page's own
            assert r.headers["Retry-After"] == "2"
            assert "服务器繁忙" in r.text
            assert page.get("/cases").status_code == 200


def test_a_pool_timeout_counts_as_the_database_unavailable_for_the_jobs():
    """Escalation and delivery stop a run on an unavailable database instead of failing each
    unit: every connection busy past the pool timeout is such a case, not a fault of the data."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from closeloop.db import database_unavailable

    assert database_unavailable(PoolTimeout("QueuePool limit reached"))
    assert not database_unavailable(ValueError("a fault of the data"))
