"""closeloop.db.read_beside: a read-only part of one answer in a session and thread of its own
when the pool has a connection to spare and the caller has written nothing uncommitted, else in
the caller's session at once — and never a second connection waited for while the caller holds
one."""

import threading

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from closeloop.db import connection, new_session, read_beside
from models.org import Unit
from tests.conftest import one_connection_engine


def _count_and_thread(session: Session) -> tuple[int, int, int]:
    count = session.execute(select(func.count()).select_from(Unit)).scalar_one()
    return count, threading.get_ident(), id(session)


def test_a_part_runs_in_its_own_session_and_thread(engine: Engine, org) -> None:
    with new_session(engine) as session:
        here = session.execute(select(func.count()).select_from(Unit)).scalar_one()
        before = engine.pool.checkedout()  # type: ignore[attr-defined]
        count, thread, used = read_beside(session, _count_and_thread)()
        assert count == here > 0
        assert thread != threading.get_ident()
        assert used != id(session)
        assert engine.pool.checkedout() == before  # type: ignore[attr-defined]  # closed


def test_its_error_reaches_the_caller(engine: Engine) -> None:
    def fails(_: Session) -> None:
        raise LookupError("the part's own error")

    with new_session(engine) as session:
        result = read_beside(session, fails)
        with pytest.raises(LookupError, match="the part's own error"):
            result()


def test_with_changes_not_flushed_it_runs_here_and_sees_them(engine: Engine, org) -> None:
    with new_session(engine) as session:
        here = session.execute(select(func.count()).select_from(Unit)).scalar_one()
        session.autoflush = True
        session.add(Unit(code="BESIDE", name="旁读单位", short_name="旁读"))
        count, thread, used = read_beside(session, _count_and_thread)()
        assert (count, thread, used) == (here + 1, threading.get_ident(), id(session))
        session.rollback()


@pytest.mark.parametrize("how", ["flushed", "core", "savepoint"])
def test_after_a_write_not_committed_it_runs_here_and_sees_it(engine: Engine, org, how) -> None:
    with new_session(engine) as session:
        here = session.execute(select(func.count()).select_from(Unit)).scalar_one()
        if how == "core":
            connection(session).execute(
                insert(Unit).values(code="BESIDE", name="旁读单位", short_name="旁读", active=True)
            )
        else:
            if how == "savepoint":
                session.begin_nested()
            session.add(Unit(code="BESIDE", name="旁读单位", short_name="旁读"))
            session.flush()
        count, thread, used = read_beside(session, _count_and_thread)()
        assert (count, thread, used) == (here + 1, threading.get_ident(), id(session))
        session.rollback()


def test_after_reads_only_it_runs_beside(engine: Engine, org) -> None:
    with new_session(engine) as session:
        session.execute(select(func.count()).select_from(Unit))  # a read transaction is open
        _, thread, used = read_beside(session, _count_and_thread)()
        assert (thread, used) != (threading.get_ident(), id(session))


def test_with_no_connection_to_spare_it_runs_here_without_waiting(
    db_url: str, org, monkeypatch: pytest.MonkeyPatch
) -> None:
    with one_connection_engine(db_url, monkeypatch, timeout=30) as small:
        with new_session(small) as session:
            session.execute(select(func.count()).select_from(Unit))  # holds the only connection
            count, thread, used = read_beside(session, _count_and_thread)()
            assert count > 0
            assert (thread, used) == (threading.get_ident(), id(session))
