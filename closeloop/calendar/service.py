"""The working-day calendar as the database holds it: loading it with the local overrides, reading
a year, and entering overrides (admin)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.calendar.days import PACKAGE_YEARS, DayRun, WorkCalendar, runs, statutory
from closeloop.config import Settings, get_settings
from closeloop.db import connection
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.system import CalendarOverride, CalendarOverrideIn

# Each override's day and kind, as plain values (built once; no entities: the calendar is read
# for every deadline an action sets).
_OVERRIDES = select(col(CalendarOverride.day), col(CalendarOverride.workday))


def load_calendar(session: Session, settings: Settings | None = None) -> WorkCalendar:
    settings = settings or get_settings()
    overrides = {day: workday for day, workday in connection(session).execute(_OVERRIDES)}
    return WorkCalendar(
        overrides=overrides,
        work_start=time.fromisoformat(settings.work_start),
        work_end=time.fromisoformat(settings.work_end),
    )


def estimated_years(session: Session, *, deadlines: Iterable[datetime | None]) -> list[int]:
    """The years whose holiday arrangements are unknown among these deadlines (see
    WorkCalendar.estimated_years): a page showing them flags the deadlines as estimated."""
    return load_calendar(session).estimated_years(deadlines)


def year_view(session: Session, *, year: int) -> dict[str, Any]:
    if not 1900 <= year <= 2200:
        raise Invalid(Msg(f"年份 {year} 不合理", f"year {year} is out of range"))
    cal = load_calendar(session)
    start = date(year, 1, 1)
    days = [start + timedelta(days=i) for i in range((date(year + 1, 1, 1) - start).days)]
    overrides = list(
        session.exec(
            select(CalendarOverride)
            .where(
                col(CalendarOverride.day) >= start, col(CalendarOverride.day) < date(year + 1, 1, 1)
            )
            .order_by(col(CalendarOverride.day))
        )
    )
    return {
        "year": year,
        "known": year in cal.known_years,
        "source": "chinesecalendar"
        if year in PACKAGE_YEARS
        else ("overrides" if overrides else "weekdays (estimated)"),
        "days_off_on_weekdays": [
            d.isoformat() for d in days if d.weekday() < 5 and not cal.is_workday(d)
        ],
        "workdays_on_weekends": [
            d.isoformat() for d in days if d.weekday() >= 5 and cal.is_workday(d)
        ],
        "working_days": sum(1 for d in days if cal.is_workday(d)),
        "overrides": [
            {"day": o.day.isoformat(), "workday": o.workday, "note": o.note} for o in overrides
        ],
    }


def set_overrides(
    session: Session, *, actor: Principal, items: list[CalendarOverrideIn], now: datetime
) -> list[CalendarOverride]:
    """Insert or replace overrides, all or none."""
    if not items:
        raise Invalid(Msg("没有日期", "send at least one {day, workday, note}"))
    seen: set[date] = set()
    for item in items:
        if item.day in seen:
            raise Invalid(Msg(f"日期 {item.day} 重复", f"day {item.day} appears twice"))
        seen.add(item.day)
    rows = []
    for item in items:
        row = session.get(CalendarOverride, item.day) or CalendarOverride(
            day=item.day, workday=item.workday, created_at=now
        )
        row.workday = item.workday
        row.note = item.note
        row.created_by = actor.id
        row.created_at = now
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


@dataclass(frozen=True)
class YearDetail:
    """A year as the calendar page shows it."""

    year: int
    known: bool  # False: the package does not know it and no override was entered (estimated)
    working_days: int
    holidays: list[DayRun]  # the package's breaks
    makeups: list[DayRun]  # the package's make-up working days (调休)
    days_off: list[DayRun]  # overrides: days off, grouped by note
    workdays: list[DayRun]  # overrides: working days


def year_detail(session: Session, *, year: int) -> YearDetail:
    view = year_view(session, year=year)
    holidays, makeups = statutory(year)
    rows = view["overrides"]
    return YearDetail(
        year=year,
        known=view["known"],
        working_days=view["working_days"],
        holidays=holidays,
        makeups=makeups,
        days_off=runs(
            (date.fromisoformat(o["day"]), Msg.same(o["note"])) for o in rows if not o["workday"]
        ),
        workdays=runs(
            (date.fromisoformat(o["day"]), Msg.same(o["note"])) for o in rows if o["workday"]
        ),
    )


MAX_BREAK = 31  # no statutory break is longer than a month


def notice_overrides(
    *, holidays: list[tuple[date, date, str]], makeups: list[tuple[date, str]]
) -> list[CalendarOverrideIn]:
    """A State Council holiday notice (国务院办公厅关于…部分节假日安排的通知) as overrides: every
    day of each break (first–last day, name) off, each make-up day (调休) a working day. The
    breaks and make-up days are numbered from 1 in the messages, in the order given."""
    items: list[CalendarOverrideIn] = []
    for n, (first, last, name) in enumerate(holidays, start=1):
        if not name.strip() or len(name) > 200:
            raise Invalid(
                Msg(
                    f"第 {n} 个假期：请填写名称（最多 200 字）",
                    f"holiday {n}: the name is missing or longer than 200 characters",
                )
            )
        if last < first:
            raise Invalid(
                Msg(
                    f"第 {n} 个假期（{name}）：结束日期 {last} 早于开始日期 {first}",
                    f"holiday {n} ({name}): the last day {last} is before the first day {first}",
                )
            )
        if (last - first).days >= MAX_BREAK:
            raise Invalid(
                Msg(
                    f"第 {n} 个假期（{name}）：最长 {MAX_BREAK} 天",
                    f"holiday {n} ({name}): a break is at most {MAX_BREAK} days",
                )
            )
        for i in range((last - first).days + 1):
            items.append(
                CalendarOverrideIn(day=first + timedelta(days=i), workday=False, note=name.strip())
            )
    for day, name in makeups:
        note = (name.strip() or "调休上班")[:200]
        items.append(CalendarOverrideIn(day=day, workday=True, note=note))
    return items
