"""The co-handling figures of the metrics (主办/协办): per assisting unit, its tasks and how many it
signed and completed on time, as of the report time T.

Definitions (README, "Co-handling"):
- assist_tasks: tasks opened (created_at) in the period, by T, on cases in scope, less those
  waived by T (a waived task is no longer the unit's to do);
- assist_signed_on_time: of those, signed by T and no later than their sign deadline;
- assist_done_on_time: of those, completed by T and no later than their due time;
- the rates divide by assist_tasks (None when 0).
- Groups: unit by the task's (assisting) unit; the total carries them all; other groupings
  (regions, categories, kinds) carry none (0).
- Jurisdiction: the cases the asker may see; a handler sees the tasks of their own unit.
"""

from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session, col

from closeloop.reports.metrics.queries import Scope
from closeloop.reports.metrics.sql import ratio
from models.case import Case
from models.enums import Role
from models.metrics import Metrics
from models.task import CaseTask

Figures = tuple[int, int, int]  # tasks, signed on time, done on time


def figures(session: Session, scope: Scope, group_by: str | None) -> dict[Any, Figures]:
    """key → (tasks, signed on time, done on time): by unit, or the total under None."""
    if group_by not in (None, "unit"):
        return {}
    t, at = CaseTask, scope.as_of
    signed = and_(
        col(t.signed_at) <= at,
        or_(col(t.sign_due_at).is_(None), col(t.signed_at) <= col(t.sign_due_at)),
    )
    done = and_(col(t.done_at) <= at, col(t.done_at) <= col(t.due_at))
    key = col(t.unit_code) if group_by == "unit" else None
    stmt: Any = select(
        *([key] if key is not None else []),
        func.count(),
        func.coalesce(func.sum(case((signed, 1), else_=0)), 0),
        func.coalesce(func.sum(case((done, 1), else_=0)), 0),
    ).join(Case, col(Case.id) == col(t.case_id))
    if scope.actor.role == Role.handler:
        stmt = stmt.where(col(t.unit_code) == (scope.actor.unit_code or "\x00"))
        stmt = stmt.where(col(Case.kind).in_(scope.kinds))
        if scope.region_path:
            stmt = stmt.where(col(Case.region_path).startswith(scope.region_path, autoescape=True))
    else:
        stmt = scope.cases(stmt)
    stmt = stmt.where(
        col(t.created_at) >= scope.start,
        col(t.created_at) < scope.end,
        col(t.created_at) <= at,
        or_(col(t.waived_at).is_(None), col(t.waived_at) > at),
    )
    if key is not None:
        stmt = stmt.group_by(key)
        return {k: (int(n), int(s), int(d)) for k, n, s, d in session.execute(stmt)}
    n, s, d = session.execute(stmt).one()
    return {None: (int(n), int(s), int(d))}


def fill(m: Metrics, f: Figures | None) -> None:
    """Write the figures into a Metrics (a group without any keeps the zero defaults)."""
    if not f:
        return
    m.assist_tasks, m.assist_signed_on_time, m.assist_done_on_time = f
    m.assist_sign_on_time_rate = ratio(f[1], f[0])
    m.assist_done_on_time_rate = ratio(f[2], f[0])
