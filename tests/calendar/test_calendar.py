"""The working-day calendar, pure: statutory holidays, make-up days (调休), unknown years,
overrides and office hours. No database."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from closeloop.calendar.days import SHANGHAI, WorkCalendar

CAL = WorkCalendar()


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return sh(y, m, d, 23, 59, 59)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 30), True),  # Tuesday before National Day
        (date(2025, 10, 1), False),  # National Day
        (date(2025, 10, 6), False),  # Mid-Autumn, inside the golden week
        (date(2025, 10, 8), False),  # Wednesday, still off
        (date(2025, 10, 9), True),
        (date(2025, 9, 28), True),  # Sunday, make-up working day (调休)
        (date(2025, 10, 11), True),  # Saturday, make-up working day (调休)
        (date(2025, 10, 12), False),  # an ordinary Sunday
        (date(2026, 2, 14), True),  # Saturday before Spring Festival 2026, make-up
        (date(2026, 2, 16), False),  # 除夕 (New Year's Eve), Monday
        (date(2026, 2, 23), False),  # Monday, last day of the Spring Festival break
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, make-up
        (date(2031, 1, 1), True),  # unknown year: plain weekdays (a Wednesday)
        (date(2031, 1, 4), False),  # unknown year: Saturday
    ],
)
def test_is_workday(day: date, working: bool) -> None:
    assert CAL.is_workday(day) is working


def test_n_working_days_from_t_ends_at_local_midnight_of_the_nth_working_day() -> None:
    t = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
    due, estimated = CAL.due_after(t, 2)
    # 10-01..10-08 are the National Day holidays: 10-09 is the 1st working day, 10-10 the 2nd.
    assert due == end_of(2025, 10, 10)
    assert due.utcoffset() == timedelta(hours=8)
    assert due.astimezone(UTC) == datetime(2025, 10, 10, 15, 59, 59, tzinfo=UTC)
    assert estimated is False
    # Counting starts the day after t, whatever the time of day.
    assert CAL.due_after(sh(2025, 9, 30, 0, 0, 1), 2)[0] == end_of(2025, 10, 10)
    assert CAL.due_after(sh(2025, 9, 30, 23, 59, 59), 2)[0] == end_of(2025, 10, 10)


def test_zero_days_is_the_end_of_the_same_local_day() -> None:
    assert CAL.due_after(sh(2025, 10, 1, 9), 0) == (end_of(2025, 10, 1), False)


def test_make_up_working_days_count() -> None:
    # Thursday 10-09 + 2: Friday 10-10, then Saturday 10-11 (调休), not Monday 10-13.
    assert CAL.due_after(sh(2025, 10, 9, 15), 2)[0] == end_of(2025, 10, 11)
    # Friday 9-26 + 1: Sunday 9-28 was a make-up working day.
    assert CAL.due_after(sh(2025, 9, 26, 15), 1)[0] == end_of(2025, 9, 28)


def test_spring_festival_2026() -> None:
    # Off 2026-02-15..02-23; Saturdays 02-14 and 02-28 are make-up working days.
    friday = sh(2026, 2, 13, 10)
    assert CAL.due_after(friday, 1)[0] == end_of(2026, 2, 14)
    assert CAL.due_after(friday, 2)[0] == end_of(2026, 2, 24)
    # 02-24 + 4: 25, 26, 27, then Saturday 28 (调休).
    assert CAL.due_after(sh(2026, 2, 24, 10), 4)[0] == end_of(2026, 2, 28)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2


def test_a_late_evening_utc_time_is_already_the_next_day_in_shanghai() -> None:
    t = datetime(2025, 10, 9, 17, 0, tzinfo=UTC)  # 2025-10-10 01:00 in Shanghai
    assert CAL.local_date(t) == date(2025, 10, 10)
    # Counted from Friday 10-10 (local), not Thursday 10-09 (UTC): the next is Saturday 10-11.
    assert CAL.due_after(t, 1)[0] == end_of(2025, 10, 11)
    # The boundary: 15:59:59 UTC is still 10-09 in Shanghai, 16:00 is 10-10.
    assert CAL.due_after(datetime(2025, 10, 9, 15, 59, 59, tzinfo=UTC), 1)[0] == end_of(
        2025, 10, 10
    )
    assert CAL.due_after(datetime(2025, 10, 9, 16, 0, tzinfo=UTC), 1)[0] == end_of(2025, 10, 11)


def test_an_unknown_year_is_counted_on_weekdays_and_flagged_estimated() -> None:
    assert 2031 not in CAL.known_years
    due, estimated = CAL.due_after(sh(2031, 1, 3, 10), 2)  # Friday
    assert due == end_of(2031, 1, 7)  # Monday, Tuesday
    assert estimated is True
    # 2031-01-01 (New Year's Day) is not known to be a holiday: it counts.
    assert CAL.due_after(sh(2030, 12, 31, 10), 1) == (end_of(2031, 1, 1), True)


def test_crossing_into_an_unknown_year_is_estimated() -> None:
    known_end = max(CAL.known_years)
    start = datetime(known_end, 12, 28, 10, tzinfo=SHANGHAI)
    due, estimated = CAL.due_after(start, 10)
    assert due.year == known_end + 1
    assert estimated is True
    # Within a known year it is not.
    assert CAL.due_after(datetime(known_end, 3, 2, 10, tzinfo=SHANGHAI), 10)[1] is False


def test_overrides_make_a_day_off_or_a_working_day() -> None:
    t = sh(2025, 9, 30, 10)
    off = WorkCalendar(overrides={date(2025, 10, 10): False})
    assert off.is_workday(date(2025, 10, 10)) is False
    assert off.due_after(t, 2)[0] == end_of(2025, 10, 11)
    on = WorkCalendar(overrides={date(2025, 10, 8): True})
    assert on.is_workday(date(2025, 10, 8)) is True
    assert on.due_after(t, 2)[0] == end_of(2025, 10, 9)
    # An override on a weekend.
    sunday_on = WorkCalendar(overrides={date(2025, 10, 12): True})
    assert sunday_on.due_after(sh(2025, 10, 10), 2)[0] == end_of(2025, 10, 12)


def test_an_override_in_an_unknown_year_applies() -> None:
    cal = WorkCalendar(overrides={date(2031, 1, 6): False})
    assert cal.is_workday(date(2031, 1, 6)) is False
    assert cal.due_after(sh(2031, 1, 3, 10), 2)[0] == end_of(2031, 1, 8)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 10, 13)) == 4  # 9, 10, 11, 13
    assert CAL.working_days_between(date(2025, 10, 13), date(2025, 10, 13)) == 0
    assert CAL.working_days_between(date(2025, 10, 13), date(2025, 10, 1)) == 0
    assert CAL.working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2025, 9, 30), -1)


# --- office hours (signing limits) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "end"),
    [
        # 17:00 on a working Monday + 2 h: one hour today, one tomorrow from 09:00.
        (sh(2025, 9, 29, 17), 2, sh(2025, 9, 30, 10)),
        # 17:00 on Tuesday 9-30: the next working day is 10-09, after the holidays.
        (sh(2025, 9, 30, 17), 2, sh(2025, 10, 9, 10)),
        (sh(2025, 9, 29, 16), 2, sh(2025, 9, 29, 18)),  # fits exactly
        (sh(2025, 9, 29, 7), 2, sh(2025, 9, 29, 11)),  # before opening: from 09:00
        (sh(2025, 9, 29, 19), 0.5, sh(2025, 9, 30, 9, 30)),  # after closing
        (sh(2025, 10, 3, 12), 2, sh(2025, 10, 9, 11)),  # on a holiday
        (sh(2025, 10, 11, 17), 2, sh(2025, 10, 13, 10)),  # on a make-up Saturday
        (sh(2025, 9, 29, 10), 13, sh(2025, 9, 30, 14)),  # more than one working day
        (datetime(2025, 9, 29, 9, 0, tzinfo=UTC), 2, sh(2025, 9, 30, 10)),  # given in UTC
    ],
)
def test_add_working_hours(start: datetime, hours: float, end: datetime) -> None:
    assert CAL.add_working_hours(start, hours) == end


def test_working_hours_follow_the_configured_window() -> None:
    cal = WorkCalendar(work_start=time(8, 30), work_end=time(17, 30))
    assert cal.add_working_hours(sh(2025, 9, 29, 17), 2) == sh(2025, 9, 30, 10)


def test_working_days_between_equals_counting_day_by_day():
    """The running-totals count equals walking the days one by one, across years (known and
    unknown to the package) and with an admin's overrides on both sides of a year's end."""
    import random
    from datetime import date, timedelta

    from closeloop.calendar.days import WorkCalendar

    overrides = {date(2025, 12, 31): False, date(2026, 1, 3): True, date(2031, 6, 7): True}
    rng = random.Random(15)
    for calendar in (WorkCalendar(), WorkCalendar(overrides=overrides)):
        for _ in range(300):
            start = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 9 * 365))
            end = start + timedelta(days=rng.randrange(-5, 800))
            naive, day = 0, start
            while day < end:
                day += timedelta(days=1)
                naive += calendar.is_workday(day)
            assert calendar.working_days_between(start, end) == naive, (start, end)
        assert calendar.working_days_between(date(2025, 12, 30), date(2025, 12, 30)) == 0
