"""The import's shortcuts store exactly what the plain rules give: the calendar it remembers
answers as WorkCalendar does, a time is parsed as before (date first, then date and time), and a
varied ledger's rows are the rows check() gives with the plain calendar and times parsed the old
way, written as SQLAlchemy writes them (compared on both databases)."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from closeloop.calendar.days import END_OF_DAY, SHANGHAI, WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.cases.deadlines import dispatch_deadlines
from closeloop.config import get_settings
from closeloop.imports.calendar_memo import DispatchMemo
from closeloop.imports.rows import Lookups, RowError, _ImportCalendar, _shanghai, _time, check
from models.case import Case
from models.history import CaseHistory
from models.org import Category
from tests.factories import NOW
from tests.imports.test_imports import DISPATCHED, by_number, csv_bytes, row, run

CASES = Case.__table__  # type: ignore[attr-defined]
HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]
TIMES = ("reported_at", "dispatched_at", "due_at", "closed_at")


def old_time(value: Any, end_of_day: bool = False) -> datetime | None:
    """rows._time as it was: date.fromisoformat first, then datetime.fromisoformat."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            value = datetime.fromisoformat(text)  # ValueError: not a time
    if not isinstance(value, datetime):
        value = datetime.combine(value, END_OF_DAY if end_of_day else time(0))
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


FORMS = [
    "2025-09-30",
    "20250930",
    "2025-W40-2",
    "2025W402",
    " 2025-09-30 ",
    "2025-09-30 10",
    "2025-09-30 10:00",
    "2025-09-30T10:00:00",
    "2025-09-30T10:00:00.250",
    "2025-09-30T10:00:00+08:00",
    "2025-09-30T02:00:00Z",
    "2025-09-30T10:00:00-05:00",
    "20250930T100000",
]
BAD_FORMS = ["2025/09/30", "30-09-2025 10:00", "2025-13-01", "2025-09-30 25:00", "tomorrow"]


@pytest.mark.parametrize("end_of_day", [False, True])
def test_times_parse_as_before(end_of_day):
    for text in FORMS:
        got = _time(text, "due_at", end_of_day=end_of_day)
        assert got == old_time(text, end_of_day) and got is not None
        assert got.utcoffset() == old_time(text, end_of_day).utcoffset()  # type: ignore[union-attr]
    for text in BAD_FORMS:
        with pytest.raises(ValueError):
            old_time(text)
        with pytest.raises(RowError, match=f"due_at '{text}' is not an ISO 8601 time"):
            _time(text, "due_at", end_of_day=end_of_day)


@pytest.mark.parametrize("overrides", [{}, {date(2025, 9, 29): False, date(2025, 10, 4): True}])
def test_the_remembered_calendar_answers_as_the_calendar(overrides):
    plain = WorkCalendar(overrides=overrides)
    remembered = _ImportCalendar(overrides=overrides)
    assert remembered.known_years == plain.known_years
    start = datetime(2025, 9, 26, 0, 0, 0, tzinfo=SHANGHAI)
    moments = [start + timedelta(minutes=17 * i, seconds=i % 7) for i in range(1400)]
    for day in range(18):  # the office hours' edges, each day through the national day holiday
        for at in (time(9), time(18), time(8, 59, 59, 999999), time(17, 59, 59), time(18, 0, 1)):
            moments.append(datetime.combine(start.date() + timedelta(days=day), at, SHANGHAI))
    moments += [m.astimezone(UTC) for m in moments[::5]]
    moments += [m.astimezone(timezone(timedelta(hours=-5))) for m in moments[::7]]
    for hours in (0.5, 2.0, 4, 9.0, 9.5, 24.0):
        for at in moments:  # twice: the second answer comes from the memory
            expected = plain.add_working_hours(at, hours)
            assert remembered.add_working_hours(at, hours) == expected, (at, hours)
            got = remembered.add_working_hours(at, hours)
            assert (got, got.utcoffset()) == (expected, expected.utcoffset()), (at, hours)


def moments_around_a_holiday() -> list[datetime]:
    """Every 17 minutes from 26 September 2025 on, the office hours' edges each day through the
    national day holiday, and some of them in other zones."""
    start = datetime(2025, 9, 26, 0, 0, 0, tzinfo=SHANGHAI)
    moments = [start + timedelta(minutes=17 * i, seconds=i % 7) for i in range(1400)]
    for day in range(18):
        for at in (time(9), time(18), time(8, 59, 59, 999999), time(17, 59, 59), time(18, 0, 1)):
            moments.append(datetime.combine(start.date() + timedelta(days=day), at, SHANGHAI))
    moments += [m.astimezone(UTC) for m in moments[::5]]
    return moments + [m.astimezone(timezone(timedelta(hours=-5))) for m in moments[::7]]


@pytest.mark.parametrize("overrides", [{}, {date(2025, 9, 29): False, date(2025, 10, 4): True}])
def test_the_remembered_dispatch_deadlines_are_dispatch_deadlines(overrides):
    settings = get_settings()
    plain = WorkCalendar(overrides=overrides)
    remembered = _ImportCalendar(overrides=overrides)
    categories = [
        Category(code="A", name="a", parent_code="P", limit_days=5, sign_hours=2.0),
        Category(code="B", name="b", parent_code="P", limit_days=None, sign_hours=None),
        Category(code="C", name="c", parent_code="P", limit_days=12, sign_hours=9.5),
    ]
    memo = DispatchMemo(remembered, settings, remembered.due_after)
    given = [None, None, datetime(2025, 10, 20, 12, 0, tzinfo=SHANGHAI)]
    for category in categories:
        for due in given:
            for at in moments_around_a_holiday():  # twice: the second answer is remembered
                d = dispatch_deadlines(
                    at=at, cal=plain, category=category, settings=settings, due_at=due
                )
                expected = (d.due_at, d.due_estimated, d.sign_due_at)
                for got in (memo.deadlines(at, category, due), memo.deadlines(at, category, due)):
                    assert got == expected, (category.code, due, at)
                    assert [t.utcoffset() for t in (got[0], got[2])] == [
                        t.utcoffset() for t in (expected[0], expected[2])
                    ]


def test_times_compared_in_shanghai_are_the_same_instants():
    for at in moments_around_a_holiday()[::3] + [
        datetime(1988, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=8))),  # Shanghai's +09:00
        datetime(1988, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=9))),
        datetime(2025, 9, 30, 10, 0, tzinfo=timezone(timedelta(hours=8))),
    ]:
        local = _shanghai(at)
        assert local == at and local.tzinfo is SHANGHAI
        assert local.utcoffset() == at.astimezone(SHANGHAI).utcoffset()


def varied_ledger() -> list[dict[str, str]]:
    """Every state, events and hazards, with and without numbers, units and deadlines, times in
    every accepted form, dispatched within, before and after office hours, on days off and
    before holidays (several rows share a dispatch day, so the memories are used)."""
    dispatch_times = [
        "2025-09-02T10:00:00+08:00",  # a Tuesday, within office hours
        "2025-09-02 08:15",  # before opening
        "2025-09-02T09:00:00+08:00",  # at opening
        "2025-09-02T07:30:00Z",  # 15:30 local
        "2025-09-02T17:45:10+08:00",  # within, running into the next day
        "2025-09-02 18:00",  # at closing
        "2025-09-02 08:40:30",  # before opening again: the same answer
        "2025-09-05 20:30:10",  # a Friday evening
        "2025-09-06 11:00",  # a Saturday
        "2025-09-06T01:00:00-04:00",  # the same Saturday, another offset
        "2024-09-30 17:30",  # before the national day holiday of 2024
        "2024-09-30T20:00:00.500+08:00",
        "2024-09-29 07:00",  # a make-up working Sunday, before opening
        "2025-01-26 12:00",  # a make-up working Sunday, within office hours
        "2025-01-27 19:00",  # the eve of the spring festival
        "2025-09-29",  # a date alone: midnight
    ]
    states = ["dispatched", "rectifying", "suspended", "verifying", "closed"]
    ledger = []
    for i, dispatched in enumerate(dispatch_times * 2):
        at = old_time(dispatched)
        assert at is not None
        reported = at - timedelta(hours=3 + i % 5, minutes=i)
        reported_forms = [
            reported.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            reported.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            reported.isoformat(),
        ]
        state = states[i % len(states)]
        hazard = i % 3 == 0
        changes = {
            "number": f"V{i:03d}" if i % 2 else "",
            "kind": "Hazard" if hazard and i % 2 else "hazard" if hazard else "event",
            "grade": ("major" if i % 4 == 0 else "general") if hazard else "",
            "category_code": ["0101", "0102", "0201"][i % 3],
            "grid_code": ["G1", "G2", "G3"][i % 3],
            "unit_code": "SW" if i % 5 == 1 else "",
            "state": state.upper() if i % 7 == 3 else state,
            "reported_at": reported_forms[i % 3],
            "dispatched_at": dispatched,
            "title": f"  台账 {i}  ",
        }
        if i % 6 == 2:
            changes["due_at"] = (at + timedelta(days=12)).date().isoformat()
        elif i % 6 == 4:
            changes["due_at"] = (at + timedelta(days=5)).strftime("%Y%m%d")
        elif i % 6 == 5:
            changes["due_at"] = (at + timedelta(days=3, hours=2)).isoformat()
        if state == "closed":
            changes["closed_at"] = (at + timedelta(days=2, seconds=i)).isoformat()
        ledger.append(row(**changes))
    ledger += [
        row(number="V900"),
        row(reported_at="2025-09-01"),
        row(kind="hazard", grade="general", reported_at="20250901"),
        row(state="cancelled", closed_at="2025-09-01T12:00:00+08:00"),
        row(number="V901", state="cancelled", closed_at="2025-09-03 08:00"),
        row(**DISPATCHED, closed_at="2025-09-04T16:00:00.123456+08:00") | {"state": "closed"},
        row(reported_at="2025-09-29T23:59:59.999999+08:00"),
    ]
    return ledger


def test_a_varied_ledger_stores_what_the_plain_rules_give(session, org):
    ledger = varied_ledger()
    result = run(session, org, csv_bytes(ledger), batch_size=7)
    assert result == {"imported": len(ledger), "rejected": [], "rejected_count": 0}

    settings = get_settings()
    plain = Lookups(session, settings)
    plain.cal = load_calendar(session, settings)
    assert type(plain.cal) is WorkCalendar
    plain.due_after = plain.cal.due_after  # type: ignore[method-assign]
    cases = session.execute(select(CASES).order_by(CASES.c.id)).mappings().all()
    history = session.execute(select(HISTORY).order_by(HISTORY.c.case_id)).mappings().all()
    assert len(cases) == len(history) == len(ledger)
    numbers = set()
    for n, (raw, case, entry) in enumerate(zip(ledger, cases, history, strict=True), start=2):
        parsed = {k: old_time(v, k == "due_at") if k in TIMES else v for k, v in raw.items()}
        expected = check(parsed, plain, NOW)
        assert expected["number"] in (raw["number"] or None, None)
        expected["number"] = raw["number"] or case["number"]
        numbers.add(case["number"])
        expected |= {"emergency": False, "returned_units": None, "enterprise_code": None}
        expected |= {"inspection_id": None, "satisfaction": None, "alerted_at": None}
        expected |= {"follow_up_due_at": None, "followed_up_at": None}
        assert {k: v for k, v in case.items() if k != "id"} == expected, n
        assert dict(entry) == {
            "id": entry["id"],
            "case_id": case["id"],
            "seq": 1,
            "action": "import",
            "from_state": None,
            "to_state": expected["state"],
            "actor_id": org["admin"].id,
            "actor": "admin 测试",
            "at": NOW,
            "note": None,
            "data": {"source": "ledger.csv", "row": n},
            "due_at": expected["due_at"],
            "dispatched_at": expected["dispatched_at"],
            "closed_at": expected["closed_at"] or expected["cancelled_at"],
            "listed": expected["listed"],
            "unit_code": expected["unit_code"],
        }, n
    assert len(numbers) == len(ledger)

    # What the existing tests expect, on rows of this ledger (category 0101: 5 working days,
    # signing within 2 working hours; 0102: 3 days, 2 hours; 0201: 10 days, 4 hours).
    first = by_number(session, "V001")  # 0102, before opening on Tuesday 2 September
    assert first.sign_due_at == datetime(2025, 9, 2, 11, 0, tzinfo=SHANGHAI)
    assert first.due_at == datetime(2025, 9, 5, 23, 59, 59, tzinfo=SHANGHAI)
    assert first.unit_code == "SW" and first.state == "rectifying"
    friday = by_number(session, "V007")  # 0102, Friday 20:30:10: Monday's first two hours
    assert friday.sign_due_at == datetime(2025, 9, 8, 11, 0, tzinfo=SHANGHAI)
    holiday = by_number(session, "V011")  # 0201, 2024-09-30 20:00: 4 hours after the holiday
    assert holiday.sign_due_at == datetime(2024, 10, 8, 13, 0, tzinfo=SHANGHAI)
    assert holiday.due_at == datetime(2024, 10, 3, 22, 0, 0, 500000, tzinfo=SHANGHAI)  # given
    assert holiday.signed_at == holiday.dispatched_at and holiday.state == "rectifying"
