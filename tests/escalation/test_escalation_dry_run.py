"""Escalation cannot write the future, and a dry run shows what would fire (issue 10, point 9).

A `now` later than the real clock (beyond the allowed skew) is refused by the API (422) and the
command line (exit 2) unless it is a dry run; a dry run writes nothing at all and says exactly
what a real run at the same time then fires."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from cli import main
from closeloop.clock import FixedClock
from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.errors import Invalid
from closeloop.escalation import service as escalation
from models.escalation import EscalationFire
from models.letter import Letter, LetterItem
from tests.escalation.escalation_helpers import late_case, sh
from tests.factories import act
from workflows.flows import run_job

T1 = "2025-10-13"  # the 4th working day after 09-30: 督办函 for the first case
T2 = "2025-10-17"  # that letter's reply (due the end of 10-16) is late: 警示函 via the reply


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (counters included), in a stable order."""
    out = {}
    with new_session(engine) as s:
        for table in SQLModel.metadata.sorted_tables:
            rows = s.execute(select(table)).all()
            out[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return out


@pytest.fixture
def ladder(engine: Engine, org) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Cases that reach every level at T2, after a real run at T1 issued a 督办函."""
    with transaction(engine) as s:
        first = late_case(s, org, due="2025-09-30", dispatched="2025-09-26")
        warned = late_case(s, org, unit="SW", due="2025-09-26", dispatched="2025-09-22")
    run_job("escalation", now=sh(T1), engine=engine)
    with transaction(engine) as s:
        supervised = late_case(s, org, due="2025-10-14", dispatched="2025-10-13")
        reminded = late_case(s, org, due="2025-10-16", dispatched="2025-10-13")
        soon = late_case(s, org, unit="SW", due="2025-10-17", dispatched="2025-10-14")
        unsigned = late_case(s, org, due="2025-10-30", dispatched="2025-10-16", sign=False)
        checking = late_case(s, org, unit="SW", due="2025-10-30", dispatched="2025-10-09")
        act(s, org, checking, "submit", "h_sw", sh("2025-10-09", 11))
    ids = {
        "first": first.id,
        "warned": warned.id,
        "supervised": supervised.id,
        "reminded": reminded.id,
        "soon": soon.id,
        "unsigned": unsigned.id,
        "checking": checking.id,
    }
    return {k: v for k, v in ids.items() if v is not None}


def _letters(engine: Engine, after: int) -> list[tuple[str, str, list[int]]]:
    with new_session(engine) as s:
        out = []
        for letter in s.scalars(select(Letter).where(Letter.id > after).order_by(Letter.id)):
            ids = s.scalars(select(LetterItem.case_id).where(LetterItem.letter_id == letter.id))
            out.append((letter.unit_code, str(letter.type), sorted(ids)))
        return sorted(out)


def test_dry_run_writes_nothing_and_matches_the_real_run(engine: Engine, ladder) -> None:  # type: ignore[no-untyped-def]
    at = sh(T2)
    before = snapshot(engine)
    with new_session(engine) as s:
        preview = escalation.preview(s, now=at)
        s.rollback()
    assert snapshot(engine) == before  # no claim, no number, no history, no outbox, no listing

    would = {(w["case_id"], w["level"]) for w in preview["would_fire"]}
    assert {w["level"] for w in preview["would_fire"]} >= {
        "due_soon",
        "sign_overdue",
        "reminder",
        "supervision",
        "warning",
        "verify_overdue",
    }
    assert "reply_overdue" in {w["action"] for w in preview["would_fire"]}
    # SW's letter covered only a case that gets its own 警示函 now: its head gets a notice instead
    replies = [w for w in preview["would_fire"] if w["action"] == "reply_overdue"]
    assert sorted(w["notice_to_head"] for w in replies) == [False, True]
    assert (ladder["first"], "warning") in would  # warned about through the late reply
    assert (ladder["warned"], "warning") in would  # 10 working days overdue
    assert all(w["case_number"] for w in preview["would_fire"])

    with new_session(engine) as s:
        fired_before = {(f.case_id, f.level) for f in s.scalars(select(EscalationFire))}
        last_letter = max(s.scalars(select(Letter.id)).all(), default=0)
    summary = run_job("escalation", now=at, engine=engine)
    with new_session(engine) as s:
        fired = {(f.case_id, f.level) for f in s.scalars(select(EscalationFire))} - fired_before
    assert would == fired
    assert {k: preview[k] for k in summary} == summary
    assert summary["listed"] >= 2 and summary["letters"]["warning"] >= 1
    issued = _letters(engine, last_letter)
    expected = sorted(
        (x["unit_code"], x["type"], sorted(x["case_ids"])) for x in preview["letters_to_issue"]
    )
    assert issued == expected

    # After the run nothing is left to fire at the same time.
    with new_session(engine) as s:
        again = escalation.preview(s, now=at)
    assert again["would_fire"] == [] and again["letters_to_issue"] == []


def test_a_future_now_is_refused_unless_dry_run() -> None:
    real = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    escalation.check_now(real + timedelta(minutes=5), real_now=real)  # within the skew
    escalation.check_now(real - timedelta(days=30), real_now=real)  # the past is fine
    with pytest.raises(Invalid) as err:
        escalation.check_now(real + timedelta(days=10), real_now=real)
    assert "未来" in err.value.detail and "future" in err.value.detail
    escalation.check_now(real + timedelta(days=10), real_now=real, dry_run=True)


def test_the_flow_refuses_a_future_now_too(engine: Engine, ladder) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(engine)
    with pytest.raises(Invalid):
        run_job("escalation", now=datetime.now(UTC) + timedelta(days=10), engine=engine)
    assert snapshot(engine) == before


def test_an_incomplete_run_survives_pickling() -> None:
    import pickle

    summary = {
        "checked": 1,
        "notifications": 0,
        "letters": dict.fromkeys(("reminder", "supervision", "warning"), 0),
        "listed": 0,
    }
    exc = escalation.EscalationIncomplete(summary, {"ZJ": OSError("gone")}, ["SW"], outage=True)
    again = pickle.loads(pickle.dumps(exc))
    assert (again.status, again.detail, again.summary) == (503, exc.detail, summary)


def _admin(client: TestClient) -> dict[str, str]:
    from tests.factories import PASSWORD

    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_api_refuses_a_future_now_and_previews_it(  # type: ignore[no-untyped-def]
    client: TestClient, engine: Engine, ladder, clock: FixedClock
) -> None:
    clock.at = sh(T1, 12)
    admin = _admin(client)
    before = snapshot(engine)
    r = client.post("/api/v1/escalations/run", json={"now": f"{T2}T10:00:00"}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "未来" in r.json()["detail"] and "dry run" in r.json()["detail"]
    body = {"now": f"{T2}T10:00:00", "dry_run": True}
    r = client.post("/api/v1/escalations/run", json=body, headers=admin)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert set(preview) == {
        "checked",
        "notifications",
        "letters",
        "listed",
        "would_fire",
        "letters_to_issue",
    }
    assert sum(preview["letters"].values()) == len(preview["letters_to_issue"]) >= 3
    first = {"case_id": ladder["first"], "level": "warning"}
    assert any(w.items() >= first.items() for w in preview["would_fire"])
    assert all(set(x) >= {"unit_code", "type", "case_ids"} for x in preview["letters_to_issue"])
    assert snapshot(engine) == before
    # A real run at the server's time keeps the summary shape it always had.
    r = client.post("/api/v1/escalations/run", json={"now": None}, headers=admin)
    assert r.status_code == 200 and set(r.json()) == {
        "checked",
        "notifications",
        "letters",
        "listed",
    }


@pytest.fixture
def cli_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", db_url)
    get_settings.cache_clear()
    return db_url


def test_cli_refuses_a_future_now_and_dry_runs_it(  # type: ignore[no-untyped-def]
    engine: Engine, ladder, cli_db: str, capsys
) -> None:
    future = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    before = snapshot(engine)
    assert main(["escalate", "--now", future]) == 2
    captured = capsys.readouterr()
    assert "future" in captured.err and "未来" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""
    assert snapshot(engine) == before

    assert main(["escalate", "--dry-run", "--now", f"{T2}T10:00:00"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert preview["would_fire"] and preview["letters_to_issue"]
    assert main(["escalate", "--dry-run", "--now", future]) == 0  # a dry run may look ahead
    assert json.loads(capsys.readouterr().out)["checked"] >= 1
    assert snapshot(engine) == before


def test_a_supervisors_dry_run_reads_only_their_jurisdiction(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    """The dashboard's preview for a supervisor sweeps their region's cases in SQL, not the
    whole city's: another street's late case is neither checked nor fired."""
    with transaction(engine) as s:
        mine = late_case(s, org, due="2025-09-30", dispatched="2025-09-26")
        theirs = late_case(s, org, due="2025-09-30", dispatched="2025-09-26")
        theirs.region_path = "/elsewhere/" + theirs.region_path
        s.add(theirs)
        region = mine.region_path
    with new_session(engine) as s:
        everywhere = escalation.preview(s, now=sh(T1))
        only_mine = escalation.preview(s, now=sh(T1), region_path=region)
    assert {f["case_id"] for f in everywhere["would_fire"]} >= {mine.id, theirs.id}
    assert {f["case_id"] for f in only_mine["would_fire"]} == {mine.id}
    assert only_mine["checked"] == everywhere["checked"] - 1
