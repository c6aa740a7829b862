"""Engines, sessions and schema upgrades, for SQLite (default) and PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from closeloop.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "models" / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # One writer at a time, decided when the transaction starts: a second writer waits for
        # the first to commit and then reads the committed row, so version checks are exact.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


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
    command.upgrade(alembic_config(url), "heads")
