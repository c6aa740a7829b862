"""The database goes away in the middle of an escalation run (issue 10, point 10).

A real outage, after the first unit has committed: on PostgreSQL the database stops accepting
connections and its sessions are terminated; on SQLite another process holds the write lock for
longer than the busy timeout. The API answers 503 problem+json saying the run stopped part-way,
what was done and that running it again completes it; `closeloop escalate` prints the same and
exits 1. Allowed back, a rerun completes the run: nothing duplicated, letter numbers without gaps.
"""

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from cli import main
from closeloop.clock import FixedClock
from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from models.escalation import EscalationFire
from models.letter import Letter, LetterItem
from tests.escalation.escalation_helpers import late_case
from tests.factories import PASSWORD

LATE = "2025-10-21T10:00:00+08:00"  # 10 working days after 09-30: 警示函 (+ 挂牌) for each unit
AT = datetime(2025, 10, 21, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up waiting for a lock after 0.3 s here (30 s by default)."""
    monkeypatch.setenv("CLOSELOOP_SQLITE_BUSY_TIMEOUT_MS", "300")
    get_settings.cache_clear()


@pytest.fixture
def two_units(short_busy_timeout, engine: Engine, org) -> list[int]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        cases = [
            late_case(s, org, unit=unit, due="2025-09-30", dispatched="2025-09-26")
            for unit in ("SW", "SW", "ZJ", "ZJ")
        ]
    return [c.id for c in cases if c.id is not None]


class Outage:
    """Cuts the database off once the first unit's work is committed (the first time a
    connection goes back to a pool while a letter exists), until `restore`."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self.lock: sqlite3.Connection | None = None
        self.cut = False

    def _pg(self, dbname: str) -> psycopg.Connection[Any]:
        u = self.url
        return psycopg.connect(
            host=u.host,
            port=u.port,
            user=u.username,
            password=u.password,
            dbname=dbname,
            autocommit=True,
        )

    def letters(self) -> int:
        if self.sqlite:
            with sqlite3.connect(str(self.url.database)) as c:
                return int(c.execute("SELECT count(*) FROM letter").fetchone()[0])
        with self._pg(str(self.url.database)) as c:
            row = c.execute("SELECT count(*) FROM letter").fetchone()
            return int(row[0]) if row else 0

    def on_checkin(self, *_: object) -> None:
        if not self.cut and self.letters() > 0:
            self.cut = True
            self.take_down()

    def take_down(self) -> None:
        if self.sqlite:
            self.lock = sqlite3.connect(
                str(self.url.database), isolation_level=None, check_same_thread=False
            )
            self.lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            return
        name = str(self.url.database)
        with self._pg("postgres") as c:
            c.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )

    def restore(self) -> None:
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None
        if not self.sqlite:
            with self._pg("postgres") as c:
                c.execute(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS true')


@contextmanager
def outage(url: str) -> Iterator[Outage]:
    cut = Outage(url)
    event.listen(Pool, "checkin", cut.on_checkin)
    try:
        yield cut
    finally:
        event.remove(Pool, "checkin", cut.on_checkin)
        cut.restore()


def assert_completed_once(engine: Engine, case_ids: list[int]) -> None:
    """Each unit got one 警示函 covering its cases; each case's levels fired once; the numbers
    run 1, 2, … per type without a gap."""
    with new_session(engine) as s:
        letters = list(s.scalars(select(Letter).order_by(Letter.id)))
        covered = {
            letter.unit_code: sorted(
                s.scalars(select(LetterItem.case_id).where(LetterItem.letter_id == letter.id))
            )
            for letter in letters
        }
        keys = [(f.case_id, f.level) for f in s.scalars(select(EscalationFire))]
    assert [(x.unit_code, str(x.type)) for x in letters] == [("SW", "warning"), ("ZJ", "warning")]
    assert covered == {"SW": case_ids[:2], "ZJ": case_ids[2:]}
    assert len(keys) == len(set(keys))
    assert {c for c, _ in keys} == set(case_ids)
    serials = [int(re.findall(r"〕(\d+)号", x.number)[0]) for x in letters]
    assert serials == [1, 2]


def _admin(client: TestClient) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_api_answers_503_part_way_and_a_rerun_completes(  # type: ignore[no-untyped-def]
    client: TestClient, engine: Engine, db_url: str, two_units: list[int], clock: FixedClock
) -> None:
    clock.at = AT
    admin = _admin(client)
    with outage(db_url) as cut:
        r = client.post("/api/v1/escalations/run", json={"now": LATE}, headers=admin)
        assert cut.cut
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 503
    detail = problem["detail"]
    assert "中途停止" in detail and "再次运行即可补全" in detail
    assert "stopped part-way" in detail and "Running it again completes it" in detail
    assert "警示函 1 份" in detail and "ZJ" in detail  # what was done, and what was not
    assert problem["summary"]["letters"]["warning"] == 1
    assert problem["units_not_done"] == ["ZJ"]
    with new_session(engine) as s:  # the unit finished before the outage kept its letter
        assert [x.unit_code for x in s.scalars(select(Letter))] == ["SW"]

    r = client.post("/api/v1/escalations/run", json={"now": LATE}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["letters"]["warning"] == 1 and r.json()["listed"] == 2
    assert_completed_once(engine, two_units)


def test_cli_prints_the_same_and_a_rerun_completes(  # type: ignore[no-untyped-def]
    engine: Engine, db_url: str, two_units: list[int], monkeypatch, capsys
) -> None:
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with outage(db_url) as cut:
        code = main(["escalate", "--now", LATE])
        assert cut.cut
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    assert "中途停止" in err and "Running it again completes it" in err
    assert json.loads(out)["letters"]["warning"] == 1  # what was done

    assert main(["escalate", "--now", LATE]) == 0
    assert json.loads(capsys.readouterr().out)["letters"]["warning"] == 1
    assert_completed_once(engine, two_units)
