"""Reference rows read in a transaction stay in its session until it ends (reference_rows.py)."""

import gc

from sqlalchemy import event

from closeloop.cases import reference_rows  # noqa: F401 (its listeners)
from closeloop.db import new_session
from models.org import Unit


def test_a_unit_read_once_per_transaction(engine, org):
    selects: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT unit."):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with new_session(engine) as s:
            assert s.get(Unit, "ZJ") is not None  # dropped at once
            gc.collect(1)  # young objects: a full collection of a test worker takes seconds
            assert s.get(Unit, "ZJ").code == "ZJ"
            assert len(selects) == 1
            s.commit()
            gc.collect(1)  # young objects: a full collection of a test worker takes seconds
            assert s.get(Unit, "ZJ") is not None  # a new transaction reads it anew
            assert len(selects) == 2
    finally:
        event.remove(engine, "before_cursor_execute", seen)
