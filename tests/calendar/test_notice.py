"""The calendar's rules behind the calendar page: the package's year named in both languages,
which deadlines are estimated on plain weekdays, and a holiday notice turned into overrides."""

from datetime import UTC, date, datetime

import pytest

from closeloop.calendar.days import SHANGHAI, WorkCalendar, statutory
from closeloop.calendar.service import notice_overrides
from closeloop.errors import Invalid


def sh(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


def test_the_package_year_in_breaks_and_make_up_days() -> None:
    holidays, makeups = statutory(2025)
    spring = next(h for h in holidays if h.name.zh == "春节")
    assert (spring.start, spring.end, spring.days, spring.name.en) == (
        date(2025, 1, 28),
        date(2025, 2, 4),
        8,
        "Spring Festival",
    )
    assert [m.start for m in makeups] == [
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    ]
    assert statutory(2031) == ([], [])


def test_a_deadline_is_estimated_when_its_year_is_unknown() -> None:
    cal = WorkCalendar()
    deadlines = [sh(2025, 10, 10), None, sh(2032, 1, 5), sh(2031, 3, 3), sh(2031, 4, 1)]
    assert cal.estimated_years(deadlines) == [2031, 2032]
    assert cal.estimated_years([sh(2026, 12, 31), None]) == []
    # An override for a year makes it known (an admin entered its notice).
    entered = WorkCalendar(overrides={date(2031, 1, 1): False})
    assert entered.estimated_years(deadlines) == [2032]
    # The deadline's date is Shanghai's: 2030-12-31 16:00 UTC is already 2031 there.
    assert cal.estimated_years([datetime(2030, 12, 31, 16, 0, tzinfo=UTC)]) == [2031]
    assert cal.estimated_years([datetime(2030, 12, 31, 15, 59, tzinfo=UTC)]) == [2030]


def test_a_notice_becomes_one_override_per_day() -> None:
    items = notice_overrides(
        holidays=[
            (date(2031, 1, 22), date(2031, 1, 28), "春节"),
            (date(2031, 1, 1),) * 2 + ("元旦",),
        ],
        makeups=[(date(2031, 1, 19), ""), (date(2031, 2, 8), "春节调休")],
    )
    off = [i for i in items if not i.workday]
    assert [i.day for i in off][:7] == [date(2031, 1, d) for d in range(22, 29)]
    assert off[-1].day == date(2031, 1, 1) and off[-1].note == "元旦"
    assert [(i.day, i.note) for i in items if i.workday] == [
        (date(2031, 1, 19), "调休上班"),
        (date(2031, 2, 8), "春节调休"),
    ]


@pytest.mark.parametrize(
    ("holiday", "words"),
    [
        ((date(2031, 1, 28), date(2031, 1, 22), "春节"), "早于开始日期"),
        ((date(2031, 1, 1), date(2031, 3, 1), "春节"), "最长 31 天"),
        ((date(2031, 1, 1), date(2031, 1, 1), " "), "请填写名称"),
    ],
)
def test_a_bad_break_is_refused_naming_it(holiday: tuple[date, date, str], words: str) -> None:
    with pytest.raises(Invalid) as refused:
        notice_overrides(
            holidays=[(date(2031, 5, 1), date(2031, 5, 5), "劳动节"), holiday], makeups=[]
        )
    assert "第 2 个假期" in refused.value.msg.zh and words in refused.value.msg.zh
