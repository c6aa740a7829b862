"""Deadlines on working days (dispatch, signing, suspension, extension, verification, reopen)
and the one definition of overdue (超期)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlmodel import col

from closeloop.calendar.days import WorkCalendar
from closeloop.config import Settings
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseState
from models.org import Category


def rectification_limit(category: Category | None, settings: Settings) -> int:
    if category is not None and category.limit_days:
        return category.limit_days
    return settings.default_limit_days


@dataclass(frozen=True)
class DispatchDeadlines:
    due_at: datetime
    due_estimated: bool
    sign_due_at: datetime
    limit_days: int | None  # None when the deadline was given


def dispatch_deadlines(
    *,
    at: datetime,
    cal: WorkCalendar,
    category: Category | None,
    settings: Settings,
    urgent: bool = False,
    due_at: datetime | None = None,
    limit_days: int | None = None,
    due_after: Callable[[datetime, int], tuple[datetime, bool]] | None = None,
) -> DispatchDeadlines:
    """The one rule for a dispatch's deadlines, for a dispatch now and for a ledger's imported
    dispatch time alike: rectification by the given deadline or after the working days of the
    limit (the category's unless given), signing within the urgent minutes or the category's
    working hours. `due_after` may be a cached cal.due_after (an import computes many)."""
    if due_at is not None:
        if due_at.tzinfo is None:
            due_at = due_at.replace(tzinfo=cal.tz)
        estimated = not cal.knows(cal.local_date(due_at))
        days = None
    else:
        days = limit_days or rectification_limit(category, settings)
        due_at, estimated = (due_after or cal.due_after)(at, days)
    if urgent:
        sign_due_at = at + timedelta(minutes=settings.urgent_sign_minutes)
    else:
        hours = (category.sign_hours if category else None) or settings.default_sign_hours
        sign_due_at = cal.add_working_hours(at, hours)
    return DispatchDeadlines(due_at, estimated, sign_due_at, days)


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
    """Rectification and signing deadlines for a dispatch now; returns what was decided."""
    if due_at is not None:
        given = due_at if due_at.tzinfo is not None else due_at.replace(tzinfo=cal.tz)
        if given <= now:
            raise Invalid(
                Msg("整改期限必须晚于现在", f"due_at {given.isoformat()} is not in the future")
            )
    d = dispatch_deadlines(
        at=now,
        cal=cal,
        category=category,
        settings=settings,
        urgent=case.urgent,
        due_at=due_at,
        limit_days=limit_days,
    )
    case.due_at, case.due_estimated, case.sign_due_at = d.due_at, d.due_estimated, d.sign_due_at
    case.deadline_version += 1
    decided: dict[str, object] = (
        {"due_at": d.due_at.isoformat(), "source": "explicit"}
        if d.limit_days is None
        else {"due_at": d.due_at.isoformat(), "limit_days": d.limit_days}
    )
    decided["sign_due_at"] = d.sign_due_at.isoformat()
    if d.due_estimated:
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


class Clocked(Protocol):
    """A case as loaded or as shown (Case, CasePublic, the escalation's facts)."""

    @property
    def state(self) -> Any: ...

    @property
    def due_at(self) -> datetime | None: ...


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """超期: the unit's clock runs (dispatched or rectifying) and the deadline has passed. The one
    definition of "overdue" for lists, metrics, reports and pages."""
    return col(Case.state).in_(list(CaseState.clock_running_states())) & (col(Case.due_at) < now)


def is_overdue(case: Clocked, now: datetime) -> bool:
    """overdue_clause for one loaded case (the same predicate, in Python)."""
    return (
        case.state in CaseState.clock_running_states()
        and case.due_at is not None
        and case.due_at < now
    )


def within_reopen_window(
    case: Case, pending: object, now: datetime, settings: Settings
) -> Msg | None:
    """A precondition of reopen: a closed case reopens only within the window after closing."""
    days = settings.reopen_window_days
    if case.closed_at is not None and now - case.closed_at > timedelta(days=days):
        return Msg(
            f"结案已超过 {days} 天，不能重新打开",
            f"the case closed more than {days} days ago and can no longer be reopened",
        )
    return None


def follow_up_due(closed_at: datetime, *, cal: WorkCalendar, settings: Settings) -> datetime:
    """回访期限: the end of the `follow_up_days`-th working day after the closure (the same
    working-day rule as the rectification deadline)."""
    due, _ = cal.due_after(closed_at, settings.follow_up_days)
    return due
