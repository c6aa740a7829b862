"""An action writes its case with one Core UPDATE when the case is the session's only change
(`perform.write_case`), its history entry with one Core INSERT (`history.append`): both must
leave the rows, and the session, exactly as the unit of work (`session.flush`) leaves them."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from closeloop.cases import history
from closeloop.cases.perform import insert_case, write_case
from models.case import Case
from models.enums import CaseKind, CaseState
from models.history import CaseHistory
from models.org import Region
from tests.factories import NOW, Org, new_case

CASE = Case.__table__  # type: ignore[attr-defined]
HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]


@contextmanager
def unit_of_work(happening: str) -> Iterator[list[int]]:
    """The ids of the cases the unit of work wrote meanwhile ("before_update", "after_insert":
    the ORM's own events)."""
    seen: list[int] = []

    def record(_mapper: Any, _conn: Any, target: Case) -> None:
        seen.append(target.id or 0)

    event.listen(Case, happening, record)
    try:
        yield seen
    finally:
        event.remove(Case, happening, record)


def unit_of_work_updates() -> Any:
    return unit_of_work("before_update")


def unit_of_work_inserts() -> Any:
    return unit_of_work("after_insert")


def _row(session: Session, case_id: int) -> dict[str, Any]:
    row = dict(
        session.connection().execute(select(CASE).where(CASE.c.id == case_id)).mappings().one()
    )
    return {k: v for k, v in row.items() if k not in ("id", "number")}


def _change(case: Case) -> None:
    """What an action does to a case: several columns, one to None, updated_at re-set to its
    own value and flagged (every action bumps the version)."""
    case.state = CaseState.dispatched
    case.unit_code = "ZJ"
    case.dispatched_at = NOW + timedelta(minutes=5)
    case.due_at = NOW + timedelta(days=3)
    case.signed_at = None
    case.updated_at = case.updated_at
    flag_modified(case, "updated_at")


def test_the_core_update_writes_and_leaves_what_a_flush_does(session: Session, org: Org) -> None:
    fast, slow = new_case(session, org), new_case(session, org)
    session.commit()
    assert _row(session, fast.id or 0) == _row(session, slow.id or 0)
    _change(fast)
    with unit_of_work_updates() as seen:
        write_case(session, fast)
    assert seen == []  # the Core statement, not the unit of work
    _change(slow)
    with unit_of_work_updates() as seen:
        session.flush()
    assert seen == [slow.id]
    assert _row(session, fast.id or 0) == _row(session, slow.id or 0)
    assert fast.version == slow.version == 2
    for case in (fast, slow):
        state = inspect(case)
        assert not state.modified and not state.committed_state and not session.is_modified(case)
        assert case not in session.dirty
    # Both are in step with their rows: a later change of each is written the same way.
    fast.title = "改名"
    write_case(session, fast)
    slow.title = "改名"
    session.flush()
    assert _row(session, fast.id or 0) == _row(session, slow.id or 0)
    assert fast.version == slow.version == 3
    # Nothing changed: nothing written, as a flush would find.
    write_case(session, fast)
    assert _row(session, fast.id or 0)["version"] == 3
    session.commit()


@pytest.mark.parametrize("path", ["core", "flush"])
def test_a_lost_race_is_stale_data_either_way(session: Session, org: Org, path: str) -> None:
    case = new_case(session, org)
    session.commit()
    session.connection().execute(
        update(CASE).where(CASE.c.id == case.id).values(version=CASE.c.version + 1)
    )
    _change(case)
    with pytest.raises(StaleDataError):
        write_case(session, case) if path == "core" else session.flush()
    session.rollback()


def test_anything_else_pending_goes_through_the_unit_of_work(session: Session, org: Org) -> None:
    case, other = new_case(session, org), new_case(session, org)
    session.commit()
    _change(case)
    other.title = "另一件"
    with unit_of_work_updates() as seen:
        write_case(session, case)
    assert sorted(seen) == sorted([case.id, other.id])
    assert not session.is_modified(case) and not session.is_modified(other)
    session.commit()


def test_a_history_entry_is_its_row_and_counts_on(session: Session, org: Org) -> None:
    case = new_case(session, org)  # filed: its entry 1
    actor = org["disp"]
    entry = history.append(
        session,
        case=case,
        action="note",
        actor=actor,
        at=NOW,
        from_state=None,
        to_state=None,
        note="一",
        data={"k": [1, 2]},
    )
    state = inspect(entry)
    assert state.persistent and not state.modified and entry.id is not None
    row = (
        session.connection()
        .execute(select(HISTORY).where(HISTORY.c.id == entry.id))
        .mappings()
        .one()
    )
    assert dict(row) == {c: getattr(entry, c) for c in row.keys()}
    assert session.get(CaseHistory, entry.id) is entry
    second = history.append(
        session, case=case, action="note", actor=actor, at=NOW, from_state=None, to_state=None
    )
    assert (entry.seq, second.seq) == (2, 3)
    session.commit()


def test_an_entry_of_a_rolled_back_savepoint_is_not_counted(session: Session, org: Org) -> None:
    case = new_case(session, org)
    session.commit()
    actor = org["disp"]

    def note() -> CaseHistory:
        return history.append(
            session, case=case, action="note", actor=actor, at=NOW, from_state=None, to_state=None
        )

    assert note().seq == 2
    savepoint = session.begin_nested()
    assert note().seq == 3
    savepoint.rollback()
    assert note().seq == 3  # the rolled-back 3 is gone: read again, not counted on
    with session.begin_nested():
        assert note().seq == 4
    assert note().seq == 5
    session.commit()
    seqs = session.connection().execute(
        select(HISTORY.c.seq).where(HISTORY.c.case_id == case.id).order_by(HISTORY.c.seq)
    )
    assert [s for (s,) in seqs] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("path", ["core", "flush"])
def test_a_rolled_back_savepoint_takes_the_write_back(
    session: Session, org: Org, path: str
) -> None:
    case = new_case(session, org)
    session.commit()
    before = _row(session, case.id or 0)
    savepoint = session.begin_nested()
    _change(case)
    write_case(session, case) if path == "core" else session.flush()
    entry = history.append(
        session,
        case=case,
        action="note",
        actor=org["disp"],
        at=NOW,
        from_state=None,
        to_state=None,
    )
    savepoint.rollback()
    assert inspect(entry).transient  # expunged, as the flush's own inserts are
    assert case.version == 1 and case.state == before["state"]  # expired: read again
    _change(case)
    write_case(session, case)  # the next write meets the row as it is
    assert case.version == 2
    session.commit()


def _filing(session: Session, org: Org, *, urgent: bool = False) -> Case:
    """A new case as filing builds it: added, not yet written."""
    from closeloop.cases.service import new_case as build

    return build(
        session,
        kind=CaseKind.event,
        state=CaseState.reported,
        region_path=session.get(Region, "G1").path,  # type: ignore[union-attr]
        by=org["rep1"],
        now=NOW,
        title="测试案件",
        category_code="0101",
        grid_code="G1",
        urgent=urgent,
    )


def test_a_new_case_is_inserted_as_a_flush_inserts_it(session: Session, org: Org) -> None:
    """`insert_case` (filing's Core INSERT) writes the row the unit of work writes and leaves the
    case as the flush leaves it: persistent, committed, new in the transaction, its history
    starting at 1 without a read; a rollback expunges it."""
    fast = _filing(session, org, urgent=True)
    with unit_of_work_inserts() as seen:
        insert_case(session, fast)
    assert seen == [] and fast.id is not None
    slow = _filing(session, org, urgent=True)
    with unit_of_work_inserts() as seen:
        session.flush()
    assert seen == [slow.id]
    fast_row, slow_row = _row(session, fast.id), _row(session, slow.id or 0)
    assert fast_row == slow_row
    assert fast_row["version"] == 1 and fast_row["urgent"] is True
    for case in (fast, slow):
        state = inspect(case)
        assert state.persistent and not state.modified and not state.committed_state
        assert session.get(Case, case.id) is case  # in the identity map
    entry = history.append(
        session,
        case=fast,
        action="file",
        actor=org["rep1"],
        at=NOW,
        from_state=None,
        to_state=CaseState.reported,
    )
    assert entry.seq == 1
    fast.title = "改名"  # later changes are written as for a flushed case
    write_case(session, fast)
    assert _row(session, fast.id)["title"] == "改名" and fast.version == 2
    savepoint = session.begin_nested()
    inner = _filing(session, org)
    insert_case(session, inner)
    inner_id = inner.id
    savepoint.rollback()
    assert inspect(inner).transient and inner not in session
    assert session.connection().execute(select(CASE).where(CASE.c.id == inner_id)).first() is None


def test_a_case_with_something_added_before_it_goes_after_it(session: Session, org: Org) -> None:
    """What the session held before the case is written first, as in the flush."""
    first = _filing(session, org)
    second = _filing(session, org)
    session.expunge(second)
    session.add(second)  # first, then second: both pending
    insert_case(session, second)
    assert first.id is not None and second.id is not None and first.id < second.id
