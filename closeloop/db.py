"""Engines, sessions and schema upgrades, for SQLite (default) and PostgreSQL."""

import contextvars
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from closeloop import sqlite_locking
from closeloop.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "models" / "migrations"
DEADLOCK_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    kwargs = {**pool_options(url, kwargs), **kwargs}
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def pool_options(url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The pool settings (CLOSELOOP_POOL_TIMEOUT, _POOL_SIZE, _MAX_OVERFLOW) for an engine with
    a queue of connections: a request waits at most pool_timeout seconds for one, then gets
    sqlalchemy.exc.TimeoutError (answered 503). An in-memory SQLite database or a caller's
    own pool class takes none."""
    if "poolclass" in kwargs or make_url(url).database in (None, "", ":memory:"):
        return {}
    settings = get_settings()
    options: dict[str, Any] = {"pool_timeout": settings.pool_timeout}
    if settings.pool_size is not None:
        options["pool_size"] = settings.pool_size
    if settings.max_overflow is not None:
        options["max_overflow"] = settings.max_overflow
    return options


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    busy_ms = get_settings().sqlite_busy_timeout_ms
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        if make_url(url).database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Reads never wait for a writer; a transaction takes the write lock (BEGIN IMMEDIATE) at
    # its first write, and why version checks stay exact: closeloop/sqlite_locking.py.
    sqlite_locking.install(engine, busy_seconds=busy_ms / 1000)

    return engine


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def connection(session: Session) -> Connection:
    """The session's connection for a Core statement, after what the session would flush before
    a query of its own (its autoflush): the statement sees the session's pending changes either
    way. A SELECT of plain columns costs a fraction of the ORM's execution path this way (no
    compile state, no ORM result); entities to change are still loaded through the session."""
    if session.autoflush:
        session.flush()
    return session.connection()


def read_beside(
    session: Session, read: Callable[[Session], T], *, beside: bool = True
) -> Callable[[], T]:
    """Start `read` — a read-only part of one answer — in a session of its own, in a thread
    beside the caller, and return what gives its result (or raises its exception) when asked.
    A page made of independent reads (the supervisor's dashboard: this month's figures, the
    escalation dry run, the lists) then costs the longest of them rather than their sum: one
    part's statements run on the server while another's Python runs here.

    A session of its own reads what is committed. So the part runs here instead, in the
    caller's session and at once, when the caller's transaction has written anything (pending,
    flushed or by a Core statement: its own reads must see it); when the engine's pool is not a
    queue of connections (an in-memory database shares one connection) or has no connection to
    spare now — a request must not wait on the pool for a second connection while holding one
    (two such requests could each hold what the other waits for); and when `beside` is False (a
    caller that wants one session's reads throughout)."""
    engine = session.get_bind()
    if not beside or not _spare(engine) or _wrote(session):
        value = read(session)
        return lambda: value
    assert isinstance(engine, Engine)
    runner = ThreadPoolExecutor(max_workers=1)
    future = runner.submit(contextvars.copy_context().run, _in_own_session, engine, read)
    runner.shutdown(wait=False)  # its thread ends when the part is done
    return future.result


def _in_own_session(engine: Engine, read: Callable[[Session], T]) -> T:
    with new_session(engine) as own:
        return read(own)


def _wrote(session: Session) -> bool:
    """Whether the session's open transaction holds a write no other session sees yet."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    conn = session.connection()
    if conn.dialect.name == "sqlite":  # closeloop/sqlite_locking.py marks a writing transaction
        return bool(conn.info.get(sqlite_locking.STATE) == sqlite_locking.WRITE)
    if conn.dialect.name == "postgresql":  # a transaction that wrote has an id assigned
        return bool(conn.exec_driver_sql("SELECT txid_current_if_assigned() IS NOT NULL").scalar())
    return True  # another database: keep to the one session


def _spare(bind: Any) -> bool:
    """Whether `bind` is an engine whose queue of connections has one free or one it may open."""
    if not isinstance(bind, Engine) or not isinstance(bind.pool, QueuePool):
        return False
    pool = bind.pool
    overflow = pool._max_overflow  # the pool's max_overflow (QueuePool keeps it private)
    return overflow < 0 or pool.checkedout() < pool.size() + overflow


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """The unit of work of a job or command: commit on success, roll back on any error."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def in_transaction(engine: Engine, work: Callable[[Session], T], *, attempts: int = 3) -> T:
    """`work(session)` in a transaction of its own, committed; run again from the start (a
    fresh transaction) when the database chose it as a deadlock victim, up to `attempts` times."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(engine) as session:
                return work(session)
        except DBAPIError as exc:
            if not is_deadlock(exc) or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def refresh_statistics(session: Session, written: Mapping[str, int]) -> list[str]:
    """After a bulk write (an import), inside its transaction: on PostgreSQL, ANALYZE each
    table whose `written` rows reach the server's own autovacuum rule (autovacuum_analyze_
    threshold + autovacuum_analyze_scale_factor × the rows it last counted); returns the tables
    analyzed. Elsewhere nothing (SQLite plans without statistics unless asked to keep them).

    Why: the planner reads the row counts of the last ANALYZE. Autovacuum analyzes only after
    the import commits, and an ANALYZE it ran during the import (an earlier change set it off)
    counts none of the import's uncommitted rows: a table of 31,000 imported cases stood at
    reltuples 0, and the year's metrics right after the import took 530 s instead of 1 s
    (nested loops planned for empty tables). ANALYZE in the import's transaction counts its own
    rows, and holds its lock to the commit, so no other ANALYZE can land between."""
    dialect = session.get_bind().dialect
    wanted = {name: n for name, n in written.items() if n > 0}
    if dialect.name != "postgresql" or not wanted:
        return []
    quote = dialect.identifier_preparer.quote
    counted = session.execute(
        text(
            "SELECT c.relname, greatest(c.reltuples, 0),"
            " current_setting('autovacuum_analyze_threshold')::float8,"
            " current_setting('autovacuum_analyze_scale_factor')::float8"
            " FROM pg_class c WHERE c.oid = ANY(CAST(:oids AS regclass[]))"
        ),
        {"oids": [quote(name) for name in wanted]},
    ).all()
    due = sorted(name for name, rows, base, scale in counted if wanted[name] >= base + scale * rows)
    if due:
        session.execute(text("ANALYZE " + ", ".join(quote(name) for name in due)))
    return due


def is_deadlock(exc: BaseException) -> bool:
    """The transaction lost a lock race (deadlock, serialization failure): running it again
    succeeds."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in DEADLOCK_SQLSTATES


def database_unavailable(exc: BaseException) -> bool:
    """The database went away or cannot be reached (connection lost or refused, locked past the
    busy timeout), as opposed to a fault of the data; a deadlock is neither."""
    if is_deadlock(exc):
        return False
    if isinstance(exc, PoolTimeout):  # every connection busy past CLOSELOOP_POOL_TIMEOUT
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Create or upgrade the schema to the newest migration. Safe to run any number of times."""
    from alembic import command

    # "heads": branches from parallel work apply together until a merge revision joins them.
    with migration_lock(url):
        command.upgrade(alembic_config(url), "heads")


# pg_advisory_lock's key for schema upgrades ("closeloo" in ASCII): fixed, so every process
# that upgrades one database takes the same lock.
MIGRATION_LOCK_KEY = 0x636C6F73656C6F6F


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """One upgrade at a time per database: several `serve` processes starting together on an
    empty database migrate it once (the others wait, then find it up to date). PostgreSQL: a
    session advisory lock on a fixed key (released if the process dies); SQLite: an flock on
    a file beside the database (`<db>.upgrade-lock`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        from sqlalchemy.pool import NullPool

        engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        finally:
            engine.dispose()
        return
    lock_path = Path(f"{parsed.database}.upgrade-lock")
    if (
        parsed.get_backend_name() != "sqlite"
        or parsed.database in (None, "", ":memory:")
        or not lock_path.parent.is_dir()  # the upgrade itself says the folder is missing
    ):
        yield
        return
    import fcntl

    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


CHUNK = 1000  # ids per IN list


def id_chunks(session: Session, column: Any, ids: list[int]) -> list[Any]:
    """`column IN ids` as a list of conditions to run one by one: on PostgreSQL one
    `column IN (SELECT unnest(:ids))` with the ids as a single array parameter (thousands of ids
    cost no more to send than one; an IN list costs a bind parameter each to render and parse),
    else IN lists of CHUNK ids. The array goes as one text value cast to integer[]: as a list,
    the driver converts and quote-checks every element (~0.4 µs each, thousands per preview).

    Not `column = ANY(CAST(:ids AS integer[]))`: the server cannot fold that cast into a
    constant, so it cannot hash the array, and where it plans a scan of the table (a young or
    small table, the claims of a first run) each row searched the whole array — 3,213 ids
    against 11,073 claims took 3.6 s. As a set of rows it is a semi-join (hashed, or an index
    probe per id) at any size (tests/escalation/test_escalation_arrays.py)."""
    if not ids:
        return []
    if session.get_bind().dialect.name == "postgresql":
        text_array = "{" + ",".join(str(int(i)) for i in ids) + "}"
        array = cast(bindparam(None, text_array, type_=String), ARRAY(Integer))
        return [column.in_(select(func.unnest(array)))]
    return [column.in_(ids[start : start + CHUNK]) for start in range(0, len(ids), CHUNK)]
