"""The sweep's reads by thousands of case ids (`closeloop.db.id_chunks`): the right rows at any number
of ids, and on PostgreSQL never a plan that searches the whole id array once per row read.

That plan was real: the ids went as `case_id = ANY(CAST(:ids AS integer[]))`, a cast the server
cannot fold into a constant array, so it could not hash it either; wherever it chose to scan
the table (a young claims table, the claims of a first run) every row was compared with every
id — 3,213 ids against 11,073 claims took 3.6 s (bench/README, "Escalation")."""

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, insert, select
from sqlmodel import Session

from closeloop.db import CHUNK
from closeloop.escalation.policy import Facts
from closeloop.escalation.sweep import fired_levels
from models.case import Case
from models.escalation import EscalationFire
from tests.factories import NOW, Org, new_case

CASES = CHUNK + 300  # more than one IN list on SQLite
LEVELS = ("reminder", "supervision")


def many_cases(session: Session, org: Org, n: int) -> list[int]:
    """n cases: one filed through the service, the rest its row copied with new numbers."""
    first = new_case(session, org)
    table = Case.__table__  # type: ignore[attr-defined]
    row = dict(
        session.connection().execute(select(table).where(table.c.id == first.id)).mappings().one()
    )
    row.pop("id")
    session.connection().execute(
        insert(table), [{**row, "number": f"{row['number']}-{i}"} for i in range(1, n)]
    )
    ids = session.connection().execute(select(table.c.id).order_by(table.c.id)).scalars().all()
    assert len(ids) == n
    return list(ids)


def claim(session: Session, ids: list[int]) -> dict[int, set[str]]:
    """Claims for two thirds of the cases: the current deadline version (1) for every even
    case, an earlier version for the odd ones (which must not count); what fired_levels
    should answer."""
    table = EscalationFire.__table__  # type: ignore[attr-defined]
    rows, expected = [], {}
    for n, case_id in enumerate(ids):
        if n % 3 == 2:
            continue
        version = 1 if n % 2 == 0 else 0
        for level in LEVELS[: 1 + n % 2]:
            rows.append(
                {
                    "case_id": case_id,
                    "deadline_version": version,
                    "level": level,
                    "fired_at": NOW - timedelta(days=1),
                    "data": {},
                }
            )
        if version == 1:
            expected[case_id] = set(LEVELS[: 1 + n % 2])
    session.connection().execute(insert(table), rows)
    return expected


def facts(ids: list[int]) -> list[Facts]:
    return [
        Facts(case_id=i, kind="event", state="rectifying", unit_code="ZJ", deadline_version=1)
        for i in ids
    ]


def test_fired_levels_of_more_cases_than_one_list_holds(session: Session, org: Org) -> None:
    ids = many_cases(session, org, CASES)
    expected = claim(session, ids)
    assert fired_levels(session, facts(ids)) == expected
    some = ids[::7]
    assert fired_levels(session, facts(some)) == {i: expected[i] for i in some if i in expected}


def test_the_ids_are_never_searched_once_per_row(
    engine: Engine, session: Session, org: Org
) -> None:
    """Whatever the server plans (a scan of the claims is forced here, as it plans one for a
    young table), the ids are a set of rows it joins, not an array each row is searched in."""
    if engine.dialect.name != "postgresql":
        return  # SQLite's IN lists are looked up in an index of the list (its own planner)
    ids = many_cases(session, org, CASES)
    claim(session, ids)
    seen: list[tuple[str, Any]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "escalation_fire" in statement:
            seen.append((statement, parameters))

    conn = session.connection()
    conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
    conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    event.listen(engine, "before_cursor_execute", keep)
    try:
        fired_levels(session, facts(ids))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 1
    statement, parameters = seen[0]
    plan = [line for (line,) in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
    assert any("Seq Scan on escalation_fire" in line for line in plan), plan
    searched = [line for line in plan if "Filter" in line and "ANY" in line]
    assert not searched, "\n".join(plan)
