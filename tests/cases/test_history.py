"""history.append: seq is the case's previous entry + 1, read once per case and transaction."""

from sqlalchemy import event
from sqlmodel import col, select

from closeloop.cases import history
from closeloop.db import new_session
from models.history import CaseHistory
from tests.factories import NOW, new_case


def _max_reads(engine, statements: list[str]):  # type: ignore[no-untyped-def]
    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "max(case_history.seq)" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    return lambda: event.remove(engine, "before_cursor_execute", seen)


def _seqs(engine, case_id: int) -> list[int]:
    with new_session(engine) as s:
        rows = s.exec(
            select(CaseHistory.seq)
            .where(CaseHistory.case_id == case_id)
            .order_by(col(CaseHistory.seq))
        )
        return list(rows)


def test_filing_reads_no_max_and_later_entries_count_on(engine, org):
    reads: list[str] = []
    stop = _max_reads(engine, reads)
    try:
        with new_session(engine) as s:
            case = new_case(s, org)  # filed: entry 1, without reading max(seq)
            assert reads == []
            for note in ("a", "b"):
                history.append(
                    s,
                    case=case,
                    action="note",
                    actor=org["disp"],
                    at=NOW,
                    from_state=None,
                    to_state=None,
                    note=note,
                )
            s.commit()
        assert reads == []
        with new_session(engine) as s:  # a new transaction reads max(seq) once for the case
            for note in ("c", "d"):
                history.append(
                    s,
                    case=case,
                    action="note",
                    actor=org["disp"],
                    at=NOW,
                    from_state=None,
                    to_state=None,
                    note=note,
                )
            s.commit()
        assert len(reads) == 1
    finally:
        stop()
    assert _seqs(engine, case.id) == [1, 2, 3, 4, 5]


def test_an_entry_rolled_back_with_its_savepoint_leaves_no_gap(engine, org):
    with new_session(engine) as s:
        case = new_case(s, org)
        s.commit()
    with new_session(engine) as s:
        nested = s.begin_nested()
        history.append(
            s, case=case, action="note", actor=org["disp"], at=NOW, from_state=None, to_state=None
        )
        s.flush()
        nested.rollback()
        history.append(
            s, case=case, action="note", actor=org["disp"], at=NOW, from_state=None, to_state=None
        )
        s.commit()
    assert _seqs(engine, case.id) == [1, 2]
