"""The case at a moment T, answered from the history (the one definition; README, "Metrics").

Every history entry carries the case as it stood after it (state, deadline, dispatch and close
times, listing, unit: models/history.py). The case at T is its latest entry with `at <= T`,
ordered by (at, seq). An imported case has one `import` entry written when the ledger came in,
which may be long after the ledger's events: when a case has no other entry at or before T, its
import entry stands for the ledger, read at T — closed (or cancelled) only if the ledger's close
time is at or before T, not yet dispatched if the ledger's dispatch time is after T, otherwise in
its ledger state, or rectifying if the ledger closed it after T.

A case exists at T when it has an entry at or before T (its filing) or its import entry.

`at(T, narrow=…)` is one subquery (ROW_NUMBER() over each case's entries, on SQLite and
PostgreSQL alike) with the columns case_id, state, due_at, dispatched_at, closed_at, listed and
unit_code at T, and the case's fixed columns (kind, street, community, grid, category) to group
by; the metrics GROUP BY over it and the report's lists read it. The scope's filter on the case
(`narrow`) is applied inside, before the window, and nothing is joined after it: a join to a
windowed subquery can make PostgreSQL re-run the window per row when its statistics are stale
(right after a large import), turning seconds into hours.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from closeloop.reports.metrics.sql import not_indexed, on_sqlite
from models.case import Case
from models.enums import CaseState, HistoryAction
from models.history import CaseHistory

# The case's columns that do not change with its history, carried through for grouping.
FIXED = ("kind", "street_code", "community_code", "grid_code", "category_code", "reported_at")

OPEN = [s.value for s in CaseState.open_states()]
CLOCK_RUNNING = [s.value for s in CaseState.clock_running_states()]
_DISPATCHED_OPEN = [s.value for s in CaseState.dispatched_states()]
_FINAL = [CaseState.closed.value, CaseState.cancelled.value]
# Written into the SQL as values, as in the predicate of ix_case_ledger_few
# (models.case.LEDGER_FEW): SQLite uses a partial index only for a term that matches that
# predicate, and bound parameters do not.
_NEITHER: BindParameter[list[str]] = bindparam(
    "neither_dispatched_nor_closed",
    [*_DISPATCHED_OPEN, CaseState.closed.value],
    expanding=True,
    literal_execute=True,
)


def at(as_of: datetime, *, narrow: Callable[[Select[Any]], Select[Any]] | None = None) -> Subquery:
    """The case at `as_of` for every case with history, or for those a statement over Case
    narrowed by `narrow` keeps (the scope: the window then runs only over those cases)."""
    h = CaseHistory
    is_import = col(h.action) == HistoryAction.import_
    inner = (
        select(
            col(h.case_id).label("case_id"),
            is_import.label("imported"),
            col(h.to_state).label("to_state"),
            col(h.due_at).label("due_at"),
            col(h.dispatched_at).label("dispatched_at"),
            col(h.closed_at).label("closed_at"),
            col(h.listed).label("listed"),
            col(h.unit_code).label("unit_code"),
            *(getattr(Case, name).label(name) for name in FIXED),
            func.row_number().over(partition_by=col(h.case_id), order_by=_order(h)).label("n"),
        )
        .select_from(h)
        .join(Case, col(Case.id) == col(h.case_id))
    )
    inner = inner.where(or_(is_import, col(h.at) <= as_of), col(h.to_state).is_not(None))
    if narrow is not None:
        inner = narrow(inner)
    return _read(inner.subquery("entries"), as_of)


def settled(session: Session, as_of: datetime) -> bool:
    """Whether nothing in the history but import entries is later than `as_of` — then `at_live`
    answers exactly what `at` answers (one indexed probe, ix_case_history_at)."""
    h = CaseHistory
    later = select(col(h.id)).where(col(h.at) > as_of, col(h.action) != HistoryAction.import_)
    return session.execute(later.limit(1)).first() is None


def at_live(
    as_of: datetime, *, narrow: Callable[[Select[Any]], Select[Any]] | None = None
) -> Subquery:
    """`at(as_of, narrow=…)` read from the live columns of the cases, exact when `settled` holds
    (the live dashboard, any figure as of now). Every case is written with its first entry
    (filing or import, in the same transaction) and every change of the snapshot columns
    appends an entry stamped with the clock's now (cases/history.append), so when no entry but
    import entries is later than T, each case's entry at T is its last one and the live columns
    are its snapshot (an import entry's, with closed_at the close or cancellation time) — read
    as they are if it is a live entry, by the ledger rule if it is the import entry. Where the ledger rule leaves the live columns as they are (almost every case:
    a closed ledger closed by T, an open one dispatched by T and in a dispatched state), both
    readings agree and the live columns are the answer without asking which entry it is; the
    few cases the rule would change are answered by `at` itself, from their history. One column
    is left out: the close time of a case cancelled at T, which no figure reads (at gives an
    imported one its cancellation time, at_live the case's closed_at, None).
    tests/reports/test_as_of_live.py asserts both give the same rows and figures."""
    # Most cases are dispatched by T and either open in a dispatched state or closed by T: the
    # rule leaves those as they are (each arm of _rule keeps them), so the comparison is
    # skipped for them — a shortcut in cost only, not in what is compared.
    kept, differs = live_kept(as_of), _differs(as_of)

    def scoped(stmt: Select[Any]) -> Select[Any]:
        return narrow(stmt) if narrow is not None else stmt

    # SQLite would answer a figure's condition on the state (closed, say) from an index on the
    # state over the whole city rather than the scope's own narrowing (the filing period):
    # the state is handed out as a value it may not look up by index (sql.not_indexed).
    as_live = _rule(_LIVE, False, as_of)
    shown = {**as_live, "state": not_indexed(as_live["state"])}
    plain = scoped(
        select(
            col(Case.id).label("case_id"),
            *(shown[name].label(name) for name in shown),
            *(getattr(Case, name).label(name) for name in FIXED),
        ).where(case((kept, False), else_=differs).is_not(True))
    )
    from_history = _from_history(as_of, scoped, differs)
    # OFFSET 0 keeps the outer filters out of this branch: pushed onto the entry's columns they
    # would make the planner expect few entries and hash the history instead of the few cases.
    return plain.union_all(select(from_history.offset(0).subquery())).subquery("asof")


def ledger_read(
    as_of: datetime, *, narrow: Callable[[Select[Any]], Select[Any]] | None = None
) -> Subquery:
    """The cases `at_live(as_of, narrow=…)` reads from their history (those whose live columns
    the ledger rule changes at T), as it reads them, with their live columns beside (live_state,
    live_due_at, live_closed_at): what a count kept from the live columns (models/cohort.py)
    must be corrected by to be at_live's, when `settled` holds."""

    def scoped(stmt: Select[Any]) -> Select[Any]:
        return narrow(stmt) if narrow is not None else stmt

    live = {f"live_{name}": _LIVE[name] for name in ("to_state", "due_at", "closed_at")}
    rows = _from_history(as_of, scoped, _differs(as_of), live)
    return rows.offset(0).subquery("ledger")


# The snapshot columns of an entry, read from the case's live columns.
_LIVE: dict[str, Any] = {
    "to_state": col(Case.state),
    "due_at": col(Case.due_at),
    "dispatched_at": col(Case.dispatched_at),
    "closed_at": col(Case.closed_at),
    "listed": col(Case.listed),
    "unit_code": col(Case.unit_code),
}


def _differs(as_of: datetime) -> ColumnElement[bool]:
    """Whether the ledger rule reads the case's live columns otherwise than they are at T."""
    # An import entry holds the ledger's values as the case was written (imports/service.py),
    # its closed_at being the close or the cancellation time.
    ledger = {**_LIVE, "closed_at": func.coalesce(col(Case.closed_at), col(Case.cancelled_at))}
    as_live, as_ledger = _rule(_LIVE, False, as_of), _rule(ledger, True, as_of)

    # closed_at is compared where the case is closed at T: no figure reads a cancelled case's
    # close time, which the import entry holds (the cancellation) and the case does not.
    def compared(reading: dict[str, Any]) -> dict[str, Any]:
        is_closed = reading["state"] == CaseState.closed.value
        return {**reading, "closed_at": case((is_closed, reading["closed_at"]), else_=None)}

    one, two = compared(as_ledger), compared(as_live)
    return or_(*(one[name].is_distinct_from(two[name]) for name in one))


def _from_history(
    as_of: datetime,
    scoped: Callable[[Select[Any]], Select[Any]],
    differs: ColumnElement[bool],
    more: dict[str, Any] | None = None,
) -> Select[Any]:
    """at_live's few cases the ledger rule changes: their entry at T — found by the index on
    (case_id, seq) per case, as `at` orders them (a live entry before the import entry, then the
    latest) — read as `at` reads it, and the columns `more` (name: expression over Case)."""
    by_ids, by_arms = not_kept(as_of, scoped)
    # PostgreSQL answers the arms' OR with a BitmapOr of their indexes. SQLite (no statistics)
    # would rather read the scope's filing period again than use an index per arm: there the
    # cases are looked up by id (rowid IN …) from the UNION of the arms, each on its index.
    few = on_sqlite(by_ids, by_arms)
    h, other = CaseHistory, _OTHER
    latest = (
        select(col(other.id))
        .where(
            col(other.case_id) == col(Case.id),
            or_(col(other.action) == HistoryAction.import_, col(other.at) <= as_of),
            col(other.to_state).is_not(None),
        )
        .order_by(*_order(other))
        .limit(1)
        .scalar_subquery()
    )
    entry = {
        "to_state": col(h.to_state),
        "due_at": col(h.due_at),
        "dispatched_at": col(h.dispatched_at),
        "closed_at": col(h.closed_at),
        "listed": col(h.listed),
        "unit_code": col(h.unit_code),
    }
    read = _rule(entry, col(h.action) == HistoryAction.import_, as_of)
    return scoped(
        select(
            col(Case.id).label("case_id"),
            *(read[name].label(name) for name in read),
            *(getattr(Case, name).label(name) for name in FIXED),
            *(value.label(name) for name, value in (more or {}).items()),
        )
        .select_from(Case)
        .join(h, col(h.id) == latest)
        .where(few, differs)
    )


# The history a second time, for a case's entry at T. One alias for the process: a new one each
# time built its columns again on every access (ORM adaptation, ~0.7 ms each, ~20 ms a figure).
_OTHER = aliased(CaseHistory, name="entry_at")


def live_kept(as_of: datetime) -> ColumnElement[bool]:
    """The cases whose live columns the ledger rule leaves as they are at `as_of`, whichever
    entry is the case's at T: dispatched by T and open in a dispatched state or closed by T."""
    state, dispatched, closed_at = col(Case.state), col(Case.dispatched_at), col(Case.closed_at)
    closed = CaseState.closed.value
    return (dispatched <= as_of) & or_(
        state.in_(_DISPATCHED_OPEN), (state == closed) & (closed_at <= as_of)
    )


def not_kept(
    as_of: datetime, scoped: Callable[[Select[Any]], Select[Any]]
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The complement of `live_kept` (NULLs included; the state is never NULL) among the cases
    a statement narrowed by `scoped` keeps, written two ways that select the same cases: the
    case's id in a UNION of the arms below, and the arms' OR. Each arm has its index, so that
    the planner finds these few cases without reading the scope's cases a second time: never
    dispatched, or neither in a dispatched state nor closed — ix_case_ledger_few, whose
    predicate is these two terms as written here (models.case.LEDGER_FEW), within the scope;
    dispatched after T — ix_case_dispatched_at; closed without a close time or after T —
    ix_case_backlog. tests/reports/test_as_of_live.py asserts both equal NOT live_kept."""
    state, dispatched, closed_at = col(Case.state), col(Case.dispatched_at), col(Case.closed_at)
    closed = CaseState.closed.value
    arms = [
        or_(dispatched.is_(None), state.not_in(_NEITHER)),
        dispatched > as_of,
        (state == closed) & closed_at.is_(None),
        (state == closed) & (closed_at > as_of),
    ]
    ids = [scoped(select(col(Case.id)).where(arms[0]))]
    ids += [select(col(Case.id)).where(arm) for arm in arms[1:]]
    by_ids = col(Case.id).in_(union(*(i.correlate(None) for i in ids)))
    return by_ids, or_(*arms)


def _order(h: Any) -> tuple[Any, ...]:
    """The order of a case's entries at T, the one at T first: a live entry before the import
    entry, then the latest by (at, seq)."""
    is_import = col(h.action) == HistoryAction.import_
    return (case((is_import, 0), else_=1).desc(), col(h.at).desc(), col(h.seq).desc())


def _rule(e: Any, imported: Any, as_of: datetime) -> dict[str, Any]:
    """The case at T from the columns of its entry at T (`e`: to_state, due_at, dispatched_at,
    closed_at, listed, unit_code) and whether that entry is an import entry (a column, or True
    or False): a live entry as it is; an import entry by the ledger rule (the module's
    docstring)."""
    if imported is False:
        return {
            "state": e["to_state"],
            "due_at": e["due_at"],
            "dispatched_at": e["dispatched_at"],
            "closed_at": e["closed_at"],
            "listed": case((e["listed"].is_(True), True), else_=False),
            "unit_code": e["unit_code"],
        }
    ended = e["to_state"].in_(_FINAL) & (e["closed_at"].is_(None) | (e["closed_at"] <= as_of))
    undispatched = e["dispatched_at"].is_(None) | (e["dispatched_at"] > as_of)
    ledger = [
        (ended, e["to_state"]),
        (undispatched, literal(CaseState.reported.value)),
        (e["to_state"].in_(_DISPATCHED_OPEN), e["to_state"]),
    ]
    # What a ledger entry says of a case not yet dispatched at T: no deadline, unit or listing.
    live_or_dispatched = ~undispatched
    not_ended = ~ended
    if imported is not True:
        ledger.insert(0, (~imported, e["to_state"]))
        live_or_dispatched = or_(~imported, live_or_dispatched)
        not_ended = imported & not_ended
    state = case(*ledger, else_=literal(CaseState.rectifying.value))

    def dispatched_only(column: Any) -> Any:
        return case((live_or_dispatched, column), else_=None)

    return {
        "state": state,
        "due_at": dispatched_only(e["due_at"]),
        "dispatched_at": dispatched_only(e["dispatched_at"]),
        "closed_at": case((not_ended, None), else_=e["closed_at"]),
        "listed": case((and_(live_or_dispatched, e["listed"].is_(True)), True), else_=False),
        "unit_code": dispatched_only(e["unit_code"]),
    }


def _read(e: Subquery, as_of: datetime) -> Subquery:
    """The columns of `asof` from the numbered entries `e` (each case's entry at T is n = 1)."""
    read = _rule(e.c, e.c.imported, as_of)
    stmt = select(
        e.c.case_id,
        *(read[name].label(name) for name in read),
        *(e.c[name] for name in FIXED),
    )
    return stmt.where(e.c.n == 1).subquery("asof")


def is_open(a: Subquery) -> ColumnElement[bool]:
    return a.c.state.in_(OPEN)


def closed(a: Subquery) -> ColumnElement[bool]:
    return a.c.state == CaseState.closed.value


def cancelled(a: Subquery) -> ColumnElement[bool]:
    return a.c.state == CaseState.cancelled.value


def on_time(a: Subquery) -> ColumnElement[bool]:
    """Closed at T no later than the deadline it had at T (or it had none)."""
    return closed(a) & (a.c.due_at.is_(None) | (a.c.closed_at <= a.c.due_at))


def overdue(a: Subquery, as_of: datetime) -> ColumnElement[bool]:
    """超期 at T: the unit's clock ran at T (dispatched or rectifying; suspension and verification
    stop it) and the deadline it had at T had passed — services.cases.overdue_clause, at T."""
    return a.c.state.in_(CLOCK_RUNNING) & (a.c.due_at < as_of)


def listed(a: Subquery) -> ColumnElement[bool]:
    """挂牌督办 at T: listed and still open at T."""
    return is_open(a) & (a.c.listed.is_(True))
