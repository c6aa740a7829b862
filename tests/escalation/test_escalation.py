"""The escalation ladder on working days, run through the real services on both databases."""

from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.db import new_session, transaction
from closeloop.escalation import service as escalation
from models.case import Case
from models.enums import CaseKind, Grade, LetterType
from models.history import CaseHistory
from models.outbox import OutboxMessage
from tests.escalation.escalation_helpers import (
    end_of,
    fires_of,
    late_case,
    letters_of,
    levels_of,
    sh,
    totals,
)
from tests.factories import act

EMPTY = {"reminder": 0, "supervision": 0, "warning": 0}


def _case(engine: Engine, org, **kw) -> Case:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return late_case(s, org, **kw)


def _escalate(engine: Engine, **kw) -> dict:  # type: ignore[no-untyped-def]
    """One escalation run through the service, committed."""
    with transaction(engine) as s:
        return escalation.run(s, **kw)


def _run(engine: Engine, day: str, hour: int = 10) -> dict:
    return _escalate(engine, now=sh(day, hour))


def test_ladder_across_national_day(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    # 2025: 09-28 (Sunday) is a make-up working day, 10-01..10-08 are off, 10-11 (Saturday) is a
    # make-up working day. Deadline: the end of Tuesday 09-30.
    case = _case(engine, org, due="2025-09-30", dispatched="2025-09-26")
    assert case.id is not None
    ladder = lambda: [lv for _, lv in levels_of(engine, case.id)]  # noqa: E731

    _run(engine, "2025-09-28")  # two working days before (09-29, 09-30): not yet
    assert ladder() == []
    summary = _run(engine, "2025-09-29")  # one working day before: 临期提醒
    assert ladder() == ["due_soon"]
    assert summary["notifications"] == 1 and summary["letters"] == EMPTY
    for day in ("2025-09-30", "2025-10-01", "2025-10-05", "2025-10-08"):
        _run(engine, day, 23)  # late since 10-01 00:00, but no working day has passed yet
    assert ladder() == ["due_soon"]

    summary = _run(engine, "2025-10-09")  # 1st working day overdue: 提醒函
    assert ladder() == ["due_soon", "reminder"]
    assert summary["letters"] == {**EMPTY, "reminder": 1}
    _run(engine, "2025-10-10")  # 2nd working day: nothing new
    assert ladder() == ["due_soon", "reminder"]
    summary = _run(engine, "2025-10-11")  # Saturday, a make-up working day: the 3rd → 督办函
    assert ladder() == ["due_soon", "reminder", "supervision"]
    assert summary["letters"] == {**EMPTY, "supervision": 1}
    _run(engine, "2025-10-12")  # Sunday: still 3
    assert ladder() == ["due_soon", "reminder", "supervision"]

    ((reminder, covered),) = letters_of(engine, LetterType.reminder)
    ((supervision, covered_s),) = letters_of(engine, LetterType.supervision)
    assert covered == covered_s == [case.id]
    assert supervision.case_id is not None  # the 督办函 is itself a letter case, with a reply date
    assert supervision.reply_due_at == end_of("2025-10-15")
    fires = {f.level: f for f in fires_of(engine, case.id)}
    assert fires["reminder"].letter_id == reminder.id
    assert fires["supervision"].letter_id == supervision.id
    assert fires["supervision"].data["overdue_working_days"] == 3


def test_warning_at_ten_working_days_lists_the_case(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-09-30")
    assert case.id is not None
    # Working days overdue: 10-09 (1), 10 (2), 11 (3), 13..17 (4..8), 20 (9), 21 (10).
    # Straight to the 20th: one run, which sends only the highest letter reached.
    summary = _run(engine, "2025-10-20")
    assert summary["letters"] == {**EMPTY, "supervision": 1}
    levels = {f.level: f for f in fires_of(engine, case.id)}
    assert set(levels) == {"reminder", "supervision"}
    assert levels["reminder"].data["superseded_by"] == "supervision"
    assert levels["reminder"].letter_id is None
    # The 督办函 issued on 10-20 wants a reply by 10-23: not what brings the warning here.
    ((sup_letter, _),) = letters_of(engine, LetterType.supervision)
    assert sup_letter.reply_due_at == end_of("2025-10-23")
    summary = _run(engine, "2025-10-21")
    assert summary["letters"] == {**EMPTY, "warning": 1}
    assert summary["listed"] == 1
    with new_session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None and row.listed and row.state == "rectifying"
        entry = s.exec(
            select(CaseHistory).where(CaseHistory.case_id == case.id, CaseHistory.action == "list")
        ).one()
        assert entry.actor == "系统" and entry.from_state == entry.to_state == "rectifying"
    ((warning, covered),) = letters_of(engine, LetterType.warning)
    assert covered == [case.id]
    assert _run(engine, "2025-10-22")["listed"] == 0


def _outbox(engine: Engine, event: str) -> list[OutboxMessage]:
    with new_session(engine) as s:
        return list(
            s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.event == event)
                .order_by(col(OutboxMessage.id))
            )
        )


def test_due_soon_tells_the_unit(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-10-14", dispatched="2025-09-29")
    _run(engine, "2025-10-10")  # 10-11 (make-up day), 10-13, 10-14 still to go: 3
    assert levels_of(engine, case.id or 0) == []
    _run(engine, "2025-10-13")  # 1 working day left
    assert levels_of(engine, case.id or 0) == [(1, "due_soon")]
    messages = _outbox(engine, "due_soon")
    assert {m.user_id for m in messages} == {org["h_zj"].id}
    assert all(
        m.case_id == case.id and m.key.startswith(f"esc:{case.id}:v1:due_soon") for m in messages
    )
    assert "临期提醒" in messages[0].subject


def test_sign_overdue_tells_unit_and_dispatchers(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    # Dispatched Monday 09-29 10:00 with 2 working hours to sign: due 12:00.
    case = _case(engine, org, due="2025-10-20", dispatched="2025-09-29", sign=False)
    assert _run(engine, "2025-09-29", 11)["notifications"] == 0
    summary = _run(engine, "2025-09-29", 13)
    assert summary["notifications"] == 1
    assert levels_of(engine, case.id or 0) == [(1, "sign_overdue")]
    users = {m.user_id for m in _outbox(engine, "sign_overdue")}
    # The unit's handler and the dispatcher whose region covers the grid (not disp_s2 of S2).
    assert users == {org["h_zj"].id, org["disp"].id}
    assert _run(engine, "2025-09-29", 17)["notifications"] == 0


def test_verify_overdue_tells_the_verifier_each_round(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-11-28", dispatched="2025-09-29")
    with transaction(engine) as s:
        act(s, org, case, "submit", "h_zj", sh("2025-09-29"), note="已整改")
    # Verification: 3 working days from 09-29 → 09-30, 10-09, 10-10.
    _run(engine, "2025-10-10", 22)
    assert levels_of(engine, case.id or 0) == []
    assert _run(engine, "2025-10-11")["notifications"] == 1
    assert levels_of(engine, case.id or 0) == [(1, "verify_overdue")]
    users = {m.user_id for m in _outbox(engine, "verify_overdue")}
    assert users == {org["disp"].id, org["sup"].id}  # an event: the desk and leadership of D1
    with transaction(engine) as s:
        act(s, org, case, "reject", "disp", sh("2025-10-11"), reason="未整改到位")
        act(s, org, case, "submit", "h_zj", sh("2025-10-11"), note="已返工")
    _run(engine, "2025-10-15")  # the second round's verification is due 10-15
    assert [lv for _, lv in levels_of(engine, case.id or 0)] == ["verify_overdue"]
    _run(engine, "2025-10-16")
    assert levels_of(engine, case.id or 0) == [(1, "verify_overdue"), (1, "verify_overdue.1")]


def test_suspended_cases_do_not_escalate(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-09-30", dispatched="2025-09-26")
    with transaction(engine) as s:
        act(s, org, case, "suspend", "sup", sh("2025-09-26"), reason="等待产权单位配合")
    summary = _run(engine, "2025-10-20")
    assert summary["letters"] == EMPTY and summary["notifications"] == 0
    assert levels_of(engine, case.id or 0) == []
    with transaction(engine) as s:
        # Paused 09-28 (make-up day), 09-29, 09-30, 10-09..10-11, 10-13..10-17, 10-20: 12, so
        # the deadline moves 12 working days on from 09-30: 10-09 … 10-23.
        act(s, org, case, "resume", "sup", sh("2025-10-20"))
        row = s.get(Case, case.id)
        assert row is not None and row.deadline_version == 2
        assert row.due_at == end_of("2025-10-23")
    _run(engine, "2025-10-23")  # due today under the new version: 临期提醒, not a letter
    assert levels_of(engine, case.id or 0) == [(2, "due_soon")]
    _run(engine, "2025-10-24")
    assert levels_of(engine, case.id or 0) == [(2, "due_soon"), (2, "reminder")]


def test_extension_restarts_the_ladder(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-09-30")
    _run(engine, "2025-10-09")
    assert levels_of(engine, case.id or 0) == [(1, "reminder")]
    with transaction(engine) as s:
        at = sh("2025-10-09", 11)
        act(s, org, case, "request_extension", "h_zj", at, days=5, reason="材料采购")
        act(s, org, case, "approve_extension", "sup", at, note="同意")
    # 09-30 + 5 working days: 10-09, 10-10, 10-11, 10-13, 10-14.
    _run(engine, "2025-10-10")
    assert levels_of(engine, case.id or 0) == [(1, "reminder")]
    _run(engine, "2025-10-13")
    _run(engine, "2025-10-15")
    assert levels_of(engine, case.id or 0) == [(1, "reminder"), (2, "due_soon"), (2, "reminder")]
    assert len(letters_of(engine, LetterType.reminder)) == 2


def _mixed(engine: Engine, org) -> list[Case]:  # type: ignore[no-untyped-def]
    """Cases at every rung on 2025-10-21, in both units."""
    with transaction(engine) as s:
        made = [
            late_case(s, org, due=d, unit=u)
            for d, u in [
                ("2025-09-30", "ZJ"),
                ("2025-10-17", "ZJ"),
                ("2025-10-20", "SW"),
                ("2025-10-15", "SW"),
                ("2025-10-22", "ZJ"),
                ("2025-11-28", "SW"),
            ]
        ]
        made.append(late_case(s, org, due="2025-10-31", dispatched="2025-10-21", sign=False))
        made.append(late_case(s, org, due="2025-10-10", kind=CaseKind.hazard, grade=Grade.major))
        return made


def test_repeated_runs_fire_once(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    _mixed(engine, org)
    now = sh("2025-10-21", 15)
    first = _escalate(engine, now=now)
    assert first["notifications"] > 0 and sum(first["letters"].values()) > 0
    with new_session(engine) as s:
        after_one = totals(s)
    for _ in range(4):
        again = _escalate(engine, now=now)
        assert again["notifications"] == 0 and again["letters"] == EMPTY and again["listed"] == 0
    with new_session(engine) as s:
        assert totals(s) == after_one


def test_run_in_the_callers_session(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    _mixed(engine, org)
    now = sh("2025-10-21", 15)
    with new_session(engine) as s:
        summary = escalation.run(s, now=now)
        s.rollback()  # the caller decides: nothing was written
        assert totals(s)["fires"] == 0
    with new_session(engine) as s:
        assert escalation.run(s, now=now) == summary
        s.commit()
    with new_session(engine) as s:
        repeat = escalation.run(s, now=now)
        s.commit()
    assert repeat["letters"] == EMPTY and repeat["notifications"] == 0
    assert summary["checked"] == 7  # all but the case due 11-28


def test_one_letter_per_unit_covers_its_cases(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        zj = [late_case(s, org, due="2025-09-30", unit="ZJ").id for _ in range(3)]
        sw = [late_case(s, org, due="2025-09-30", unit="SW").id for _ in range(2)]
    summary = _run(engine, "2025-10-09")
    assert summary["letters"] == {**EMPTY, "reminder": 2}
    by_unit = {letter.unit_code: ids for letter, ids in letters_of(engine, LetterType.reminder)}
    assert by_unit == {"ZJ": sorted(zj), "SW": sorted(sw)}


def test_letter_reply_overdue_brings_a_warning_and_listing(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-09-30")
    _run(engine, "2025-10-11")  # 3 working days overdue: 督办函, reply due 10-15
    ((sup_letter, covered),) = letters_of(engine, LetterType.supervision)
    assert covered == [case.id] and sup_letter.reply_due_at == end_of("2025-10-15")
    summary = _run(engine, "2025-10-15", 23)
    assert summary["letters"] == EMPTY  # due today: not overdue yet
    summary = _run(engine, "2025-10-16")  # the reply is a working day late: 警示函, listed
    assert summary["letters"] == {**EMPTY, "warning": 1} and summary["listed"] == 1
    ((warning, covered_w),) = letters_of(engine, LetterType.warning)
    assert covered_w == [case.id]
    letter_fire = [f for f in fires_of(engine, sup_letter.case_id or 0) if f.level == "warning"]
    assert len(letter_fire) == 1 and letter_fire[0].letter_id == warning.id
    original = {f.level: f for f in fires_of(engine, case.id or 0)}
    assert original["warning"].letter_id == warning.id
    assert original["warning"].data["via_letter"] == sup_letter.id
    with new_session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None and row.listed
    # 10 working days overdue on 10-21: already warned for this deadline, no second 警示函.
    assert _run(engine, "2025-10-21")["letters"]["warning"] == 0
    # The 警示函's own reply (due 10-21) is late on 10-22: its case is already warned, so the
    # unit's head is told instead of a third letter.
    summary = _run(engine, "2025-10-22")
    assert summary["letters"] == EMPTY
    assert [m.case_id for m in _outbox(engine, "reply_overdue")] == [warning.case_id]


def test_major_hazard_escalates_faster(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case = _case(engine, org, due="2025-09-30", kind=CaseKind.hazard, grade=Grade.major)
    summary = _run(engine, "2025-10-09")  # day 1: 督办函 at once (the 提醒函 is superseded)
    assert summary["letters"] == {**EMPTY, "supervision": 1}
    _run(engine, "2025-10-13")  # day 4
    assert "warning" not in [lv for _, lv in levels_of(engine, case.id or 0)]
    summary = _run(engine, "2025-10-14")  # day 5: 警示函
    assert summary["letters"]["warning"] == 1
    ((_, covered),) = letters_of(engine, LetterType.warning)
    assert covered == [case.id]
    assert summary["listed"] == 0  # a major hazard is listed from dispatch on


def test_policy_file_from_settings(engine: Engine, org, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from closeloop.config import Settings

    path = tmp_path / "policy.toml"
    path.write_text('[ladder]\ndue_soon = false\n\n[[rule]]\ncategory = "01"\nreminder = 2\n')
    settings = Settings(escalation_policy=str(path))
    zj = _case(engine, org, due="2025-09-30", unit="ZJ")  # 0101, under class 01
    sw = _case(engine, org, due="2025-09-30", unit="SW")  # 0102, also under 01
    with transaction(engine) as s:
        other = late_case(s, org, due="2025-09-30", unit="ZJ")
        other.category_code = "0201"  # class 02: the default ladder
    assert _escalate(engine, now=sh("2025-10-09"), settings=settings)["letters"] == {
        **EMPTY,
        "reminder": 1,
    }
    assert levels_of(engine, other.id or 0) == [(1, "reminder")]
    _escalate(engine, now=sh("2025-10-10"), settings=settings)
    assert levels_of(engine, zj.id or 0) == levels_of(engine, sw.id or 0) == [(1, "reminder")]


def test_a_bad_policy_stops_the_run_before_it_writes(engine: Engine, org, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from closeloop.config import Settings
    from closeloop.escalation.policy import PolicyError

    path = tmp_path / "policy.toml"
    path.write_text("[ladder]\nreminder = 0\n")
    _case(engine, org, due="2025-09-30")
    with pytest.raises(PolicyError, match="reminder"):
        _escalate(engine, now=sh("2025-10-09"), settings=Settings(escalation_policy=str(path)))
    with new_session(engine) as s:
        assert totals(s)["fires"] == 0


def test_naive_now_is_refused(engine: Engine) -> None:
    from datetime import datetime

    import pytest

    from closeloop.errors import Invalid

    with pytest.raises(Invalid), new_session(engine) as s:
        escalation.run(s, now=datetime(2025, 10, 9, 10))
