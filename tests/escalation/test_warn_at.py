"""Warnings at fractions of the time allowed (warn_at): when they fire, once each, and how a bad
policy is refused — through the real escalation service on both databases.

The case: dispatched Monday 2025-11-03 10:00, deadline the end of Friday 11-07. Office time
allowed (09:00–18:00 of working days): Monday 8 h + Tuesday to Friday 4 × 9 h = 44 h.
50 % = 22 h: Monday 8, Tuesday 9 → 5 h into Wednesday = Wed 11-05 14:00.
75 % = 33 h: 8 + 9 + 9 → 7 h into Thursday = Thu 11-06 16:00.
"""

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.calendar.days import WorkCalendar
from closeloop.db import new_session, transaction
from closeloop.escalation import service as escalation
from closeloop.escalation.policy import Policy, PolicyError, load_policy, parse_policy
from closeloop.escalation.warnings import level_of, office_time, warn_times
from models.outbox import OutboxMessage
from tests.escalation.escalation_helpers import end_of, late_case, levels_of, sh

WARN = parse_policy("[ladder]\nwarn_at = [0.5, 0.75]\n", source="test.toml")


def _case(engine: Engine, org) -> int:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        case = late_case(s, org, due="2025-11-07", dispatched="2025-11-03")
        assert case.id is not None
        return case.id


def _run(engine: Engine, day: str, hour: int, policy: Policy = WARN) -> dict:  # type: ignore[type-arg]
    with transaction(engine) as s:
        return escalation.run(s, now=sh(day, hour), policy=policy)


def test_the_moments_in_office_time() -> None:
    cal = WorkCalendar()
    start, due = sh("2025-11-03", 10), end_of("2025-11-07")
    assert office_time(cal, start, due).total_seconds() == 44 * 3600
    assert warn_times(cal, start, due, [0.5, 0.75]) == [
        ("warn_50", sh("2025-11-05", 14)),
        ("warn_75", sh("2025-11-06", 16)),
    ]
    assert level_of(0.125) == "warn_12_5"


def test_each_fraction_fires_once_at_its_time(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case_id = _case(engine, org)
    assert _run(engine, "2025-11-05", 13)["notifications"] == 0
    assert levels_of(engine, case_id) == []
    assert _run(engine, "2025-11-05", 14)["notifications"] == 1
    assert levels_of(engine, case_id) == [(1, "warn_50")]
    assert _run(engine, "2025-11-05", 17)["notifications"] == 0  # once per deadline
    _run(engine, "2025-11-06", 15)  # one working day left: 临期提醒, not yet 75 %
    assert [lv for _, lv in levels_of(engine, case_id)] == ["warn_50", "due_soon"]
    assert _run(engine, "2025-11-06", 16)["notifications"] == 1
    assert [lv for _, lv in levels_of(engine, case_id)] == ["warn_50", "due_soon", "warn_75"]
    assert _run(engine, "2025-11-07", 12)["notifications"] == 0
    with new_session(engine) as s:
        messages = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.case_id == case_id, col(OutboxMessage.event).startswith("warn_"))
            .order_by(col(OutboxMessage.id))
        ).all()
    assert [(m.event, m.user_id) for m in messages] == [
        ("warn_50", org["h_zj"].id),
        ("warn_75", org["h_zj"].id),
    ]
    assert messages[0].key == f"esc:{case_id}:v1:warn_50:inapp:{org['h_zj'].id}"
    assert "已用 50%" in messages[0].subject


def test_a_late_first_look_sends_only_the_highest(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case_id = _case(engine, org)
    with new_session(engine) as s:
        dry = escalation.preview(s, now=sh("2025-11-06", 17), policy=WARN)
    would = {w["level"]: w for w in dry["would_fire"]}
    assert would["warn_50"]["action"] == "superseded"
    assert would["warn_50"]["superseded_by"] == "warn_75"
    assert would["warn_75"]["action"] == "notice" and would["due_soon"]["action"] == "notice"
    assert levels_of(engine, case_id) == []  # the dry run wrote nothing
    summary = _run(engine, "2025-11-06", 17)
    assert summary["notifications"] == dry["notifications"] == 2  # warn_75 and due_soon
    assert sorted(lv for _, lv in levels_of(engine, case_id)) == [
        "due_soon",
        "warn_50",
        "warn_75",
    ]


def test_no_warning_past_the_deadline_or_when_a_rule_switches_it_off(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    case_id = _case(engine, org)
    off = parse_policy(
        '[ladder]\nwarn_at = [0.5, 0.75]\n[[rule]]\ncategory = "01"\nwarn_at = []\n',
        source="off.toml",
    )
    _run(engine, "2025-11-06", 17, off)
    assert levels_of(engine, case_id) == [(1, "due_soon")]
    _run(engine, "2025-11-10", 10)  # overdue: the letters' business, no warning any more
    assert "warn_50" not in [lv for _, lv in levels_of(engine, case_id)]


def test_default_policy_has_no_warnings_and_quiet_hours() -> None:
    policy = load_policy(None)
    assert policy.ladder.warn_at == () and policy.top_warning is None
    assert policy.quiet.enabled and policy.quiet.start.hour == 18 and policy.quiet.end.hour == 9
    assert WARN.ladder.warn_at == (0.5, 0.75) and WARN.top_warning == "warn_75"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[ladder]\nwarn_at = [0.75, 0.5]\n", "ascending"),
        ("[ladder]\nwarn_at = [0.5, 0.5]\n", "twice"),
        ("[ladder]\nwarn_at = [0, 0.5]\n", "strictly between 0 and 1"),
        ("[ladder]\nwarn_at = [0.5, 1]\n", "strictly between 0 and 1"),
        ("[ladder]\nwarn_at = 0.5\n", "must be a list"),
        ("[ladder]\nwarn_at = [true]\n", "strictly between 0 and 1"),
        ('[[rule]]\nkind = "event"\nwarn_at = ["half"]\n', "[[rule]] #1: warn_at"),
        ('[quiet_hours]\nstart = "25:00"\n', "[quiet_hours]: start"),
        ('[quiet_hours]\nend = "9"\n', "[quiet_hours]: end"),
        ('[quiet_hours]\nstart = "08:00"\nend = "09:00"\n', "end (the morning"),
        ("[quiet_hours]\nenabled = 1\n", "[quiet_hours]: enabled"),
        ('[quiet_hours]\nmorning = "09:00"\n', "unknown key 'morning'"),
        ('[[rule]]\nkind = "event"\nquiet = "no"\n', "[[rule]] #1: quiet"),
    ],
)
def test_bad_values_are_refused_naming_the_key(text: str, words: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source="bad.toml")
    assert words in err.value.msg.en and "bad.toml" in err.value.msg.en
    assert err.value.msg.zh.startswith("升级策略 bad.toml")


def test_a_rule_may_only_exempt_from_quiet_hours() -> None:
    policy = parse_policy('[[rule]]\ncategory = "02"\nquiet = false\n', source="q.toml")
    assert not policy.quiet.applies(kind="event", category="0201", class_code="02", grade=None)
    assert policy.quiet.applies(kind="event", category="0101", class_code="01", grade=None)
