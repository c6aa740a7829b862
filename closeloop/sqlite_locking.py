"""SQLite transactions: reads never wait for a writer; a writer takes the lock at its first write.

SQLite (WAL) has one writer at a time and any number of readers, each reading a snapshot. How a
transaction of ours begins:

- it begins with its first statement, not before: a read begins a deferred transaction (`BEGIN`,
  a snapshot; it takes no lock and never waits for a writer), a write begins `BEGIN IMMEDIATE`
  (the write lock, waiting up to the busy timeout for the writer before it);
- a transaction that has read and then writes (a request authenticates and loads the case, then
  updates it) ends its read snapshot there — `COMMIT`, which writes nothing since nothing was
  written — and begins `BEGIN IMMEDIATE` before that first write. It never upgrades the
  snapshot in place: in WAL a deferred reader that writes after another writer committed fails
  at once with SQLITE_BUSY_SNAPSHOT, whatever the busy timeout.

What counts as a write: INSERT, UPDATE, DELETE, DDL, `SAVEPOINT` (a savepoint cannot outlive the
switch from the snapshot to the lock, so the lock is taken before it), and a `SELECT … FOR UPDATE`
(SQLite has no row locks: a locking read is a write's first step — the lock is taken before it, so
it reads the newest committed row and nobody writes until we commit, as on PostgreSQL). Only
SELECT, PRAGMA, EXPLAIN and VALUES are reads.

Why this is exact. From its first write on, a transaction holds the one write lock and reads the
newest committed data: writers are serialised as they were when every transaction began
IMMEDIATE. What it read before its first write (the session and user of the request, the case
it acts on) may have been changed by a writer that committed in between — exactly what PostgreSQL
allows at READ COMMITTED, where every statement sees the newest committed data and another
transaction may commit between our read and our write. The code is already written for that,
on both databases alike: an action's UPDATE of a case is `… WHERE id = :id AND version = :v` (a
stale read is a 409, the transaction rolls back), keys and numbers are unique constraints and
atomic upserts, and what must read the newest row reads it `FOR UPDATE` (here: under the write
lock). So SQLite keeps at least PostgreSQL's guarantees, which the tests check on both.

A read-only transaction (a GET, a page) never takes the write lock, so it never waits for a
writer, and a writer never waits for it.

Writers of one process queue on a lock of the engine's (a threading.Lock) before BEGIN IMMEDIATE
and leave it when their COMMIT or ROLLBACK is done, so the next one starts the moment the
database lock is free; SQLite's own busy handler polls with sleeps growing to 100 ms, which left
writers idle behind a free lock and made seconds-long tails. The wait for that lock is bounded by
the busy timeout; past it the writer goes on to BEGIN IMMEDIATE and SQLite's busy timeout, as
before (so at worst a writer waits twice the busy timeout before "database is locked"). Other
processes (a CLI command beside `serve`) still meet at SQLite's lock.
"""

import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.sql.elements import TextClause

STATE = "closeloop.sqlite_transaction"  # in Connection.info: PENDING, READ or WRITE
QUEUED = "closeloop.sqlite_writer"  # in Connection.info: this connection holds the writers' lock
PENDING, READ, WRITE = "pending", "read", "write"
READS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "VALUES"})


def install(engine: Engine, *, busy_seconds: float) -> None:
    """Begin each transaction of `engine` (a SQLite engine whose connections have pysqlite's
    own transaction handling turned off) as the module's note says."""
    writers = threading.Lock()

    def before_execute(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        state = conn.info.get(STATE)
        if state is None or state == WRITE:
            return
        dbapi = conn.connection.dbapi_connection
        if writes(statement, context):
            if state == READ:
                dbapi.execute("COMMIT")  # the end of a snapshot that wrote nothing
            conn.info[STATE] = PENDING  # no transaction open until BEGIN IMMEDIATE succeeds
            if not conn.info.get(QUEUED) and writers.acquire(timeout=busy_seconds):
                conn.info[QUEUED] = True
            dbapi.execute("BEGIN IMMEDIATE")
            conn.info[STATE] = WRITE
        elif state == PENDING:
            conn.info[STATE] = READ
            dbapi.execute("BEGIN")

    def end(conn: Any, sql: str) -> None:
        """COMMIT or ROLLBACK here (SQLAlchemy's own call then finds no transaction open), so
        the next writer is let in only once the database lock is free."""
        dbapi = conn.connection.dbapi_connection if not conn.invalidated else None
        try:
            if dbapi is not None and dbapi.in_transaction:
                dbapi.execute(sql)
        except sqlite3.Error as e:
            if sql == "COMMIT":
                raise exc.DBAPIError.instance(sql, None, e, sqlite3.Error) from e
        finally:
            conn.info.pop(STATE, None)
            if conn.info.pop(QUEUED, False):
                writers.release()

    def released(dbapi: Any, record: Any) -> None:
        """A connection back in the pool (or dropped) without its transaction ended through the
        Connection (a session left to the garbage collector): never keep the writers' lock."""
        try:
            if dbapi is not None and dbapi.in_transaction:
                dbapi.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        finally:
            record.info.pop(STATE, None)
            if record.info.pop(QUEUED, False):
                writers.release()

    def on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        released(dbapi_connection, connection_record)

    def on_invalidate(dbapi_connection: Any, connection_record: Any, exception: Any) -> None:
        released(dbapi_connection, connection_record)

    event.listen(engine, "reset", on_reset)
    event.listen(engine, "invalidate", on_invalidate)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", lambda conn: end(conn, "COMMIT"))
    event.listen(engine, "rollback", lambda conn: end(conn, "ROLLBACK"))


def writes(statement: str, context: Any) -> bool:
    """Whether a statement needs the write lock."""
    head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SELECT"
    if head not in READS and head != "WITH":
        return True
    compiled = getattr(context, "compiled", None)
    if compiled is None or isinstance(compiled.statement, TextClause):
        return head == "WITH"  # a CTE written by hand may end in any statement: assume a write
    if context.isinsert or context.isupdate or context.isdelete:
        return True
    return getattr(compiled.statement, "_for_update_arg", None) is not None


def _on_begin(conn: Any) -> None:
    conn.info[STATE] = PENDING  # BEGIN is sent with the first statement (_before_execute)
