"""The figures a grid is coloured by: its open cases and overdue open cases now (what the caller
may see), and the closure rate (办结率) of a period from reports.metrics — the same figure the
dashboard and the reports show. A reporter has no metrics, so a reporter's grids show no rate."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from closeloop.auth.policy import Principal
from closeloop.cases.deadlines import overdue_clause
from closeloop.cases.lookup import jurisdiction
from closeloop.clock import local_today
from closeloop.reports.metrics import service as metrics
from models.case import Case
from models.enums import CaseState, Role

DEFAULT_DAYS = 90  # the period when none is given: the last 90 days up to today


@dataclass
class GridFigures:
    date_from: date
    date_to: date
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    @staticmethod
    def empty() -> dict[str, Any]:
        return {"open": 0, "overdue": 0, "accepted": 0, "closed": 0, "closure_rate": None}


def grid_figures(
    session: Session,
    *,
    actor: Principal,
    now: datetime,
    codes: list[str],
    date_from: date | None = None,
    date_to: date | None = None,
) -> GridFigures:
    date_to = date_to or local_today(now)
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    out = GridFigures(date_from, date_to, {c: GridFigures.empty() for c in codes})
    late = overdue_clause(now)
    stmt = (
        jurisdiction(select(Case.grid_code, func.count(), func.count().filter(late)), actor)
        .where(col(Case.state).in_(CaseState.open_states()), col(Case.grid_code).in_(codes))
        .group_by(col(Case.grid_code))
    )
    for grid, open_, overdue in session.exec(stmt).all():
        if grid in out.values:
            out.values[grid].update(open=int(open_), overdue=int(overdue or 0))
    if actor.role == Role.reporter or not codes:
        return out
    report = metrics.compute(
        session, actor=actor, date_from=date_from, date_to=date_to, now=now, group_by="grid"
    )
    for g in report.groups:
        if g.key in out.values:
            out.values[g.key].update(
                accepted=g.accepted, closed=g.closed, closure_rate=g.closure_rate
            )
    return out
