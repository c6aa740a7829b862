"""Quiet hours (免打扰): a routine notice written outside working time waits for 09:00 of the next
working day; urgent cases are not held; in-app messages show at once."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from closeloop.calendar.days import WorkCalendar
from closeloop.config import Settings, get_settings
from closeloop.db import new_session, transaction
from models.enums import Channel, DeliveryStatus
from models.org import Unit
from models.outbox import OutboxMessage
from notifications import delivery, quiet
from tests.escalation.escalation_helpers import sh
from tests.factories import act, new_case

HOURS = quiet.QuietHours()
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("at", "released"),
    [
        (sh("2025-11-04", 20), sh("2025-11-05", 9)),  # Tuesday evening → Wednesday morning
        (sh("2025-11-05", 7), sh("2025-11-05", 9)),  # early on a working day → that morning
        (sh("2025-11-07", 18), sh("2025-11-10", 9)),  # Friday 18:00 → Monday
        (sh("2025-11-08", 11), sh("2025-11-10", 9)),  # Saturday (a day off) → Monday
        (sh("2025-09-30", 19), sh("2025-10-09", 9)),  # before the National Day week → 10-09
        (sh("2025-09-27", 21), sh("2025-09-28", 9)),  # Saturday → Sunday 09-28, a make-up day
    ],
)
def test_the_next_working_morning(at, released) -> None:  # type: ignore[no-untyped-def]
    assert HOURS.is_quiet(at, CAL)
    assert HOURS.morning(at, CAL) == released


def test_working_hours_are_not_quiet() -> None:
    assert not HOURS.is_quiet(sh("2025-11-05", 9), CAL)
    assert not HOURS.is_quiet(sh("2025-11-05", 17), CAL)
    assert not HOURS.is_quiet(sh("2025-09-28", 10), CAL)  # a make-up working day


def _dispatch(engine: Engine, org, at, *, urgent: bool = False) -> int:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        unit = s.get(Unit, "ZJ")
        assert unit is not None
        unit.email = "zj@luohu.example"
        case = new_case(s, org, now=at, urgent=urgent)
        act(s, org, case, "dispatch", "disp", at, unit_code="ZJ")
        assert case.id is not None
        return case.id


def _messages(s: Session, case_id: int) -> dict[Channel, OutboxMessage]:
    rows = s.exec(
        select(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.event == "dispatched"
        )
    ).all()
    return {m.channel: m for m in rows}


def _due(engine: Engine, at) -> list[int]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        ids = delivery.claim_due(s, now=at, settings=Settings(delivery_claim_seconds=1))
        delivery.release(s, msgs=[s.get(OutboxMessage, i) for i in ids])  # type: ignore[misc]
        return ids


def test_a_notice_at_night_waits_for_the_morning(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    evening = sh("2025-11-07", 20)  # Friday 20:00
    case_id = _dispatch(engine, org, evening)
    with new_session(engine) as s:
        m = _messages(s, case_id)
        assert m[Channel.email].next_attempt_at == sh("2025-11-10", 9)  # Monday 09:00
        assert m[Channel.email].status == DeliveryStatus.pending
        inapp = m[Channel.inapp]
        assert inapp.status == DeliveryStatus.sent and inapp.sent_at == evening
        email_id = m[Channel.email].id
    assert email_id not in _due(engine, evening + timedelta(hours=1))
    assert email_id not in _due(engine, sh("2025-11-10", 8))
    assert email_id in _due(engine, sh("2025-11-10", 9))


def test_urgent_cases_are_not_held(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    evening = sh("2025-11-07", 20)
    case_id = _dispatch(engine, org, evening, urgent=True)
    with new_session(engine) as s:
        email = _messages(s, case_id)[Channel.email]
        assert email.next_attempt_at == evening
    assert email.id in _due(engine, evening)


def test_daytime_notices_go_at_once(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    noon = sh("2025-11-07", 12)
    case_id = _dispatch(engine, org, noon)
    with new_session(engine) as s:
        assert _messages(s, case_id)[Channel.email].next_attempt_at == noon


def _policy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CLOSELOOP_ESCALATION_POLICY", str(path))
    get_settings.cache_clear()


def test_a_rule_exempts_a_category_and_quiet_hours_can_be_off(
    engine: Engine, org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    evening = sh("2025-11-07", 20)
    try:
        _policy(monkeypatch, tmp_path, '[[rule]]\ncategory = "01"\nquiet = false\n')
        case_id = _dispatch(engine, org, evening)  # category 0101, under class 01
        with new_session(engine) as s:
            assert _messages(s, case_id)[Channel.email].next_attempt_at == evening
        _policy(monkeypatch, tmp_path, "[quiet_hours]\nenabled = false\n")
        case_id = _dispatch(engine, org, evening + timedelta(minutes=5))
        with new_session(engine) as s:
            email = _messages(s, case_id)[Channel.email]
            assert email.next_attempt_at == evening + timedelta(minutes=5)
    finally:
        monkeypatch.delenv("CLOSELOOP_ESCALATION_POLICY")
        get_settings.cache_clear()


def test_messages_about_no_case_are_not_held(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    from notifications import outbox

    evening = sh("2025-11-07", 20)
    with transaction(engine) as s:
        (msg,) = outbox.notify_users(
            s,
            user_ids=[org["admin"].id],
            event="report",
            subject="报表",
            body="报表已生成",
            now=evening,
            key="report:1",
        )
        assert msg.channel == Channel.inapp
    # An email to a user with no case (e.g. a password notice) goes at once.
    with transaction(engine) as s:
        held = quiet.hold_until(
            s, now=evening, channel=Channel.email, event="report", case_id=None, letter_id=None
        )
        assert held == evening
