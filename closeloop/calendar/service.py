"""The working-day calendar as the database holds it: loading it with the local overrides, reading
a year, and entering overrides (admin)."""

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.calendar.days import PACKAGE_YEARS, WorkCalendar
from closeloop.config import Settings, get_settings
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.system import CalendarOverride, CalendarOverrideIn


def load_calendar(session: Session, settings: Settings | None = None) -> WorkCalendar:
    settings = settings or get_settings()
    overrides = {row.day: row.workday for row in session.exec(select(CalendarOverride))}
    return WorkCalendar(
        overrides=overrides,
        work_start=time.fromisoformat(settings.work_start),
        work_end=time.fromisoformat(settings.work_end),
    )


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
