"""The cohort counts by filing day (queries.cohort_by_day) from the counts the database keeps
(models/cohort.py) instead of reading every case of the period, where that is the same answer.

The kept counts are those of the cases' live columns: a case is cancelled, closed, closed on
time as it stands now. At a settled report time T (asof.settled) the cases at T are their live
columns (asof.at_live) except the few the ledger rule of an imported case reads otherwise, which
at_live reads from their history (asof.ledger_read): the counts at T are the kept counts plus,
for those few, what their history says less what their live columns say. Taken only when the
kept rows stand for exactly the scope's cohort:
- T is settled and no earlier than the period's end (every case filed in it is filed by T);
- the period is whole Shanghai days (the rows are per day);
- the scope narrows by region path only (admin, supervisor, dispatcher: not a handler's unit),
  to a path of at most PATH_SLASHES '/' ending with '/' (whole rows: a district's or street's),
  or not at all.
Otherwise None: the caller reads the cases. tests/reports/test_cohort_days.py asserts the table
equals the cases' GROUP BY after every kind of write, and both answers equal, on both databases.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlmodel import Session, col

from closeloop.reports.metrics import asof
from closeloop.reports.metrics.sql import local_date
from models.cohort import PATH_SLASHES, CaseCohortDay
from models.enums import CaseState, Role
from models.types import SHANGHAI

Counts = tuple[int, ...]


def by_day(session: Session, scope: Any) -> dict[date, Counts] | None:
    """queries.cohort_by_day's answer from the kept counts, or None where they are not it."""
    days, path = _days(scope), _path(scope)
    if days is None or path is None or not scope.settled or scope.end > scope.as_of:
        return None
    d = CaseCohortDay
    stmt = (
        select(
            col(d.day),
            func.sum(col(d.reported)),
            func.sum(col(d.cancelled)),
            func.sum(col(d.closed)),
            func.sum(col(d.on_time)),
        )
        .where(col(d.kind).in_(scope.kinds), col(d.day) >= days[0], col(d.day) <= days[1])
        .group_by(col(d.day))
    )
    if path:
        stmt = stmt.where(col(d.path).startswith(path, autoescape=True))
    out = {_as_date(day): [int(v or 0) for v in rest] for day, *rest in session.execute(stmt)}
    for day, *delta in session.execute(_corrections(scope)):
        counts = out.setdefault(_as_date(day), [0, 0, 0, 0])
        for i, v in enumerate(delta, start=1):
            counts[i] += int(v or 0)
    return {day: tuple(counts) for day, counts in out.items() if counts[0]}


def _corrections(scope: Any) -> Any:
    """Shanghai day of filing → (cancelled, closed, on_time) at T less by the live columns, over
    the few cases of the cohort at_live reads from their history."""
    c = asof.ledger_read(scope.as_of, narrow=scope.cohort)
    day = local_date(c.c.reported_at)

    def flags(state: Any, due_at: Any, closed_at: Any) -> list[ColumnElement[bool]]:
        closed = state == CaseState.closed.value
        on_time = closed & (due_at.is_(None) | (closed_at <= due_at))
        return [state == CaseState.cancelled.value, closed, on_time]

    at_t = flags(c.c.state, c.c.due_at, c.c.closed_at)
    live = flags(c.c.live_to_state, c.c.live_due_at, c.c.live_closed_at)
    deltas = [func.sum(_one(a) - _one(b)) for a, b in zip(at_t, live, strict=True)]
    return select(day, *deltas).select_from(c).group_by(day)


def _one(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def _days(scope: Any) -> tuple[date, date] | None:
    """The first and last Shanghai day of the period, if it is whole days."""
    start, end = scope.start.astimezone(SHANGHAI), scope.end.astimezone(SHANGHAI)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if start != midnight or end != end.replace(hour=0, minute=0, second=0, microsecond=0):
        return None
    if end.date() <= start.date():
        return None
    return start.date(), end.date() - timedelta(days=1)


def _path(scope: Any) -> str | None:
    """The one region path prefix the scope narrows the cases to ("" for none), if whole kept
    rows answer it; else None."""
    actor = scope.actor
    if actor.role not in (Role.admin, Role.supervisor, Role.dispatcher):
        return None
    prefixes = [] if actor.role == Role.admin else [actor.region_path or "\x00"]
    if scope.region_path:
        prefixes.append(scope.region_path)
    prefixes.sort(key=len)
    if len(prefixes) == 2 and not prefixes[1].startswith(prefixes[0]):
        return None  # no case is in both: left to the cases' query
    path = prefixes[-1] if prefixes else ""
    if path and (not path.endswith("/") or path.count("/") > PATH_SLASHES):
        return None
    return path


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


__all__ = ["by_day"]
