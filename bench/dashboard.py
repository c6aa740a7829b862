"""The supervisor dashboard (督办看板) on a city of N cases, beside its raw queries, in the same run.

    .venv/bin/python bench/dashboard.py                  # SQLite (a temp file), 300,000 cases
    .venv/bin/python bench/dashboard.py --pg             # PostgreSQL (CLOSELOOP_TEST_PG_URL)
    .venv/bin/python bench/dashboard.py --pg --cases 1000000
    CLOSELOOP_BENCH_CODE=/work/main .venv/bin/python bench/dashboard.py   # another checkout's code
    .venv/bin/python bench/dashboard.py --pg --keep dash_300k   # build once into a kept database,
    .venv/bin/python bench/dashboard.py --pg --keep dash_300k   # then reuse it (before and after
                                                                # on the same city); drop it by hand

The city (bench/citygen.py) is one district over the year before NOW. Then, median of 3
(after a warm-up call):
- floor: `GET /healthz` over real HTTP (a uvicorn server on the same database), the HTTP floor;
- page: `GET /dashboard` over real HTTP, as the district's supervisor (cookie session);
- service: closeloop.reports.dashboard.dashboard() — what the page computes, without HTTP;
- baseline: the raw queries of what the page shows, hand-written SQL: this month's cohort
  counts by street, the closure rate of the last six months (one GROUP BY month), the overdue,
  suspended, verifying and listed lists (count and first page), the pending requests, the newest
  letters in the district and the newest reports.
The ratio is page / (baseline + floor).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("CLOSELOOP_BENCH_CODE"):  # time another checkout's code (main: "before")
    sys.path.insert(0, os.environ["CLOSELOOP_BENCH_CODE"])

import httpx  # noqa: E402
from sqlalchemy import Engine, create_engine, make_url, text  # noqa: E402

from bench.citygen import NOW, build  # noqa: E402
from bench.escalation_sweep import database  # noqa: E402
from cli import settle_memory  # noqa: E402
from closeloop.auth.policy import Principal  # noqa: E402
from closeloop.db import make_engine, new_session, upgrade  # noqa: E402
from closeloop.reports import dashboard as dashboards  # noqa: E402
from closeloop.reports import periods  # noqa: E402
from models.enums import Role  # noqa: E402
from models.types import SHANGHAI  # noqa: E402

CPU: dict[str, float] = {}  # this process's CPU time (median) of the last call timed under a name


def timed(fn: Callable[[], Any], repeat: int = 3, name: str = "") -> tuple[float, Any]:
    times, cpu, result = [], [], None
    fn()  # warm
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[name] = statistics.median(cpu)
    return statistics.median(times), result


def _utc(engine: Engine, value: datetime) -> Any:
    value = value.astimezone(UTC)
    if engine.dialect.name == "sqlite":
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def raw_queries(engine: Engine, region_path: str) -> Callable[[], Any]:
    """The dashboard's figures and lists as hand-written SQL (what the page shows, raw)."""
    pg = engine.dialect.name == "postgresql"
    today = NOW.date()
    this = periods.containing("monthly", today)
    first = periods.previous(this, 5)[0].start
    start = datetime.combine(this.start, datetime.min.time(), tzinfo=SHANGHAI)
    six = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    month = (
        "to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        if pg
        else "strftime('%Y-%m', reported_at, '+8 hours')"
    )
    like = "region_path LIKE :path"
    p = {
        "path": region_path + "%",
        "start": _utc(engine, start),
        "six": _utc(engine, six),
        "now": _utc(engine, NOW),
    }
    cohort = text(
        f"""SELECT street_code, count(*),
          sum(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END),
          sum(CASE WHEN state = 'closed' THEN 1 ELSE 0 END),
          sum(CASE WHEN state = 'closed' AND (due_at IS NULL OR closed_at <= due_at)
              THEN 1 ELSE 0 END)
        FROM "case" WHERE {like} AND kind IN ('event', 'hazard')
          AND reported_at >= :start AND reported_at <= :now GROUP BY street_code"""
    )
    trend = text(
        f"""SELECT {month} AS m, count(*) - sum(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END),
          sum(CASE WHEN state = 'closed' THEN 1 ELSE 0 END)
        FROM "case" WHERE {like} AND kind IN ('event', 'hazard')
          AND reported_at >= :six AND reported_at <= :now GROUP BY m"""
    )
    lists = [
        (
            f"""SELECT count(*) FROM "case" WHERE {like}
            AND state IN ('dispatched', 'rectifying') AND due_at < :now""",
            f"""SELECT * FROM "case" WHERE {like} AND state IN ('dispatched', 'rectifying')
            AND due_at < :now ORDER BY due_at, id LIMIT 10""",
        ),
        (
            f"""SELECT count(*) FROM "case" WHERE {like} AND state = 'suspended'""",
            f"""SELECT * FROM "case" WHERE {like} AND state = 'suspended'
            ORDER BY reported_at DESC, id DESC LIMIT 20""",
        ),
        (
            f"""SELECT count(*) FROM "case" WHERE {like} AND state = 'verifying'""",
            f"""SELECT * FROM "case" WHERE {like} AND state = 'verifying'
            ORDER BY reported_at DESC, id DESC LIMIT 50""",
        ),
        (
            f"""SELECT count(*) FROM "case" WHERE {like} AND listed
            AND state IN ('reported', 'dispatched', 'rectifying', 'suspended', 'verifying')""",
            f"""SELECT * FROM "case" WHERE {like} AND listed
            AND state IN ('reported', 'dispatched', 'rectifying', 'suspended', 'verifying')
            ORDER BY due_at, id LIMIT 50""",
        ),
    ]
    others = [
        f"""SELECT r.* FROM case_request r JOIN "case" c ON c.id = r.case_id
        WHERE c.{like} AND r.status = 'pending' ORDER BY r.requested_at, r.id LIMIT 50""",
        f"""SELECT l.* FROM letter l WHERE EXISTS (SELECT 1 FROM letter_item i
          JOIN "case" c ON c.id = i.case_id WHERE i.letter_id = l.id AND c.{like})
        ORDER BY l.issued_at DESC, l.id DESC LIMIT 20""",
        """SELECT * FROM report ORDER BY id DESC LIMIT 20""",
    ]

    def run() -> int:
        n = 0
        with engine.connect() as conn:
            n += len(conn.execute(cohort, p).all())
            n += len(conn.execute(trend, p).all())
            for count, page in lists:
                n += int(conn.execute(text(count), p).scalar() or 0)
                n += len(conn.execute(text(page), p).all())
            for sql in others:
                n += len(conn.execute(text(sql), p).all())
        return n

    return run


def supervisor(engine: Engine) -> Principal:
    """The district's supervisor of a city built before (citygen's sup0 of D0)."""
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM \"user\" WHERE username = 'sup0'")).scalar()
    return Principal(
        id=uid,
        username="sup0",
        display_name="督办员",
        role=Role.supervisor,
        region_code="D0",
        region_path="/D0/",
    )


def service(engine: Engine, sup: Principal) -> Callable[[], Any]:

    def run() -> Any:
        with new_session(engine) as s:
            return dashboards.dashboard(s, actor=sup, now=NOW)

    return run


# As `closeloop serve` runs the app (start-up's objects frozen: cli.settle_memory), its clock
# fixed at NOW.
LAUNCH = """
import uvicorn
from datetime import datetime
from api.app import create_app
from cli import settle_memory
from closeloop.clock import FixedClock
app = create_app(clock=FixedClock(datetime.fromisoformat({now!r})))
settle_memory()
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The app under uvicorn on the benchmark database, its clock fixed at NOW."""

    def __init__(self, url: str, data: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "CLOSELOOP_DATABASE_URL": url,
            "CLOSELOOP_DATA_DIR": str(data),
            "CLOSELOOP_SCHEDULER": "off",
        }
        code = os.environ.get("CLOSELOOP_BENCH_CODE") or str(ROOT)
        env["PYTHONPATH"] = code
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH.format(now=NOW.isoformat(), port=self.port)],
            cwd=code,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not start: {self.proc.stderr.read()[-2000:]!r}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def http_timings(server: Server, username: str, password: str) -> tuple[float, float, int]:
    with httpx.Client(base_url=server.base, timeout=120) as client:
        r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
        r.raise_for_status()
        client.cookies.set("closeloop_session", r.json()["access_token"])
        floor, _ = timed(lambda: client.get("/healthz"))
        page, resp = timed(lambda: client.get("/dashboard"))
        return floor, page, resp.status_code


def set_password(engine: Engine, username: str, password: str) -> None:
    from closeloop.auth.security import hash_password

    with engine.begin() as conn:
        conn.execute(
            text('UPDATE "user" SET password_hash = :h WHERE username = :u'),
            {"h": hash_password(password), "u": username},
        )


def kept(pg: bool, name: str) -> tuple[str, Callable[[], None], bool]:
    """(url, nothing to drop, whether the city is there already) of a kept database."""
    if not pg:
        path = Path(name).resolve()
        return f"sqlite:///{path}", lambda: None, path.exists()
    server = make_url(os.environ["CLOSELOOP_TEST_PG_URL"])
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        there = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        built = there.first() is not None
        if not built:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False), lambda: None, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--cases", type=int, default=300_000)
    parser.add_argument("--no-http", action="store_true", help="the service call only")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="build the city into this database (PostgreSQL) or file (SQLite) and keep it; "
        "if it exists already, reuse it as it is (--cases is then only printed)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(data))
        url, drop, built = (
            kept(args.pg, args.keep)
            if args.keep
            else (
                *database(args.pg, Path(tmp), "dashboard"),
                False,
            )
        )
        try:
            t0 = time.perf_counter()
            if not built:
                upgrade(url)
            engine = make_engine(url)
            if not built:
                build(engine, cases=args.cases, districts=1, years=1)
            set_password(engine, "sup0", "Bench-pass-2025")
            code = os.environ.get("CLOSELOOP_BENCH_CODE") or "this checkout"
            print(
                f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {args.cases:,} cases "
                f"(built in {time.perf_counter() - t0:.1f} s); code: {code}; now {NOW.isoformat()}"
            )
            settle_memory()  # as `closeloop serve` does once started: the timings below alike
            base, rows = timed(raw_queries(engine, "/D0/"))
            spent, d = timed(service(engine, supervisor(engine)), name="service")
            print(f"baseline (raw queries)   {base * 1000:8.0f} ms  ({rows} rows/counts)")
            print(
                f"service dashboard()      {spent * 1000:8.0f} ms  ratio {spent / base:5.1f}x  "
                f"(client CPU {CPU['service'] * 1000:.0f} ms)  "
                f"(overdue {d.overdue.total}, month closure rate "
                f"{d.figures.month.total.closure_rate if d.figures else None})"
            )
            if not args.no_http:
                server = Server(url, data)
                try:
                    floor, page, status = http_timings(server, "sup0", "Bench-pass-2025")
                finally:
                    server.stop()
                print(f"HTTP floor /healthz      {floor * 1000:8.0f} ms")
                print(
                    f"page GET /dashboard      {page * 1000:8.0f} ms  (HTTP {status})  "
                    f"ratio to baseline + floor {page / (base + floor):5.1f}x"
                )
            engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
