"""The cohort counts the database keeps per filing day (models/cohort.py, migration 0015_dash)
equal the GROUP BY of the cases after every kind of write — filing, dispatch, cancel, merge,
close, reopen, an unsatisfied follow-up's rework, an import of ledgers with past dates, a region
moved to another street, a deletion — and the metrics' cohort by day read from them
(cohort_days.by_day) equals the one read from the history (asof.at), for the scopes it answers
(every region path level it keeps, the whole city, one kind), imported ledgers the rule reads
otherwise at T included; where it does not answer (a handler, a community, a period not over by
T, an unsettled T) it says so and the cases are read."""

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from closeloop.imports import service as imports
from closeloop.org import service as org_service
from closeloop.reports.metrics import asof, cohort_days, queries
from closeloop.reports.metrics import service as metrics
from models.case import Case
from models.cohort import CaseCohortDay, cohort_path
from models.enums import CaseKind, CaseState
from models.history import CaseHistory
from models.org import RegionUpdate
from models.types import SHANGHAI
from tests.factories import Org, act, case_in, evidence, ledger_rows, new_case

DAY = timedelta(days=1)
START = datetime(2025, 9, 1, 10, 0, tzinfo=SHANGHAI)


def _kept(session: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    d = CaseCohortDay
    rows = session.execute(
        select(d.day, d.kind, d.path, d.reported, d.cancelled, d.closed, d.on_time)
    )
    return {tuple(r[:3]): tuple(r[3:]) for r in rows if any(r[3:])}


def _expected(session: Session) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The same counts from the cases, in Python."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for c in session.scalars(select(Case)):
        key = (c.reported_at.astimezone(SHANGHAI).date(), c.kind, cohort_path(c.region_path))
        closed = c.state == CaseState.closed
        on_time = closed and (c.due_at is None or (c.closed_at or c.due_at) <= c.due_at)
        counts = out.setdefault(key, [0, 0, 0, 0])
        for i, flag in enumerate((True, c.state == CaseState.cancelled, closed, on_time)):
            counts[i] += int(flag)
    return {k: tuple(v) for k, v in out.items()}


# (user, region, kind, whether the kept counts answer it)
SCOPES = [
    ("sup", None, None, True),  # the district, /D1/
    ("sup_s2", None, None, True),  # a street, /D1/S2/
    ("admin", None, None, True),  # every case
    ("admin", "S1", "hazard", True),
    ("sup", "S2", None, True),
    ("disp", "C1", None, False),  # a community: more than the kept path
    ("h_zj", None, None, False),  # a unit
]


def _same(session: Session, o: Org, now: datetime) -> None:
    session.flush()
    assert _kept(session) == _expected(session)
    last = (now - DAY).astimezone(SHANGHAI).date()
    for who, region, kind, answers in SCOPES:
        scope = metrics.checked_scope(
            session,
            actor=o[who],
            date_from=date_of(START - 60 * DAY),
            date_to=last,
            now=now,
            kind=kind,
            region_code=region,
        )
        assert scope.settled
        kept = cohort_days.by_day(session, scope)
        assert (kept is not None) == answers, who
        history = queries.cohort_by_day(session, dataclasses.replace(scope, settled=False))
        assert queries.cohort_by_day(session, scope) == history, (who, region, kind)
        if kept is not None:
            assert kept == history
    # A period not over at T (today's cases may be filed after T): not from the kept counts.
    today = metrics.checked_scope(
        session, actor=o["sup"], date_from=date_of(START), date_to=now.date(), now=now
    )
    assert cohort_days.by_day(session, today) is None


def date_of(moment: datetime) -> Any:
    return moment.astimezone(SHANGHAI).date()


def test_the_kept_counts_follow_every_write(session: Session, org: Org) -> None:
    t = START
    a = new_case(session, org, now=t)
    b = new_case(session, org, by="rep3", grid="G3", now=t)
    hz = new_case(session, org, kind=CaseKind.hazard, grid="G2", now=t + DAY)
    dup = new_case(session, org, now=t + DAY)
    x = new_case(session, org, now=t + 2 * DAY)
    _same(session, org, t + 3 * DAY)

    act(session, org, a, "dispatch", "disp", t + 3 * DAY, unit_code="ZJ")
    act(session, org, b, "dispatch", "disp", t + 3 * DAY, unit_code="ZJ")
    act(session, org, x, "cancel", "disp", t + 3 * DAY, reason="不属于受理范围")
    act(session, org, dup, "merge", "disp", t + 3 * DAY, target_case_id=a.id, note="重复上报")
    _same(session, org, t + 4 * DAY)

    closed = case_in(session, org, CaseState.closed, now=t + 4 * DAY)  # closed on time
    act(session, org, a, "sign", "h_zj", t + 5 * DAY)
    ids = [evidence(session, org, a, now=t + 30 * DAY)]
    act(session, org, a, "submit", "h_zj", t + 30 * DAY, note="已整改", attachment_ids=ids)
    act(session, org, a, "approve", "disp", t + 30 * DAY, note="核查通过")  # closed late
    _same(session, org, t + 31 * DAY)

    act(session, org, a, "reopen", "sup", t + 32 * DAY, reason="问题复发")
    act(session, org, closed, "follow_up", "disp", t + 32 * DAY, satisfaction="unsatisfied")
    assert closed.state == CaseState.rectifying
    _same(session, org, t + 33 * DAY)

    ledger = [  # past filing days; L2 closed and L3 dispatched after the first T below
        ("L1", "closed", "G1", "2025-08-02 10:00", "2025-08-09", "2025-08-08 10:00"),
        ("L2", "closed", "G3", "2025-08-03 10:00", "2025-08-20", "2025-10-04 20:00"),
        ("L3", "rectifying", "G2", "2025-10-04 20:00", "2025-10-20", None),
        ("L4", "reported", "G1", None, None, None),
        ("L5", "cancelled", "G3", None, None, "2025-08-11 09:00"),
    ]
    rows = ledger_rows(ledger, reported_at="2025-08-01 09:00")
    result = imports.import_ledger(
        session, actor=org["admin"], rows=enumerate(rows, start=2), source="l.csv", now=t + 34 * DAY
    )
    assert result["imported"] == len(ledger), result
    _same(session, org, t + 33 * DAY)  # L2 is not closed yet at T, L3 not dispatched
    read = asof.ledger_read(t + 33 * DAY)  # which the kept counts are corrected by
    numbers = {
        n for (n,) in session.execute(select(Case.number).join(read, read.c.case_id == Case.id))
    }
    assert {"L2", "L3"} <= numbers
    _same(session, org, t + 35 * DAY)

    # A community moved to the other street: its cases' paths change street.
    org_service.update_region(session, code="C1", data=RegionUpdate(parent_code="S2"))
    _same(session, org, t + 36 * DAY)

    assert hz.id is not None
    session.execute(delete(CaseHistory).where(CaseHistory.case_id == hz.id))  # type: ignore[arg-type]
    session.execute(delete(Case).where(Case.id == hz.id))  # type: ignore[arg-type]
    _same(session, org, t + 36 * DAY)


def test_the_path_kept_is_cut_after_its_third_slash(session: Session, org: Org) -> None:
    """The triggers' expression and models.cohort.cohort_path agree on paths of every shape."""
    assert cohort_path("/D1/S1/C1/G1/") == "/D1/S1/"
    c = new_case(session, org, now=START)
    for path in ["", "/", "a", "/D/", "/D/S", "/D/S/C", "x/y/z/w", "//", "///x/", "/D/S/C/G/"]:
        session.execute(update(Case).where(Case.id == c.id).values(region_path=path))  # type: ignore[arg-type]
        assert _kept(session) == _expected(session), path
        assert {key[2] for key in _kept(session)} == {cohort_path(path)}
