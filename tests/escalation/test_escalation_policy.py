"""The escalation policy (TOML) and the pure ladder rule; no database needed."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from closeloop.calendar.days import SHANGHAI, WorkCalendar
from closeloop.config import get_settings
from closeloop.errors import Invalid
from closeloop.escalation.policy import (
    Facts,
    Ladder,
    PolicyError,
    claim_level,
    due_levels,
    load_policy,
    overdue_working_days,
    parse_policy,
)
from closeloop.escalation.sweep import SweepContext
from models.enums import CaseKind

CAL = WorkCalendar()


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=SHANGHAI)


def eod(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=SHANGHAI)


def facts(state: str = "rectifying", due: str | None = "2025-09-30", **kw: object) -> Facts:
    base: dict[str, object] = dict(
        case_id=1,
        kind="event",
        state=state,
        unit_code="ZJ",
        deadline_version=1,
        due_at=eod(due) if due else None,
    )
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


# --- the default ladder --------------------------------------------------------------------


def test_default_ladder_is_designs() -> None:
    policy = load_policy(None)
    assert policy.ladder == Ladder(
        due_soon=1, sign_overdue=True, reminder=1, supervision=3, warning=10, verify_overdue=True
    )
    assert load_policy("") == policy
    assert policy.max_due_soon == 1


def test_major_hazards_escalate_faster_by_default() -> None:
    policy = load_policy(None)
    major = policy.ladder_for(kind="hazard", category="0201", class_code="02", grade="major")
    assert (major.reminder, major.supervision, major.warning) == (1, 1, 5)
    general = policy.ladder_for(kind="hazard", category="0201", class_code="02", grade="general")
    assert general == policy.ladder
    assert policy.ladder_for(kind="event", category="0101", class_code="01") == policy.ladder


def test_letters_go_straight_to_warning_by_default() -> None:
    letter = load_policy(None).ladder_for(kind="letter")
    assert (letter.reminder, letter.supervision, letter.warning) == (None, None, 1)
    assert letter.due_soon == 1 and letter.sign_overdue


def test_rules_select_by_kind_category_and_grade(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        """
[ladder]
warning = 12

[[rule]]
category = "02"        # a class: every item under it
reminder = 2

[[rule]]
category = "0201"      # one item; later rules win
reminder = 4
due_soon = 3

[[rule]]
kind = "event"
grade = "major"        # events have no grade: never matches
warning = 2

[[rule]]
kind = "hazard"
category = "02"
verify_overdue = false
""",
        encoding="utf-8",
    )
    policy = load_policy(path)
    assert policy.source == str(path)
    assert policy.ladder.warning == 12 and policy.ladder.supervision == 3
    item = policy.ladder_for(kind="event", category="0201", class_code="02")
    assert (item.reminder, item.due_soon, item.warning, item.verify_overdue) == (4, 3, 12, True)
    sibling = policy.ladder_for(kind="event", category="0202", class_code="02")
    assert (sibling.reminder, sibling.due_soon) == (2, 1)
    assert (
        policy.ladder_for(kind="hazard", category="0202", class_code="02").verify_overdue is False
    )
    assert policy.ladder_for(kind="event", category="0101", class_code="01").reminder == 1
    assert policy.max_due_soon == 3


def test_false_switches_a_level_off() -> None:
    policy = parse_policy("[ladder]\nreminder = false\nsign_overdue = false\n")
    assert policy.ladder.reminder is None and policy.ladder.sign_overdue is False


# --- bad policies --------------------------------------------------------------------------

BAD = [
    ("[ladder]\nremind = 1\n", "unknown key 'remind'"),
    ("[ladders]\nreminder = 1\n", "unknown key 'ladders'"),
    ("[ladder]\nreminder = 0\n", "reminder must be a number of working days from 1 to 365"),
    ("[ladder]\nwarning = 400\n", "warning must be a number of working days"),
    ('[ladder]\nsupervision = "3"\n', "supervision must be a number of working days"),
    ("[ladder]\nsupervision = true\n", "supervision must be a number of working days"),
    ("[ladder]\nwarning = 2.5\n", "warning must be a number of working days"),
    ("[ladder]\nsign_overdue = 1\n", "sign_overdue must be true or false"),
    ("[ladder]\nreminder = \n", "is not valid TOML"),
    ("ladder = 3\n", "[ladder] must be a table"),
    ("rule = 3\n", "rules must be [[rule]] tables"),
    ("[[rule]]\nreminder = 2\n", "[[rule]] #1 matches nothing"),
    ('[[rule]]\nkind = "event"\n', "[[rule]] #1 changes no level"),
    ('[[rule]]\nkind = "events"\nreminder = 2\n', "kind = 'events' is not one of event, hazard"),
    ('[[rule]]\nkind = "hazard"\ngrade = "big"\nwarning = 2\n', "grade = 'big' is not one"),
    ("[[rule]]\ncategory = 2\nwarning = 2\n", "category must be a non-empty string"),
    (
        '[[rule]]\nkind = "event"\nwarning = 2\n[[rule]]\nkind = "hazard"\ncolour = 1\n',
        "[[rule]] #2 unknown key 'colour'",
    ),
]


@pytest.mark.parametrize(("text", "says"), BAD)
def test_bad_policy_is_refused_naming_the_key(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(str(path))
    message = str(err.value)
    assert says in message
    assert message.startswith(f"升级策略 {path}：")  # Chinese first, then English
    assert f" / escalation policy {path}: " in message
    assert isinstance(err.value, Invalid)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.toml")


# --- the pure rule: due_levels -------------------------------------------------------------

LADDER = load_policy(None).ladder


def test_due_soon_is_one_working_day_before() -> None:
    f = facts(due="2025-09-30")  # Tuesday; 09-28 (Sunday) is a make-up working day
    assert due_levels(f, LADDER, CAL, at("2025-09-28")) == []
    assert due_levels(f, LADDER, CAL, at("2025-09-29")) == ["due_soon"]
    assert due_levels(f, LADDER, CAL, at("2025-09-30", 23)) == ["due_soon"]


def test_overdue_days_skip_national_day_and_count_the_make_up_saturday() -> None:
    f = facts(due="2025-09-30")
    assert [
        overdue_working_days(eod("2025-09-30"), CAL, at(d))
        for d in (
            "2025-10-01",
            "2025-10-08",
            "2025-10-09",
            "2025-10-10",
            "2025-10-11",
            "2025-10-12",
            "2025-10-21",
        )
    ] == [0, 0, 1, 2, 3, 3, 10]
    assert due_levels(f, LADDER, CAL, at("2025-10-08")) == []
    assert due_levels(f, LADDER, CAL, at("2025-10-09")) == ["reminder"]
    assert due_levels(f, LADDER, CAL, at("2025-10-11")) == ["reminder", "supervision"]
    assert due_levels(f, LADDER, CAL, at("2025-10-20")) == ["reminder", "supervision"]
    assert due_levels(f, LADDER, CAL, at("2025-10-21")) == ["reminder", "supervision", "warning"]


def test_a_local_day_off_counts_too() -> None:
    cal = WorkCalendar(overrides={date(2025, 10, 9): False})
    assert due_levels(facts(), LADDER, cal, at("2025-10-09")) == []
    assert due_levels(facts(), LADDER, cal, at("2025-10-10")) == ["reminder"]


def test_suspended_and_submitted_cases_do_not_climb() -> None:
    assert due_levels(facts(state="suspended"), LADDER, CAL, at("2025-11-30")) == []
    assert due_levels(facts(state="verifying"), LADDER, CAL, at("2025-11-30")) == []
    assert due_levels(facts(state="closed"), LADDER, CAL, at("2025-11-30")) == []
    assert due_levels(facts(state="dispatched"), LADDER, CAL, at("2025-10-09")) == ["reminder"]


def test_sign_and_verify_overdue() -> None:
    unsigned = facts(state="dispatched", due="2025-10-31", sign_due_at=at("2025-10-09", 12))
    assert due_levels(unsigned, LADDER, CAL, at("2025-10-09", 11)) == []
    assert due_levels(unsigned, LADDER, CAL, at("2025-10-09", 13)) == ["sign_overdue"]
    waiting = facts(state="verifying", verify_due_at=eod("2025-10-10"))
    assert due_levels(waiting, LADDER, CAL, at("2025-10-10", 22)) == []
    assert due_levels(waiting, LADDER, CAL, at("2025-10-11")) == ["verify_overdue"]
    off = Ladder(sign_overdue=False, verify_overdue=False)
    assert due_levels(unsigned, off, CAL, at("2025-10-09", 13)) == []
    assert due_levels(waiting, off, CAL, at("2025-10-11")) == []


def test_a_switched_off_level_never_fires() -> None:
    ladder = Ladder(due_soon=None, reminder=None)
    assert due_levels(facts(), ladder, CAL, at("2025-09-29")) == []
    assert due_levels(facts(), ladder, CAL, at("2025-10-11")) == ["supervision"]


def test_each_verification_round_is_its_own_claim() -> None:
    assert claim_level("verify_overdue", facts()) == "verify_overdue"
    assert claim_level("verify_overdue", facts(rework_count=2)) == "verify_overdue.2"
    assert claim_level("reminder", facts(rework_count=2)) == "reminder"


# --- the sweep works the levels out once per key -------------------------------------------

NOW = at("2025-10-13", 11)  # a Monday after National Day and its make-up Saturday
# Few distinct moments (whole days, two times of day) so that cases of one run share keys often.
moments = st.builds(
    lambda days, minutes: NOW + timedelta(days=days, minutes=minutes),
    st.integers(min_value=-25, max_value=6),
    st.sampled_from([-120, 0, 720]),
)
deadlines = st.builds(  # fewer still: the deadlines cases share
    lambda days, minutes: NOW + timedelta(days=days, minutes=minutes),
    st.sampled_from([-12, -3, -1, 0, 2, 5]),
    st.sampled_from([0, 720]),
)
case_facts = st.builds(
    Facts,
    case_id=st.integers(min_value=1, max_value=10**6),
    kind=st.sampled_from([k.value for k in CaseKind]),
    state=st.sampled_from(["dispatched", "rectifying", "rectifying", "verifying", "suspended"]),
    unit_code=st.sampled_from(["ZJ", None]),
    deadline_version=st.just(1),
    due_at=deadlines,
    sign_due_at=st.one_of(st.none(), moments),
    verify_due_at=st.one_of(st.none(), moments),
    grade=st.sampled_from([None, "general", "major"]),
    rework_count=st.integers(min_value=0, max_value=2),
    dispatched_at=st.one_of(st.none(), moments),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(case_facts, min_size=1, max_size=40))
def test_the_sweeps_levels_due_are_the_rules_for_every_case(cases: list[Facts]) -> None:
    """SweepContext.due keeps one answer per ladder and policy.due_key: every case in a run,
    early or late, waiting for signing or verification, gets what due_levels says of it alone
    (with warnings at 50 % and 75 % on, so the moments count too)."""
    policy = replace(
        load_policy(None), ladder=replace(load_policy(None).ladder, warn_at=(0.5, 0.75))
    )
    ctx = SweepContext(now=NOW, policy=policy, cal=CAL, settings=get_settings())
    for f in cases * 2:  # the second time round, every answer comes from what was kept
        rule = policy.ladder_for(kind=f.kind, category=f.category, grade=f.grade)
        alone = [claim_level(lv, f) for lv in due_levels(f, rule, CAL, NOW)]
        assert ctx.due(f) == alone, f
