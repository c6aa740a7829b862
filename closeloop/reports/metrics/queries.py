"""The aggregate queries behind the metrics: each one GROUP BY statement, no row loop in Python.

Every query takes the same `Scope` (who asks, which kinds, which region, the period and the
report time T) and a grouping, and returns {key: counts}. The cohort is the cases reported in the
period (and by T); the backlog (overdue, listed) is every case of the scope reported before the
period's end and by T; letters are those issued in the period and by T. What a case was at T —
its state, deadline, close time, listing and unit — comes from the history (asof.py), so a
closed period's figures do not change when cases move on later; grouped by unit, a case counts
for the unit that held it at T.

Imported ledgers carry one `import` history entry instead of the action history, so the action
counts read an import entry as what its ledger state implies: a dispatched or later case was
dispatched once and signed on time (the ledger has no signing time; the import takes
dispatched_at as the signing time), a verifying or closed case was submitted once.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Subquery,
    and_,
    case,
    distinct,
    func,
    join,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from closeloop.auth.policy import Principal
from closeloop.calendar.days import WorkCalendar
from closeloop.cases.service import jurisdiction
from closeloop.db import connection
from closeloop.letters.reads import standing_at
from closeloop.reports.metrics import asof, cohort_days
from closeloop.reports.metrics.sql import local_date, not_indexed, workday_ordinals
from models.case import Case
from models.enums import Action, CaseState, HistoryAction, LetterType
from models.history import CaseHistory
from models.letter import Letter, LetterItem

DISPATCHED = [s.value for s in (*CaseState.dispatched_states(), CaseState.closed)]
SIGNED = [
    s.value
    for s in (CaseState.rectifying, CaseState.suspended, CaseState.verifying, CaseState.closed)
]
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
    # Nothing in the history but import entries is later than as_of (asof.settled): the cases
    # at T are read from their live columns (asof.at_live), which then equal the history's.
    settled: bool = False
    # PostgreSQL: the figures read by action go from the cases to their entries through the
    # index on case_history.case_id, as LATERAL subqueries (`entries`, `case_of`); else a join.
    lateral: bool = False

    def cases(self, stmt: Select[Any]) -> Select[Any]:
        """Narrow a statement over Case to the scope (jurisdiction, kinds, region)."""
        stmt = jurisdiction(stmt, self.actor).where(col(Case.kind).in_(self.kinds))
        if self.region_path:
            stmt = stmt.where(col(Case.region_path).startswith(self.region_path, autoescape=True))
        return stmt

    def cohort(self, stmt: Select[Any]) -> Select[Any]:
        """The cases reported in the period, by the report time."""
        return self.backlog(stmt).where(col(Case.reported_at) >= self.start)

    def backlog(self, stmt: Select[Any]) -> Select[Any]:
        """The cases reported before the period's end, by the report time: the backlog whose
        overdue and listed cases a report counts and lists."""
        return self.cases(stmt).where(
            col(Case.reported_at) < self.end, col(Case.reported_at) <= self.as_of
        )

    def at(self, *, cohort: bool) -> Subquery:
        """The scope's cases as they stood at the report time (asof.at): the cohort's, or the
        backlog's. Queries group over this alone; see asof.py on why nothing is joined to it."""
        read = asof.at_live if self.settled else asof.at
        return read(self.as_of, narrow=self.cohort if cohort else self._open_at)

    def _open_at(self, stmt: Select[Any]) -> Select[Any]:
        """The backlog less the cases certainly closed at T: a case closed (or cancelled) now
        whose last close came at or before T stayed closed from then on (a reopen clears
        closed_at), so it can be neither overdue nor listed at T. Only narrows the window."""
        # Written as arms an index on (state, closed_at, cancelled_at) answers (ix_case_backlog)
        # rather than NOT(final AND coalesce(...) <= T), which reads every case of the scope:
        # a final case stays when its end, coalesce(closed_at, cancelled_at), is after T (a
        # final case without either time is left out, as NOT(final AND NULL) leaves it out).
        state, closed, cancelled = col(Case.state), col(Case.closed_at), col(Case.cancelled_at)
        final = [CaseState.closed.value, CaseState.cancelled.value]
        not_final = [s.value for s in CaseState if s.value not in final]
        return self.backlog(stmt).where(
            or_(
                state.in_(not_final),
                state.in_(final) & (closed > self.as_of),
                state.in_(final) & closed.is_(None) & (cancelled > self.as_of),
            )
        )


# A case costs about five times an entry of the history to reach by index rather than by a scan
# (measured at 300k cases, PostgreSQL): the entries are read case by case (`Scope.lateral`)
# when the cohort has fewer cases than the history has entries divided by this.
BY_CASE_RATIO = 8


def by_case(session: Session, cohort: int) -> bool:
    """Whether the figures read by action should reach the history case by case: PostgreSQL,
    and a cohort of `cohort` cases small against the history (a month's, not a year's; the
    planner's own count of the entries). Only the plan depends on it, never the figures."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    size = text("SELECT reltuples FROM pg_class WHERE oid = 'case_history'::regclass")
    return cohort * BY_CASE_RATIO <= float(session.execute(size).scalar() or 0)


def entries(scope: Scope, *where: Callable[[Any], Any]) -> tuple[Any, FromClause]:
    """The history entries of the cases a statement over Case names, filtered by `where` (each
    a function of the entry's table or alias): (h, the FROM of Case and its entries), h to build
    expressions on like CaseHistory. With scope.lateral the entries are a LATERAL subquery per
    case (OFFSET 0 keeps it one), which PostgreSQL answers through the index on case_id for the
    few thousand cases of a month's cohort instead of hashing the whole history against them;
    the same rows as the plain join (tests/reports/test_by_case.py)."""
    if scope.lateral:
        h = CaseHistory
        inner = select(h).where(col(h.case_id) == col(Case.id), *(w(h) for w in where))
        sub = inner.offset(0).lateral("h")
        return aliased(CaseHistory, sub), join(Case, sub, true())
    # SQLite: `+case.id` (sql.not_indexed) keeps its planner from scanning the whole history
    # and looking each entry's case up; it goes from the cases to their entries instead.
    h = _H
    on = and_(col(h.case_id) == not_indexed(col(Case.id)), *(w(h) for w in where))
    return h, join(Case, h, on)


# One alias for the process: a new one each call built its columns again on every access (ORM
# adaptation, ~0.7 ms each).
_H = aliased(CaseHistory, name="h")

_KEYS: dict[str, Any] = {
    "street": col(Case.street_code),
    "community": col(Case.community_code),
    "grid": col(Case.grid_code),
    "category": col(Case.category_code),
    "kind": col(Case.kind),
}


def group_key(group_by: str | None, a: Subquery | None) -> Any | None:
    """The grouping expression, over the cases at T (`a`) or over Case: a case's unit is the one
    that held it at T; streets, grids, categories and kinds do not change."""
    if group_by is None:
        return None
    if a is not None:
        return a.c.unit_code if group_by == "unit" else a.c[_KEYS[group_by].key]
    return col(Case.unit_code) if group_by == "unit" else _KEYS[group_by]


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


def cohort_counts(
    session: Session, scope: Scope, group_by: str | None
) -> dict[Any, tuple[int, ...]]:
    """key → (reported, cancelled, closed, on_time_closed), the states at T."""
    a = scope.at(cohort=True)
    key = group_key(group_by, a)
    stmt = select(
        _key(key),
        func.count(),
        _count(asof.cancelled(a)),
        _count(asof.closed(a)),
        _count(asof.on_time(a)),
    ).select_from(a)
    return _rows(session, stmt.group_by(*_by(key)))


def cohort_by_day(session: Session, scope: Scope) -> dict[date, tuple[int, ...]]:
    """Shanghai day of filing → (reported, cancelled, closed, on_time_closed) at T: the cohort
    counts of `cohort_counts` (no grouping) split by the day each case was filed, so the counts
    of any run of whole days inside the scope's period are sums of these (one query for the
    dashboard's six-month trend instead of a computation per month). From the counts the
    database keeps per filing day where they give the same answer (cohort_days.py)."""
    kept = cohort_days.by_day(session, scope)
    if kept is not None:
        return kept
    a = scope.at(cohort=True)
    day = local_date(a.c.reported_at)
    stmt = select(
        day,
        func.count(),
        _count(asof.cancelled(a)),
        _count(asof.closed(a)),
        _count(asof.on_time(a)),
    ).select_from(a)
    out: dict[date, tuple[int, ...]] = {}
    for row in session.execute(stmt.group_by(day)):
        out[_as_date(row[0])] = tuple(int(v or 0) for v in row[1:])
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def action_counts(
    session: Session, scope: Scope, group_by: str | None
) -> dict[Any, tuple[int, ...]]:
    """key → (dispatches, returns, submissions, rejections, signed_on_time), over the history
    of the cohort up to the report time. Grouped by unit, an action counts for the unit that held
    the case then: a dispatch and its return for the unit they name, a signing or submission for
    the unit the entry's snapshot names."""
    return action_counts_and(session, scope, group_by, ())[0]


def action_counts_and(
    session: Session, scope: Scope, group_by: str | None, more: Sequence[str]
) -> tuple[dict[Any, tuple[int, ...]], dict[Any, tuple[int, ...]]]:
    """`action_counts`, and in the same pass over the history key → (entries of each action of
    `more`, in order) over the cohort's entries up to the report time — for keys that have one
    of them (the return review's actions, grouped by a case column: returns.figures). Each
    dictionary holds exactly the keys its own query would give."""
    actions = [
        Action.dispatch,
        Action.return_,
        Action.sign,
        Action.submit,
        Action.reject,
        HistoryAction.import_,
    ]
    h, cases_and_entries = entries(
        scope,
        lambda e: col(e.action).in_([*actions, *more]),
        lambda e: (col(e.action) == HistoryAction.import_) | (col(e.at) <= scope.as_of),
    )
    action, to_state = col(h.action), col(h.to_state)
    imported = action == HistoryAction.import_
    dispatch = (action == Action.dispatch) | (imported & to_state.in_(DISPATCHED))
    signed = ((action == Action.sign) & (h.data["on_time"].as_boolean() == literal(True))) | (
        imported & to_state.in_(SIGNED)
    )
    submit = (action == Action.submit) | (imported & to_state.in_(SUBMITTED))
    # Grouped by a case column: not from its index (SQLite would walk every case in its order).
    key: Any = None if group_by is None else not_indexed(group_key(group_by, None))
    if group_by == "unit":
        key = func.coalesce(h.data["unit_code"].as_string(), col(h.unit_code), col(Case.unit_code))
    stmt: Select[Any] = select(
        _key(key),
        _count(dispatch),
        _count(action == Action.return_),
        _count(submit),
        _count(action == Action.reject),
        _count(signed),
        *([_count(action.in_(actions))] if more else []),  # whether the key has any
        *(_count(action == a) for a in more),
    ).select_from(cases_and_entries)
    rows = _rows(session, scope.cohort(stmt).group_by(*_by(key)))
    if not more:
        return rows, {}
    return (
        {k: v[:5] for k, v in rows.items() if v[5]},
        {k: v[6:] for k, v in rows.items() if any(v[6:])},
    )


def handling_histograms(
    session: Session, scope: Scope, group_by: str | None, cal: WorkCalendar, first: date
) -> dict[Any, Counter[int]]:
    """key → {working days from dispatch to close: number of cases}, for the cohort's cases
    closed at the report time. A histogram per group gives the exact median and mean without
    reading the cases one by one."""
    last = cal.local_date(scope.as_of)
    if last < first:
        return {}
    a = scope.at(cohort=True)
    key = group_key(group_by, a)
    # The (dispatch day, close day) pairs with their counts — one pass over the cases — then
    # each pair's working days from the ordinals of the calendar that sets deadlines. The
    # statement is the same for every period and calendar, so it is compiled once (a table of
    # the days joined in SQL was a new statement each time: ~40 ms of compiling a figure).
    pairs = (
        select(
            _key(key),
            local_date(a.c.dispatched_at).label("dispatched"),
            local_date(a.c.closed_at).label("closed"),
            func.count().label("cases"),
        )
        .select_from(a)
        .where(asof.closed(a), a.c.dispatched_at.is_not(None))
        .group_by(*_by(key), "dispatched", "closed")
    )
    n = workday_ordinals(cal, first, last)
    out: dict[Any, Counter[int]] = {}
    for k, dispatched, closed, count in connection(session).execute(pairs):  # Core rows
        if dispatched in n and closed in n:  # days from `first` to the report time
            out.setdefault(k, Counter())[n[closed] - n[dispatched]] += int(count)
    return out


def backlog_counts(
    session: Session, scope: Scope, group_by: str | None
) -> dict[Any, tuple[int, ...]]:
    """key → (overdue_open, listed_open) at the report time, over the backlog (Scope.backlog):
    the same set the report's lists show (backlog_cases)."""
    a = scope.at(cohort=False)
    key = group_key(group_by, a)
    overdue, listed = asof.overdue(a, scope.as_of), asof.listed(a)
    stmt = select(_key(key), _count(overdue), _count(listed)).select_from(a).where(overdue | listed)
    return _rows(session, stmt.group_by(*_by(key)))


def backlog_cases(
    session: Session, scope: Scope, *, which: str, limit: int
) -> tuple[int, list[tuple[Any, ...]]]:
    """The backlog's overdue (`which="overdue"`) or listed cases at the report time: how many,
    and the first `limit` by deadline at T as (Case, state, due_at, dispatched_at, unit_code,
    listed) at T. Counted by the same predicate as backlog_counts."""
    a = scope.at(cohort=False)
    where = asof.overdue(a, scope.as_of) if which == "overdue" else asof.listed(a)
    total = int(session.execute(select(func.count()).select_from(a).where(where)).scalar() or 0)
    found = session.execute(
        select(a.c.case_id, a.c.state, a.c.due_at, a.c.dispatched_at, a.c.unit_code, a.c.listed)
        .where(where)
        .order_by(a.c.due_at.asc().nulls_last(), a.c.case_id)
        .limit(limit)
    ).all()
    cases: dict[int, Case] = {}
    ids = [row[0] for row in found]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        cases.update(
            (c.id or 0, c) for c in session.scalars(select(Case).where(col(Case.id).in_(chunk)))
        )
    return total, [(cases[row[0]], *row[1:]) for row in found]


def letter_counts(
    session: Session, scope: Scope, group_by: str | None
) -> dict[Any, dict[str, int]]:
    """key → {letter type: letters issued in the period, by the report time, about cases of the
    scope}. A letter about cases in two streets counts once for each street, and once in the
    total (key None); grouped by unit, it counts for the unit it was sent to."""
    key = col(Letter.unit_code) if group_by == "unit" else group_key(group_by, None)
    stmt = (
        select(_key(key), col(Letter.type), func.count(distinct(col(Letter.id))))
        .select_from(Letter)
        .join(LetterItem, col(LetterItem.letter_id) == col(Letter.id))
        .join(Case, col(Case.id) == col(LetterItem.case_id))
        .where(
            col(Letter.issued_at) >= scope.start,
            col(Letter.issued_at) < scope.end,
            standing_at(scope.as_of),
        )
    )
    out: dict[Any, dict[str, int]] = {}
    for k, letter_type, count in session.execute(
        scope.cases(stmt).group_by(*_by(key, Letter.type))
    ):
        out.setdefault(k, dict.fromkeys(LetterType, 0))[LetterType(letter_type)] = int(count)
    return out
