"""The import's driver-level writes store what SQLAlchemy would, and the statements an import
sends through SQLAlchemy do not grow with its rows (numbers come a block per batch)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.dialects import sqlite

from closeloop.calendar.days import SHANGHAI
from closeloop.imports.bulk import BulkTable, sqlite_cache, sqlite_utc_text
from models.case import Case
from models.history import CaseHistory
from models.types import UTCDateTime
from tests.imports.test_imports import by_number, csv_bytes, row, run

HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]


def test_sqlite_time_text_is_what_sqlalchemy_stores():
    process = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert process is not None
    for at in (
        datetime(2025, 9, 30, 2, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 0, 0, 123456, tzinfo=SHANGHAI),
        datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    ):
        assert sqlite_utc_text(at) == process(at)


def test_bulk_rows_read_back_like_core_rows(session, org):
    case = run(session, org, csv_bytes([row(number="K1")]))
    assert case["imported"] == 1
    case_id = by_number(session, "K1").id
    at = datetime(2025, 9, 1, 9, 30, 0, 250000, tzinfo=SHANGHAI)
    entry = {
        "case_id": case_id,
        "action": "note",
        "from_state": None,
        "to_state": None,
        "actor_id": None,
        "actor": "测试",
        "at": at,
        "note": "备注",
        "data": {"k": ["v", 1]},
        "due_at": None,
        "dispatched_at": at,
        "closed_at": None,
        "listed": True,
        "unit_code": None,
    }
    BulkTable(session, HISTORY, [*entry, "seq"]).insert([{**entry, "seq": 2}])
    session.execute(insert(HISTORY), [{**entry, "seq": 3}])
    columns = [c for c in HISTORY.c if c.name not in ("id", "seq")]
    got = session.execute(
        select(*columns).where(HISTORY.c.case_id == case_id, HISTORY.c.seq > 1).order_by("seq")
    ).all()
    assert got[0] == got[1]
    assert got[0].at == at and got[0].data == {"k": ["v", 1]} and got[0].listed is True


def test_a_naive_time_is_refused(session, org):
    run(session, org, csv_bytes([row(number="K1")]))
    entry = {"case_id": by_number(session, "K1").id, "seq": 2, "action": "note", "actor": "测试"}
    entry |= {"at": datetime(2025, 9, 1, 9, 30), "data": "{}"}  # naive
    table = BulkTable(session, HISTORY, list(entry), stored=("data",))
    assert table.binary == (session.get_bind().dialect.name == "postgresql")
    with pytest.raises((TypeError, ValueError), match="naive"):
        table.insert([entry])


def test_statements_do_not_grow_with_the_rows(session, org):
    def statements(rows: int, start: int) -> int:
        sent: list[str] = []

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            # Not counted: the statistics' refresh at the end, one ANALYZE or none by the
            # server's own rule of how many rows are enough (test_imports).
            if not statement.startswith("ANALYZE"):
                sent.append(statement)

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            ledger = [
                row(title=f"t{i}", **({"number": f"N{start + i}"} if i % 2 else {}))
                for i in range(rows)
            ]
            result = run(session, org, csv_bytes(ledger))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert result["imported"] == rows
        return len(sent)

    statements(5, 2000)  # the transaction begins
    assert statements(300, 0) == statements(30, 1000)
    numbers = session.execute(select(func.count()).where(HISTORY.c.seq == 1)).scalar()
    assert numbers == 335


def test_generated_numbers_follow_the_counter_across_batches(session, org):
    rows = [row(title=f"t{i}") for i in range(7)]
    rows.insert(2, row(number="SJ2025000004"))
    result = run(session, org, csv_bytes(rows), batch_size=3)
    assert result == {"imported": 8, "rejected": [], "rejected_count": 0}
    numbers = session.execute(select(Case.number).order_by(Case.id)).scalars().all()
    assert sorted(numbers) == [f"SJ2025{i:06d}" for i in range(1, 9)]


def test_the_sqlite_page_cache_is_larger_while_an_import_writes_only(session, org):
    def cache_size() -> int | None:
        if session.get_bind().dialect.name != "sqlite":
            return None  # PostgreSQL: nothing to change
        return session.connection().exec_driver_sql("PRAGMA cache_size").scalar()  # type: ignore[no-any-return]

    before = cache_size()
    with sqlite_cache(session, kib=4096):
        inside = cache_size()
    assert (before, inside) in ((None, None), (-2000, -4096))
    assert cache_size() == before
    assert run(session, org, csv_bytes([row(number="C1")]))["imported"] == 1
    assert cache_size() == before
