"""The major-hazard statistic of a period (重大事故隐患挂牌督办): found, rectified, listed,
delisted and open — Luohu's "200 found, 198 rectified, 2 open" — as of the report time T, from
the same history the metrics read (asof.py), so a closed period's figures do not change later.

Definitions (README, "Safety figures in the reports"):
- A major hazard is a hazard case of grade major (重大事故隐患).
- found: major hazards reported in the period, by T, not cancelled or merged at T (a report
  turned down as not a hazard was not a hazard found).
- rectified: of those, the ones closed (销号) at T; rectification_rate = rectified / found.
- rectified_earlier: major hazards reported before the period and closed in it (by T): the
  period's work on older hazards, shown apart so that found − rectified stays the period's own.
- listed / delisted: listing (挂牌) and delisting (摘牌) notices published in the period, by T.
- open: every major hazard reported before the period's end (and by T) that is open at T,
  whichever period found it — the backlog, as overdue_open and listed are in the metrics.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlmodel import Session, col

from closeloop.auth.policy import Principal
from closeloop.errors import Forbidden
from closeloop.reports.metrics import asof
from closeloop.reports.metrics import service as metrics
from closeloop.reports.metrics.queries import Scope
from closeloop.reports.metrics.sql import ratio
from closeloop.text import Msg
from models.case import Case
from models.dossier import Notice
from models.enums import CaseKind, Grade, NoticeType, Role
from models.metrics import MajorHazards

ROLES = (Role.dispatcher, Role.supervisor, Role.admin)


def compute(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    region_code: str | None = None,
    as_of: datetime | None = None,
) -> MajorHazards:
    if actor.role not in ROLES:
        raise Forbidden(
            Msg(
                "重大事故隐患统计需要受理、督办或管理员角色",
                "the major-hazard statistic needs the dispatcher, supervisor or admin role",
            )
        )
    scope = metrics.checked_scope(
        session,
        actor=actor,
        date_from=date_from,
        date_to=date_to,
        now=now,
        kind=CaseKind.hazard.value,
        region_code=region_code,
        as_of=as_of,
    )
    return figures(session, scope, date_from=date_from, date_to=date_to, region_code=region_code)


def figures(
    session: Session, scope: Scope, *, date_from: date, date_to: date, region_code: str | None
) -> MajorHazards:
    """The statistic for a scope already checked (its kinds are the hazards)."""

    def major(stmt: Select[Any]) -> Select[Any]:
        return stmt.where(col(Case.grade) == Grade.major.value)

    cohort = asof.at(scope.as_of, narrow=lambda s: major(scope.cohort(s)))
    found, rectified = session.execute(
        select(_count(~asof.cancelled(cohort)), _count(asof.closed(cohort))).select_from(cohort)
    ).one()
    older = asof.at(
        scope.as_of,
        narrow=lambda s: major(scope.backlog(s)).where(col(Case.reported_at) < scope.start),
    )
    closed_in = asof.closed(older) & (older.c.closed_at >= scope.start)
    closed_in = closed_in & (older.c.closed_at < scope.end)
    earlier = session.execute(select(_count(closed_in)).select_from(older)).scalar()
    backlog = asof.at(scope.as_of, narrow=lambda s: major(scope.backlog(s)))
    still_open = session.execute(
        select(_count(asof.is_open(backlog))).select_from(backlog)
    ).scalar()
    notices = _notices(session, scope)
    found, rectified = int(found or 0), int(rectified or 0)
    return MajorHazards(
        from_=date_from,
        to=date_to,
        as_of=scope.as_of,
        region_code=region_code,
        found=found,
        rectified=rectified,
        rectification_rate=ratio(rectified, found),
        rectified_earlier=int(earlier or 0),
        listed=notices.get(NoticeType.listing.value, 0),
        delisted=notices.get(NoticeType.delisting.value, 0),
        open=int(still_open or 0),
    )


def _notices(session: Session, scope: Scope) -> dict[str, int]:
    """type → notices published in the period by T, about major hazards of the scope."""
    n = Notice
    stmt: Any = (
        select(col(n.type), func.count())
        .select_from(n)
        .join(Case, col(Case.id) == col(n.case_id))
        .where(
            col(n.published_at) >= scope.start,
            col(n.published_at) < scope.end,
            col(n.published_at) <= scope.as_of,
        )
    )
    stmt = scope.cases(stmt).group_by(col(n.type))
    return {str(t): int(c) for t, c in session.execute(stmt)}


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


__all__ = ["compute", "figures"]
