"""The settled fast path of the metrics (asof.at_live, used when nothing in the history but import
entries is later than T — the live dashboard) gives exactly what the history's window (asof.at)
gives: every case's row at T, and every figure built on it (cohort, trend by day, handling days,
backlog counts and lists), by every grouping, for several T — over a district with cases in
every state, suspended, listed, returned, reopened, imported ledgers read at T (closed or
dispatched after T, never dispatched, in every ledger state), an imported case acted on later,
and cases changed after T (where the fast path is not taken)."""

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, select
from sqlmodel import Session, col

from closeloop.calendar.service import load_calendar
from closeloop.imports import service as imports
from closeloop.reports.metrics import asof, queries
from closeloop.reports.metrics import service as metrics
from models.case import Case
from tests.factories import Org, act, evidence, ledger_rows
from tests.reports.october import after, before, sh

LEDGER = [  # (number, state, grid, dispatched_at, due_at, closed_at)
    ("L1", "closed", "G1", "2025-10-02 10:00", "2025-10-09", "2025-10-08 10:00"),
    ("L2", "closed", "G2", "2025-10-20 10:00", "2025-10-27", "2025-11-04 08:00"),  # after T0
    ("L3", "rectifying", "G1", "2025-10-03 10:00", "2025-10-10", None),
    ("L4", "rectifying", "G3", "2025-11-04 07:00", None, None),  # dispatched after T0
    ("L5", "dispatched", "G2", "2025-10-28 10:00", "2025-11-20", None),
    ("L6", "suspended", "G1", "2025-10-05 10:00", "2025-10-15", None),
    ("L7", "verifying", "G3", "2025-10-06 10:00", "2025-10-20", None),
    ("L8", "reported", "G2", None, None, None),
    ("L9", "cancelled", "G1", None, None, "2025-10-11 09:00"),
    ("L10", "rectifying", "G2", "2025-10-07 10:00", "2025-10-12", None),  # acted on later
]


def _import(session: Session, o: Org) -> dict[str, Case]:
    rows = ledger_rows(LEDGER, reported_at="2025-10-01 09:00")
    result = imports.import_ledger(
        session, actor=o["admin"], rows=enumerate(rows, start=2), source="l.csv", now=sh(11, 4, 9)
    )
    assert result["imported"] == len(LEDGER), result
    found = session.scalars(select(Case).where(Case.number.in_([r[0] for r in LEDGER])))  # type: ignore[attr-defined]
    return {c.number: c for c in found}


def _rows(session: Session, a: object) -> list[tuple]:
    """Every case's row at T, but the close time of a cancelled case (no figure reads it; see
    asof.at_live)."""
    rows = [r._asdict() for r in session.execute(select(a)).all()]  # type: ignore[call-overload]
    for r in rows:
        if r["state"] == "cancelled":
            r["closed_at"] = None
    return sorted(tuple(r.values()) for r in rows)


def _few(session: Session, as_of: datetime, scoped: Callable[[Select[Any]], Select[Any]]) -> int:
    """Both forms of asof.not_kept (ids from the UNION of its arms, SQLite's; the arms' OR,
    PostgreSQL's) select exactly the cases that asof.live_kept does not keep, in the scope."""
    kept = case((asof.live_kept(as_of), 1), else_=0)
    rows = session.execute(scoped(select(col(Case.id), kept))).all()
    want = {case_id for case_id, k in rows if k == 0}
    by_ids, by_arms = asof.not_kept(as_of, scoped)
    assert set(session.scalars(scoped(select(col(Case.id)).where(by_ids)))) == want
    assert set(session.scalars(scoped(select(col(Case.id)).where(by_arms)))) == want
    return len(want)


def _same(session: Session, o: Org, as_of: datetime) -> None:
    """Both readings at `as_of`: the rows, then the figures of several periods and scopes."""
    assert asof.settled(session, as_of)
    assert _few(session, as_of, lambda stmt: stmt) > 0
    assert _rows(session, asof.at_live(as_of)) == _rows(session, asof.at(as_of))
    cal = load_calendar(session)
    today = as_of.date()
    periods = [(date(2025, 9, 1), today), (date(2025, 10, 1), date(2025, 10, 31))]
    for who, region in (("sup", "S1"), ("admin", None), ("h_zj", None)):
        for first, last in periods:
            fast = metrics.checked_scope(
                session,
                actor=o[who],
                date_from=first,
                date_to=last,
                now=as_of,
                region_code=region,
                as_of=as_of,
            )
            assert fast.settled
            _few(session, as_of, fast.cohort)
            full = dataclasses.replace(fast, settled=False)
            for group_by in (None, "grid", "unit"):
                for q in (queries.cohort_counts, queries.backlog_counts):
                    assert q(session, fast, group_by) == q(session, full, group_by), (q, who)
                hist = queries.handling_histograms(session, fast, group_by, cal, first)
                assert hist == queries.handling_histograms(session, full, group_by, cal, first)
            assert queries.cohort_by_day(session, fast) == queries.cohort_by_day(session, full)
            for which in ("overdue", "listed"):
                one = queries.backlog_cases(session, fast, which=which, limit=50)
                two = queries.backlog_cases(session, full, which=which, limit=50)
                assert (one[0], [r[0].id for r in one[1]], [r[1:] for r in one[1]]) == (
                    two[0],
                    [r[0].id for r in two[1]],
                    [r[1:] for r in two[1]],
                )


def test_the_live_reading_equals_the_history_at_every_settled_moment(session, org) -> None:  # type: ignore[no-untyped-def]
    c = before(session, org)  # up to 3 November
    ledgers = _import(session, org)  # on 4 November, ledgers reaching past the first T
    session.flush()
    first = sh(11, 3, 20)  # before the import: L2 not closed yet, L4 not dispatched yet
    _same(session, org, first)
    state_at_first = {r.case_id: r.state for r in session.execute(select(asof.at(first)))}
    assert state_at_first[ledgers["L2"].id] == "rectifying"
    assert state_at_first[ledgers["L4"].id] == "reported"
    _same(session, org, sh(11, 5))

    after(session, org, c)  # 6–20 November: a reopen, an extension, a return, closes, listing
    ids = [evidence(session, org, ledgers["L10"], by="h_zj", now=sh(11, 21))]
    act(
        session,
        org,
        ledgers["L10"],
        "submit",
        "h_zj",
        sh(11, 21),
        note="已整改",
        attachment_ids=ids,
    )
    act(session, org, ledgers["L10"], "approve", "disp", sh(11, 21), note="核查通过")
    act(session, org, ledgers["L6"], "resume", "sup", sh(11, 22))
    session.flush()
    # Changed after these moments: the fast path is not taken there.
    assert not asof.settled(session, sh(11, 8))
    assert not asof.settled(session, first)
    scope = metrics.checked_scope(
        session,
        actor=org["sup"],
        date_from=date(2025, 10, 1),
        date_to=date(2025, 10, 31),
        now=sh(11, 25),
        as_of=sh(11, 8),
    )
    assert not scope.settled
    for moment in (sh(11, 22, 12), sh(12, 1) + timedelta(hours=1)):
        _same(session, org, moment)
