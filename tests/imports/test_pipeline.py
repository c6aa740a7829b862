"""The import checks a batch while a second thread writes the previous one (service._Pipeline;
by default on PostgreSQL) and writes PostgreSQL's rows with a binary COPY (bulk.BulkTable): what
is stored, what is rejected and what a failure leaves are the same as when each batch is written
before the next is checked (compared on both databases, the thread used on both)."""

import json
import sqlite3
import sys

import psycopg
import pytest
from sqlalchemy import insert, select, text

from closeloop.errors import Invalid
from closeloop.imports.bulk import BulkTable
from closeloop.imports.service import SWITCH_INTERVAL, _short_switches
from models.case import Case
from models.history import CaseHistory
from tests.factories import NOW
from tests.imports.test_imports import count, csv_bytes, row, run
from tests.imports.test_same_rows import varied_ledger

CASES = Case.__table__  # type: ignore[attr-defined]
HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]


def stored(session) -> list[tuple[dict, dict]]:  # type: ignore[no-untyped-def, type-arg]
    """Every case and its history entries, by number, without the ids."""
    cases = session.execute(select(CASES).order_by(CASES.c.number)).mappings().all()
    out = []
    for case in cases:
        entries = session.execute(
            select(HISTORY).where(HISTORY.c.case_id == case["id"]).order_by(HISTORY.c.seq)
        ).mappings()
        out.append(
            (
                {k: v for k, v in case.items() if k != "id"},
                [{k: v for k, v in e.items() if k not in ("id", "case_id")} for e in entries],
            )
        )
    return out


def test_the_overlapped_import_stores_and_rejects_what_the_serial_one_does(session, org):
    run(session, org, csv_bytes([row(number="V003")]))  # taken: rejected
    session.commit()
    ledger = varied_ledger()
    ledger.insert(5, row(number="V001"))  # repeats a row of an earlier batch: rejected
    ledger.insert(9, row(grid_code="G9"))  # no such grid: rejected by the checks
    ledger += [row(title=f"t{i}") for i in range(40)]  # numbered by the counter
    data = csv_bytes(ledger)
    results, rows = [], []
    for overlap in (False, True):
        results.append(run(session, org, data, batch_size=7, overlap=overlap))
        rows.append(stored(session))
        session.rollback()  # the counters too: the same numbers are drawn again
    assert results[0]["rejected_count"] == 3 and len(rows[0]) == len(ledger) - 3 + 1
    assert results[1] == results[0]
    assert rows[1] == rows[0]


def test_a_database_error_in_a_later_batch_rolls_back_the_batches_already_written(session, org):
    # The database refuses the title "boom" (a trigger): the third batch of two fails after the
    # first two were written by the writer thread; the error reaches the caller, whose rollback
    # leaves nothing.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.title = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        session.execute(
            text(
                'CREATE TRIGGER boom BEFORE INSERT ON "case" '
                "FOR EACH ROW EXECUTE FUNCTION pg_temp.boom()"
            )
        )
    else:
        session.execute(
            text(
                "CREATE TRIGGER boom BEFORE INSERT ON \"case\" WHEN NEW.title = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
            )
        )
    ledger = [row(title=f"t{i}") for i in range(4)] + [row(title="boom")] + [row()] * 6
    # The driver's own error (the writes go through the driver), raised by the writer thread.
    with pytest.raises((sqlite3.Error, psycopg.Error)) as info:
        run(session, org, csv_bytes(ledger), batch_size=2, overlap=True)
    assert "boom refused" in str(info.value)
    session.rollback()
    assert count(session, Case) == 0 and count(session, CaseHistory) == 0
    # The trigger went with the rollback: the same file imports whole.
    assert run(session, org, csv_bytes(ledger), batch_size=2)["imported"] == len(ledger)


def test_a_bad_file_after_batches_were_written_waits_for_the_writer(session, org):
    data = csv_bytes([row() for _ in range(9)]) + "坏".encode("gbk") + b",x\n"
    with pytest.raises(Invalid):
        run(session, org, data, batch_size=2, overlap=True)
    # Raised once the writer is idle: the four whole batches are in, the connection usable.
    assert count(session, Case) == 8 and count(session, CaseHistory) == 8
    session.rollback()
    assert count(session, Case) == 0


def test_json_text_by_binary_copy_reads_back_like_core_rows(session, org):
    # On PostgreSQL the import's tables are written by a binary COPY (every column's type
    # allows it); a json column given as its stored text goes as text, not encoded again.
    run(session, org, csv_bytes([row(number="K1")]))
    case_id = session.execute(select(CASES.c.id)).scalar_one()
    entry = {
        "case_id": case_id,
        "action": "note",
        "from_state": "a",
        "to_state": None,
        "actor_id": org["admin"].id,
        "actor": "测试 \t\\ \n",
        "at": NOW,
        "note": "备注",
        "due_at": None,
        "dispatched_at": NOW,
        "closed_at": None,
        "listed": False,
        "unit_code": "SW",
    }
    data = {"source": '台账 "x".csv', "row": 12, "n": [1.5, None, True]}
    table = BulkTable(session, HISTORY, [*entry, "seq", "data"], stored=("data",))
    if session.get_bind().dialect.name == "postgresql":
        assert table._binary_types(table.columns) is not None
    table.insert([{**entry, "seq": 2, "data": json.dumps(data)}])
    session.execute(insert(HISTORY), [{**entry, "seq": 3, "data": data}])
    columns = [c for c in HISTORY.c if c.name not in ("id", "seq")]
    got = session.execute(
        select(*columns).where(HISTORY.c.case_id == case_id, HISTORY.c.seq > 1).order_by("seq")
    ).all()
    assert got[0] == got[1]
    assert got[0].data == data and got[0].actor == "测试 \t\\ \n"


def test_the_switch_interval_is_restored_by_the_last_import_out(session, org):
    found = sys.getswitchinterval()
    assert run(session, org, csv_bytes([row()] * 3), batch_size=2, overlap=True)["imported"] == 3
    bad = csv_bytes([row()] * 3) + "坏".encode("gbk") + b",x\n"
    with pytest.raises(Invalid):
        run(session, org, bad, batch_size=2, overlap=True)
    assert sys.getswitchinterval() == found
    # Two imports at once, the first to start ending first.
    first, second = _short_switches(), _short_switches()
    first.__enter__()
    second.__enter__()
    assert sys.getswitchinterval() == min(found, SWITCH_INTERVAL)
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == min(found, SWITCH_INTERVAL)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == found
