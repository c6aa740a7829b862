"""SQLite transactions (closeloop/sqlite_locking.py): reads never wait for a writer, a writer takes
the lock at its first write, and a transaction that read before another writer committed neither
fails with SQLITE_BUSY_SNAPSHOT nor loses the other's update."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from closeloop import sqlite_locking
from closeloop.config import get_settings
from closeloop.db import make_engine


@pytest.fixture
def sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    # A short busy timeout: a read that waited for the writer would fail, not just be slow.
    monkeypatch.setenv("CLOSELOOP_SQLITE_BUSY_TIMEOUT_MS", "200")
    get_settings.cache_clear()
    eng = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO t (id, v) VALUES (1, 1), (2, 1)"))
    return eng


def test_a_reader_is_not_blocked_while_a_writer_holds_the_lock(sqlite: Engine) -> None:
    with sqlite.connect() as writer:
        writer.execute(text("UPDATE t SET v = 5 WHERE id = 1"))  # holds the write lock, open
        assert writer.info[sqlite_locking.STATE] == sqlite_locking.WRITE
        with sqlite.connect() as reader:
            # The committed value, at once (the busy timeout is 200 ms: waiting would fail).
            assert reader.execute(text("SELECT v FROM t WHERE id = 1")).scalar_one() == 1
            assert reader.info[sqlite_locking.STATE] == sqlite_locking.READ
            assert not reader.info.get(sqlite_locking.QUEUED)
            reader.commit()
        writer.commit()
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT v FROM t WHERE id = 1")).scalar_one() == 5


def test_a_writer_that_read_before_another_committed_loses_nothing(sqlite: Engine) -> None:
    """In WAL a deferred reader that writes after another writer committed gets
    SQLITE_BUSY_SNAPSHOT; here the read snapshot ends at the first write, which reads anew."""
    with sqlite.connect() as b:
        assert b.execute(text("SELECT v FROM t WHERE id = 1")).scalar_one() == 1  # snapshot
        with sqlite.begin() as a:
            a.execute(text("UPDATE t SET v = v + 10 WHERE id = 1"))
        b.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))  # no error, no lost update
        assert b.info[sqlite_locking.STATE] == sqlite_locking.WRITE
        assert b.execute(text("SELECT v FROM t WHERE id = 1")).scalar_one() == 12
        b.commit()
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT v FROM t WHERE id = 1")).scalar_one() == 12


def test_a_second_writer_waits_for_the_first_and_a_released_lock_lets_it_in(
    sqlite: Engine,
) -> None:
    with sqlite.connect() as first:
        first.execute(text("UPDATE t SET v = 2 WHERE id = 2"))
        with sqlite.connect() as second, pytest.raises(Exception, match="locked"):
            second.execute(text("UPDATE t SET v = 3 WHERE id = 2"))  # waits 200 ms, then fails
        first.rollback()
    with sqlite.begin() as again:  # the rollback released both locks
        again.execute(text("UPDATE t SET v = 3 WHERE id = 2"))
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT v FROM t WHERE id = 2")).scalar_one() == 3


def test_what_takes_the_write_lock(sqlite: Engine) -> None:
    from sqlalchemy import column, select, table

    t = table("t", column("id"), column("v"))
    cases = [
        (select(t.c.v).where(t.c.id == 1), sqlite_locking.READ),
        (select(t.c.v).where(t.c.id == 1).with_for_update(), sqlite_locking.WRITE),
        (text("SELECT v FROM t"), sqlite_locking.READ),
        (text("WITH x AS (SELECT 1) UPDATE t SET v = v"), sqlite_locking.WRITE),
        (t.update().values(v=1), sqlite_locking.WRITE),
        (text("DELETE FROM t WHERE id = 99"), sqlite_locking.WRITE),
    ]
    for stmt, expected in cases:
        with sqlite.connect() as conn:
            conn.execute(stmt)
            assert conn.info[sqlite_locking.STATE] == expected, stmt
            conn.rollback()
            assert sqlite_locking.STATE not in conn.info
    with sqlite.connect() as conn:
        conn.begin_nested()  # a savepoint cannot outlive the switch: the lock comes first
        assert conn.info[sqlite_locking.STATE] == sqlite_locking.WRITE
        conn.rollback()


def test_a_connection_dropped_without_ending_its_transaction_frees_the_writers(
    sqlite: Engine,
) -> None:
    import gc

    left = sqlite.connect()
    left.execute(text("UPDATE t SET v = 7 WHERE id = 1"))
    del left
    gc.collect()  # back to the pool by the garbage collector: rolled back, the lock freed
    with sqlite.begin() as conn:
        conn.execute(text("UPDATE t SET v = 8 WHERE id = 1"))
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT v FROM t WHERE id = 1")).scalar_one() == 8
