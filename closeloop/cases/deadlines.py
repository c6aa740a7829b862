"""Deadlines on working days: dispatch, signing, suspension, extension, verification, reopen."""

from datetime import datetime, time, timedelta

from sqlmodel import Session, select

from closeloop.calendar.days import WorkCalendar
from closeloop.config import Settings, get_settings
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.case import Case
from models.org import Category
from models.system import CalendarOverride


def load_calendar(session: Session, settings: Settings | None = None) -> WorkCalendar:
    settings = settings or get_settings()
    overrides = {row.day: row.workday for row in session.exec(select(CalendarOverride))}
    return WorkCalendar(
        overrides=overrides,
        work_start=time.fromisoformat(settings.work_start),
        work_end=time.fromisoformat(settings.work_end),
    )


def rectification_limit(category: Category | None, settings: Settings) -> int:
    if category is not None and category.limit_days:
        return category.limit_days
    return settings.default_limit_days


def set_dispatch_deadlines(
    case: Case,
    *,
    now: datetime,
    cal: WorkCalendar,
    category: Category | None,
    settings: Settings,
    due_at: datetime | None,
    limit_days: int | None,
) -> dict[str, object]:
    """Rectification and signing deadlines for a dispatch; returns what was decided."""
    if due_at is not None:
        if due_at.tzinfo is None:
            due_at = due_at.replace(tzinfo=cal.tz)
        if due_at <= now:
            raise Invalid(
                Msg("整改期限必须晚于现在", f"due_at {due_at.isoformat()} is not in the future")
            )
        case.due_at = due_at
        case.due_estimated = not cal.knows(cal.local_date(due_at))
        decided: dict[str, object] = {"due_at": due_at.isoformat(), "source": "explicit"}
    else:
        days = limit_days or rectification_limit(category, settings)
        case.due_at, case.due_estimated = cal.due_after(now, days)
        decided = {"due_at": case.due_at.isoformat(), "limit_days": days}
    case.deadline_version += 1
    if case.urgent:
        case.sign_due_at = now + timedelta(minutes=settings.urgent_sign_minutes)
    else:
        hours = (category.sign_hours if category else None) or settings.default_sign_hours
        case.sign_due_at = cal.add_working_hours(now, hours)
    decided["sign_due_at"] = case.sign_due_at.isoformat()
    if case.due_estimated:
        decided["estimated"] = True
    return decided


def extend(case: Case, *, cal: WorkCalendar, days: int) -> dict[str, object]:
    """An approved extension moves the deadline `days` working days further: a new version."""
    assert case.due_at is not None
    old = case.due_at
    day, estimated = cal.add_working_days(cal.local_date(old), days)
    case.due_at = cal.end_of_day(day)
    case.due_estimated = case.due_estimated or estimated
    case.deadline_version += 1
    return {"old_due_at": old.isoformat(), "due_at": case.due_at.isoformat(), "days": days}


def resume_after_suspension(case: Case, *, now: datetime, cal: WorkCalendar) -> dict[str, object]:
    """The clock stood still while suspended: the deadline moves by the working days paused
    (working days after the day of suspension up to and including the day of resumption)."""
    assert case.suspended_at is not None
    paused = cal.working_days_between(cal.local_date(case.suspended_at), cal.local_date(now))
    decided: dict[str, object] = {"paused_working_days": paused}
    if case.due_at is not None and paused:
        decided.update(extend(case, cal=cal, days=paused))
    return decided


def set_verification_deadline(
    case: Case, *, now: datetime, cal: WorkCalendar, settings: Settings
) -> None:
    case.verify_due_at, _ = cal.due_after(now, settings.verify_days)


def set_reopen_deadline(
    case: Case, *, now: datetime, cal: WorkCalendar, days: int
) -> dict[str, object]:
    case.due_at, case.due_estimated = cal.due_after(now, days)
    case.deadline_version += 1
    return {"due_at": case.due_at.isoformat(), "limit_days": days}
