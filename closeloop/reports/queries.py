"""The aggregate queries behind the metrics: each one GROUP BY statement, no row loop in Python.

Every query takes the same `Scope` (who asks, which kinds, which region, the period and the
report time) and a group key expression, and returns {key: counts}. The cohort is the cases
reported in the period; the backlog (overdue, listed) is every case of the scope reported before
the period's end; letters are those issued in the period.

Imported ledgers carry one `import` history entry instead of the action history, so the action
counts read an import entry as what its ledger state implies: a dispatched or later case was
dispatched once and signed on time (the ledger has no signing time; the import takes
dispatched_at as the signing time), a verifying or closed case was submitted once.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal, or_, select
from sqlmodel import Session, col

from closeloop.calendar import WorkCalendar
from closeloop.policy import Principal
from closeloop.reports.sql import local_date, workday_ordinals
from closeloop.services.cases import jurisdiction, overdue_clause
from models.case import Case
from models.enums import CaseState, LetterType
from models.history import CaseHistory
from models.letter import Letter, LetterItem

DISPATCHED = [s.value for s in (*CaseState.dispatched_states(), CaseState.closed)]
SIGNED = [s.value for s in (CaseState.rectifying, CaseState.suspended, CaseState.verifying,
                            CaseState.closed)]  # fmt: skip
SUBMITTED = [CaseState.verifying.value, CaseState.closed.value]
OPEN = [s.value for s in CaseState.open_states()]


@dataclass(frozen=True)
class Scope:
    actor: Principal
    kinds: tuple[str, ...]
    region_path: str | None
    start: datetime  # the period, [start, end)
    end: datetime
    as_of: datetime  # the report time

    def cases(self, stmt: Select[Any]) -> Select[Any]:
        """Narrow a statement over Case to the scope (jurisdiction, kinds, region)."""
        stmt = jurisdiction(stmt, self.actor).where(col(Case.kind).in_(self.kinds))
        if self.region_path:
            stmt = stmt.where(col(Case.region_path).startswith(self.region_path, autoescape=True))
        return stmt

    def cohort(self, stmt: Select[Any]) -> Select[Any]:
        return self.cases(stmt).where(
            col(Case.reported_at) >= self.start, col(Case.reported_at) < self.end
        )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _key(key: Any | None) -> Any:
    """The group key to select: None (no grouping) selects NULL and groups by nothing, since
    PostgreSQL refuses a constant in GROUP BY."""
    return (key if key is not None else literal(None)).label("k")


def _by(key: Any | None, *others: Any) -> list[Any]:
    return ([key] if key is not None else []) + list(others)


def _rows(session: Session, stmt: Select[Any]) -> dict[Any, tuple[int, ...]]:
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in session.execute(stmt)}


def closed_by(as_of: datetime) -> ColumnElement[bool]:
    return (col(Case.state) == CaseState.closed) & (col(Case.closed_at) <= as_of)


def cohort_counts(session: Session, scope: Scope, key: Any) -> dict[Any, tuple[int, ...]]:
    """key → (reported, cancelled, closed, on_time_closed)."""
    closed = closed_by(scope.as_of)
    cancelled = (col(Case.state) == CaseState.cancelled) & (
        col(Case.cancelled_at).is_(None) | (col(Case.cancelled_at) <= scope.as_of)
    )
    on_time = closed & (col(Case.due_at).is_(None) | (col(Case.closed_at) <= col(Case.due_at)))
    stmt = select(_key(key), func.count(), _count(cancelled), _count(closed), _count(on_time))
    return _rows(session, scope.cohort(stmt.select_from(Case)).group_by(*_by(key)))


def action_counts(
    session: Session, scope: Scope, key: Any | None, *, by_unit: bool
) -> dict[Any, tuple[int, ...]]:
    """key → (dispatches, returns, submissions, rejections, signed_on_time), over the history
    of the cohort up to the report time. Grouped by unit, a dispatch and its return count for the
    unit they were dispatched to (the history entry names it), not the case's unit now."""
    h = CaseHistory
    action, to_state = col(h.action), col(h.to_state)
    imported = action == "import"
    dispatch = (action == "dispatch") | (imported & to_state.in_(DISPATCHED))
    signed = ((action == "sign") & (h.data["on_time"].as_boolean() == literal(True))) | (
        imported & to_state.in_(SIGNED)
    )
    submit = (action == "submit") | (imported & to_state.in_(SUBMITTED))
    if key is not None and by_unit:
        key = func.coalesce(h.data["unit_code"].as_string(), col(Case.unit_code))
    stmt: Select[Any] = (
        select(
            _key(key),
            _count(dispatch),
            _count(action == "return"),
            _count(submit),
            _count(action == "reject"),
            _count(signed),
        )
        .select_from(h)
        .join(Case, col(Case.id) == col(h.case_id))
    )
    stmt = scope.cohort(stmt).where(
        action.in_(["dispatch", "return", "sign", "submit", "reject", "import"]),
        imported | (col(h.at) <= scope.as_of),
    )
    return _rows(session, stmt.group_by(*_by(key)))


def handling_histograms(
    session: Session, scope: Scope, key: Any, cal: WorkCalendar, first: date
) -> dict[Any, Counter[int]]:
    """key → {working days from dispatch to close: number of cases}, for the cohort's cases
    closed by the report time. A histogram per group gives the exact median and mean without
    reading the cases one by one."""
    last = cal.local_date(scope.as_of)
    if last < first:
        return {}
    # First the (dispatch day, close day) pairs with their counts — one pass over the cases —
    # then the small table of pairs is joined to the working-day ordinals.
    pairs = (
        select(
            _key(key),
            local_date(col(Case.dispatched_at)).label("dispatched"),
            local_date(col(Case.closed_at)).label("closed"),
            func.count().label("cases"),
        )
        .select_from(Case)
        .where(closed_by(scope.as_of), col(Case.dispatched_at).is_not(None))
    )
    pairs = scope.cohort(pairs).group_by(*_by(key), "dispatched", "closed")
    p = pairs.subquery("pairs")
    wd = workday_ordinals(cal, first, last)
    dispatched, closed = wd.alias("d"), wd.alias("c")
    days = (closed.c.n - dispatched.c.n).label("days")
    stmt = (
        select(p.c.k, days, func.sum(p.c.cases))
        .select_from(p)
        .join(dispatched, dispatched.c.day == p.c.dispatched)
        .join(closed, closed.c.day == p.c.closed)
        .group_by(p.c.k, days)
    )
    out: dict[Any, Counter[int]] = {}
    for k, n_days, count in session.execute(stmt):
        out.setdefault(k, Counter())[int(n_days)] += int(count)
    return out


def backlog_counts(session: Session, scope: Scope, key: Any) -> dict[Any, tuple[int, ...]]:
    """key → (overdue_open, listed_open) at the report time, over every open case of the scope
    reported before the period's end — the backlog leadership chases, not only this period's."""
    listed = col(Case.listed).is_(True)
    stmt = select(_key(key), _count(overdue_clause(scope.as_of)), _count(listed))
    stmt = scope.cases(stmt.select_from(Case)).where(
        col(Case.state).in_(OPEN),
        col(Case.reported_at) < min(scope.end, scope.as_of),
        or_(and_(col(Case.due_at).is_not(None), col(Case.due_at) < scope.as_of), listed),
    )
    return _rows(session, stmt.group_by(*_by(key)))


def letter_counts(
    session: Session, scope: Scope, key: Any | None, *, by_unit: bool
) -> dict[Any, dict[str, int]]:
    """key → {letter type: letters issued in the period about cases of the scope}. A letter about
    cases in two streets counts once for each street, and once in the total (key None)."""
    if key is not None and by_unit:
        key = col(Letter.unit_code)
    stmt = (
        select(_key(key), col(Letter.type), func.count(distinct(col(Letter.id))))
        .select_from(Letter)
        .join(LetterItem, col(LetterItem.letter_id) == col(Letter.id))
        .join(Case, col(Case.id) == col(LetterItem.case_id))
        .where(col(Letter.issued_at) >= scope.start, col(Letter.issued_at) < scope.end)
    )
    out: dict[Any, dict[str, int]] = {}
    for k, letter_type, count in session.execute(
        scope.cases(stmt).group_by(*_by(key, Letter.type))
    ):
        out.setdefault(k, dict.fromkeys(LetterType, 0))[LetterType(letter_type)] = int(count)
    return out
