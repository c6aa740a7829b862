"""Report periods: parsing, date ranges, previous periods and what a scheduled run reports on."""

from datetime import UTC, date, datetime

import pytest

from closeloop.errors import Invalid
from closeloop.reports.periods import containing, last_complete, parse, previous
from models.types import SHANGHAI


def test_weekly_is_the_iso_week_monday_to_sunday():
    p = parse("weekly", "2025-W40")
    assert (p.start, p.end, p.key, p.label) == (
        date(2025, 9, 29),
        date(2025, 10, 5),
        "2025-W40",
        "2025年第40周",
    )
    assert p.start_at == datetime(2025, 9, 28, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    assert p.end_at == datetime(2025, 10, 5, 16, 0, tzinfo=UTC)
    # ISO week-numbering year: 2026-W01 starts on Monday 29 December 2025.
    assert parse("weekly", "2026-W01").start == date(2025, 12, 29)
    assert containing("weekly", date(2025, 12, 31)).key == "2026-W01"
    assert parse("weekly", "2025-W1").key == "2025-W01"


def test_monthly_and_quarterly():
    feb = parse("monthly", "2024-02")
    assert (feb.start, feb.end, feb.label) == (date(2024, 2, 1), date(2024, 2, 29), "2024年2月")
    q = parse("quarterly", "2025-Q3")
    assert (q.start, q.end, q.label) == (date(2025, 7, 1), date(2025, 9, 30), "2025年第三季度")
    assert parse("quarterly", "2025-Q4").end == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("cadence", "text"),
    [
        ("weekly", "2025-40"),
        ("weekly", "2025-W54"),
        ("weekly", "2025-W53"),  # 2025 has 52 ISO weeks
        ("weekly", "2025-W00"),
        ("monthly", "2025-13"),
        ("monthly", "2025-9-1"),
        ("monthly", "september"),
        ("quarterly", "2025-Q5"),
        ("quarterly", "2025-3"),
        ("monthly", ""),
    ],
)
def test_bad_periods_are_refused_with_the_expected_form(cadence, text):
    with pytest.raises(Invalid) as err:
        parse(cadence, text)
    assert "报告期无效" in err.value.detail and "expected the form" in err.value.detail


def test_bad_cadence():
    with pytest.raises(Invalid, match="weekly, monthly, quarterly or yearly"):
        parse("daily", "2025-09-01")


def test_yearly_periods():
    year = parse("yearly", "2024")
    assert (year.key, year.start, year.end, year.label) == (
        "2024",
        date(2024, 1, 1),
        date(2024, 12, 31),
        "2024年",
    )
    assert [p.key for p in previous(year, 2)] == ["2022", "2023"]
    with pytest.raises(Invalid, match="expected the form 2024"):
        parse("yearly", "2024-01")


def test_previous_periods_oldest_first_across_years():
    assert [p.key for p in previous(parse("monthly", "2025-02"), 3)] == [
        "2024-11",
        "2024-12",
        "2025-01",
    ]
    assert [p.key for p in previous(parse("quarterly", "2025-Q1"), 2)] == ["2024-Q3", "2024-Q4"]
    assert [p.key for p in previous(parse("weekly", "2026-W01"), 2)] == ["2025-W51", "2025-W52"]


def _sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_a_scheduled_run_reports_the_last_complete_period():
    assert last_complete("weekly", _sh(2025, 10, 6, 8, 0)).key == "2025-W40"  # Monday 08:00
    assert last_complete("weekly", _sh(2025, 10, 5, 23, 59)).key == "2025-W39"  # still Sunday
    # Monday 00:30 in Shanghai is still Sunday in UTC: the local date decides.
    assert last_complete("weekly", datetime(2025, 10, 5, 16, 30, tzinfo=UTC)).key == "2025-W40"
    assert last_complete("monthly", _sh(2025, 10, 1, 8, 0)).key == "2025-09"
    assert last_complete("monthly", _sh(2026, 1, 1, 8, 0)).key == "2025-12"
    assert last_complete("quarterly", _sh(2025, 10, 1, 8, 0)).key == "2025-Q3"
    assert last_complete("quarterly", _sh(2026, 1, 1, 8, 0)).key == "2025-Q4"
