"""Shared test harness: the database engine is parametrized over SQLite and PostgreSQL.

PostgreSQL comes from CLOSELOOP_TEST_PG_URL (a server URL whose user may create databases);
`.ci/run` starts a throwaway cluster and sets it. Without it the PostgreSQL half of every database
test is skipped on a developer laptop, saying so, and fails when CI=true or
CLOSELOOP_REQUIRE_PG=1: CI must exercise both databases.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Table, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import models  # noqa: F401
from closeloop.clock import FixedClock
from closeloop.config import get_settings
from closeloop.db import make_engine, new_session, pool_options, upgrade

# Chosen passwords at argon2id's lightest cost in test runs (and in the servers they start, which
# inherit the environment): a login then verifies in well under a millisecond instead of ~0.1 s,
# thousands of times a run. The hashing itself is the same code at the configured cost.
os.environ.setdefault("CLOSELOOP_ENVIRONMENT", "test")
os.environ.setdefault("CLOSELOOP_ARGON2_TIME_COST", "1")
os.environ.setdefault("CLOSELOOP_ARGON2_MEMORY_KIB", "1024")

PG_URL = os.environ.get("CLOSELOOP_TEST_PG_URL", "")
REQUIRE_PG = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("CLOSELOOP_REQUIRE_PG") == "1"
)
DEFAULT_NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, Tuesday


_PREFECT_HOME: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Prefect writes under PREFECT_HOME (~/.prefect by default) as soon as it is imported, and
    the jobs' tests everywhere run the flows: point it at a temporary folder for the whole
    session, before any test module imports Prefect, and keep it quiet. Runs here are in-process
    and untracked (workflows/flows.py): no Prefect API from a developer's profile or environment
    may leak in; the Prefect server test sets its own."""
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="closeloop-prefect-")
    _PREFECT_HOME.append(os.environ["PREFECT_HOME"])  # removed at the end (pytest_sessionfinish)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.pop("PREFECT_API_URL", None)


def pytest_sessionfinish() -> None:
    """This process's PostgreSQL databases dropped and its Prefect home removed (each xdist
    worker and the controller run this for what they made)."""
    _drop_pg_databases()
    if _PREFECT_HOME:
        shutil.rmtree(_PREFECT_HOME[0], ignore_errors=True)


@pytest.fixture(autouse=True)
def _settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CLOSELOOP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# The PostgreSQL databases this test process created, dropped when it ends (pytest_sessionfinish):
# on a developer's own server every run used to leave two to ten of them behind.
_CREATED: list[str] = []


def _create_pg_database() -> str:
    server = make_url(PG_URL)
    name = f"closeloop_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _CREATED.append(name)
    return server.set(database=name).render_as_string(hide_password=False)


def _drop_pg_databases() -> None:
    """Drop what _create_pg_database made in this process, closing this process's connections
    first; WITH (FORCE) ends any a stopped server or worker left open."""
    for made_with in list(_ENGINES):
        if made_with[0].startswith("postgresql"):
            _ENGINES.pop(made_with).dispose()
    if not _CREATED:
        return
    admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            while _CREATED:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{_CREATED.pop()}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("CLOSELOOP_TEST_PG_URL is not set but CI requires PostgreSQL tests to run")
        pytest.skip("PostgreSQL not configured (set CLOSELOOP_TEST_PG_URL; .ci/run does)")
    url = _create_pg_database()
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param.replace('postgresql', 'pg')}_url"))


# One engine per database and test process; each test gets its own view of it
# (`Engine.execution_options()`: the same dialect and compiled-statement cache, its own event
# listeners, the pool shared). With a new engine per test every statement was compiled again in
# every test, as no long-running process ever does: a tenth of a report test's time.
_ENGINES: dict[tuple[Any, ...], Engine] = {}


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    # A test that sets what make_engine reads (SQLite's busy timeout, the pool's settings) gets
    # an engine made with it.
    pool = tuple(sorted(pool_options(db_url, {}).items()))
    made_with = (db_url, get_settings().sqlite_busy_timeout_ms, pool)
    if made_with not in _ENGINES:
        _ENGINES[made_with] = make_engine(db_url)
    eng = _ENGINES[made_with].execution_options()
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:
            _end_abandoned(conn)
    wanted = "org" if _wants_district(request) else "empty"
    if not _left_as(eng, wanted):
        _wipe(eng)
        _LEFT[_key(eng)] = ("empty", _fingerprint(eng))
    yield eng
    # PostgreSQL's connections stay open for the next test: a new server process per test
    # started with cold caches (the catalog, the foreign keys' checks), 20-30 ms a test.
    if eng.dialect.name != "postgresql":
        eng.dispose()  # closes the shared pool's connections: the next test starts with none


# What the last set-up left in each PostgreSQL database — empty, or the test district — and its
# fingerprint: every table's row count and newest row version (xmin: any insert, update or
# delete committed since changes one or the other), every id sequence's position and every
# table's planner statistics. A test that committed nothing leaves the fingerprint as it was,
# and the next test that wants the same start skips the wipe (TRUNCATE of 37 tables, 60-80 ms)
# and the district's rows put back: most rule tests work in a session rolled back at the end.
_LEFT: dict[str, tuple[str, Any]] = {}


def _fingerprint(eng: Engine) -> Any:
    """(the rows and the planner's statistics, the id sequences' positions); None on SQLite."""
    if eng.dialect.name != "postgresql":
        return None  # no row versions to tell an update by; its wipe (DELETE) is cheap
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    rows = ", ".join(
        f"(SELECT count(*) || ':' || coalesce(max(xmin::text::bigint)::text, '') FROM \"{t}\")"
        for t in tables
    )
    stats = (
        "(SELECT string_agg(relname || '=' || relpages || '/' || reltuples, ',' ORDER BY relname)"
        " FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r')"
    )
    with eng.connect() as conn:
        data = tuple(conn.execute(text(f"SELECT {rows}, {stats}")).one())
        sequences = conn.execute(
            text(
                "SELECT sequencename, last_value, start_value FROM pg_sequences"
                " WHERE schemaname = current_schema() ORDER BY sequencename"
            )
        ).all()
    return data, tuple(tuple(r) for r in sequences)


def _wants_district(request: pytest.FixtureRequest) -> bool:
    """The test uses this harness's `org` (directly or through another fixture); a test module
    may define an `org` of its own, which builds the district in the test's session."""
    defs = request.node._fixtureinfo.name2fixturedefs.get("org", ())  # type: ignore[attr-defined]
    return bool(defs) and (defs[-1].func.__module__, defs[-1].func.__name__) == (__name__, "org")


def _key(eng: Engine) -> str:
    return eng.url.render_as_string(hide_password=False)


def _end_abandoned(conn: Connection) -> None:
    """A session an earlier test left open (a request abandoned at a client's timeout, kept
    alive by the failure's traceback) would hold its locks until the process ends, and TRUNCATE
    or the next test would wait for it forever: that test has failed already, so end its
    transaction instead of hanging every test after it."""
    conn.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%'"
        )
    )


def _left_as(eng: Engine, wanted: str) -> bool:
    """True when the database is as the last set-up left it and that is what the test wants.
    A rolled-back insert moves an id sequence and nothing else: the sequences are put back."""
    if eng.dialect.name != "postgresql":
        return False
    left = _LEFT.get(_key(eng))
    if left is None or left[0] != wanted:
        return False
    (data, sequences), (data_now, sequences_now) = left[1], _fingerprint(eng)
    if data != data_now:
        return False
    if sequences != sequences_now:
        with eng.begin() as conn:
            for name, last, start in sequences:
                conn.execute(
                    text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                    {"name": f'"{name}"', "value": start if last is None else last,
                     "called": last is not None},
                )  # fmt: skip
    return True


def _wipe(eng: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    s = new_session(engine)
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


# The test district as build_org leaves it, per database and test process: every row it wrote
# and what it returned. build_org walks the org services (~125 statements, 50-120 ms); the rows
# are put back in one INSERT per table (~10 ms). The first test of each database in a process
# builds it through the services.
_ORG: dict[str, tuple[list[tuple[Table, list[dict[str, Any]]]], Any]] = {}


@pytest.fixture
def org(engine: Engine):  # type: ignore[no-untyped-def]
    from tests.factories import Org, build_org

    key = _key(engine)
    if key in _ORG:
        rows, users = _ORG[key]
        if _LEFT[key][0] != "org":  # the engine fixture found the district in place otherwise
            _put_back(engine, rows)
            _LEFT[key] = ("org", _fingerprint(engine))
        return Org(users=dict(users))
    with new_session(engine) as s:
        result = build_org(s)
        s.commit()
    _ORG[key] = (_rows_of(engine), dict(result.users))
    _LEFT[key] = ("org", _fingerprint(engine))
    return result


def _rows_of(eng: Engine) -> list[tuple[Table, list[dict[str, Any]]]]:
    with eng.connect() as conn:
        found = [
            (t, [dict(r._mapping) for r in conn.execute(t.select())])
            for t in SQLModel.metadata.sorted_tables
        ]
    return [(t, rows) for t, rows in found if rows]


def _put_back(eng: Engine, rows: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    with eng.begin() as conn:
        for t, table_rows in rows:
            conn.execute(t.insert(), table_rows)
        if eng.dialect.name == "postgresql":  # the ids go on after the rows put back, as built
            for t, _ in rows:
                if "id" in t.c and t.c.id.autoincrement in (True, "auto"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'),"
                            f' (SELECT max(id) FROM "{t.name}"))'
                        )
                    )


# One app per test process, with each test's own engine, clock and request metrics (app.state;
# the middleware is built again on the test's first request). FastAPI builds a route's
# dependencies the first time a request is matched against its router, per app: with an app of
# its own, every test's first request took 0.1-0.5 s. A test that changes the app (adds a route,
# overrides a dependency, adds middleware) keeps that app to itself: the next test gets a new one.
_APP: list[Any] = []


@pytest.fixture
def client(engine: Engine, clock: FixedClock):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.observability import RequestMetrics

    if not _APP:
        _APP.append(create_app(engine=engine, clock=clock))
    app = _APP[0]
    app.state.engine, app.state.clock = engine, clock
    app.state.request_metrics = RequestMetrics()
    app.middleware_stack = None
    shape = (len(app.router.routes), len(app.user_middleware))
    with TestClient(app) as c:
        yield c
    if (len(app.router.routes), len(app.user_middleware)) != shape or app.dependency_overrides:
        _APP.clear()


@pytest.fixture
def auth(client, org):  # type: ignore[no-untyped-def]
    """auth("disp") → headers with a fresh bearer token for that test user."""
    from tests.factories import PASSWORD

    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            cache[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return cache[username]

    return headers


@contextmanager
def one_connection_engine(
    db_url: str, monkeypatch: pytest.MonkeyPatch, *, timeout: float
) -> Iterator[Engine]:
    """An engine of the test's database whose pool holds one connection and no overflow, and
    waits `timeout` seconds for it (the pool settings as an operator sets them); disposed after."""
    monkeypatch.setenv("CLOSELOOP_POOL_SIZE", "1")
    monkeypatch.setenv("CLOSELOOP_MAX_OVERFLOW", "0")
    monkeypatch.setenv("CLOSELOOP_POOL_TIMEOUT", str(timeout))
    get_settings.cache_clear()
    small = make_engine(db_url)
    try:
        yield small
    finally:
        small.dispose()
