"""Escalation sweep: its cost follows the number of late cases, not the number of open ones.

    .venv/bin/python bench/escalation_sweep.py            # SQLite (a temp file)
    .venv/bin/python bench/escalation_sweep.py --pg       # PostgreSQL: a throwaway database on
                                                          # the server of CLOSELOOP_TEST_PG_URL
    .venv/bin/python bench/escalation_sweep.py --pg --big # also 1,000,000 open + 5,000 late

For each data set — 50,000 open cases that are not late plus 500 late ones, the same plus 5,000
late ones, 5,000 open plus 500 late, 100,000 open plus 5,000 late (and 1,000,000 open plus 5,000
late with --big) — a fresh database is filled (COPY on PostgreSQL, executemany on SQLite), then in
the same run it measures (median of 3 for the read-only ones, 1 at a million):
- baseline count: `SELECT count(*)` over every open case;
- baseline naive: load every open case as an ORM object and apply the same pure rule (due_levels);
- sweep: what a run reads before it writes — the one indexed candidate query, the lookup of levels
  already fired, and the pure rule;
- first run: the escalation flow (`run_job("escalation")`, one transaction per unit) for real
  (claims, letters, notices, listing), committed;
- rerun: the flow again at the same moment: everything has fired, nothing is written.
At the end, per data set: the first run beside the naive load (the goal: within 2x with 5,000
late of 50,000 open), and how the sweep and the first run grow with the open cases at a fixed
late count (the goal: with the late cases, not the open ones).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from closeloop.calendar.days import SHANGHAI, WorkCalendar  # noqa: E402
from closeloop.calendar.service import load_calendar  # noqa: E402
from closeloop.config import get_settings  # noqa: E402
from closeloop.db import make_engine, new_session, transaction, upgrade  # noqa: E402
from closeloop.escalation.policy import load_policy  # noqa: E402
from closeloop.escalation.sweep import SweepContext, facts_of, load_classes, sweep  # noqa: E402
from models.case import Case  # noqa: E402
from models.enums import CaseState  # noqa: E402
from models.org import Unit  # noqa: E402
from workflows.flows import run_job  # noqa: E402

NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)  # a Thursday
UNITS = [f"U{n:02d}" for n in range(10)]
SETS = [(50_000, 500), (50_000, 5_000), (5_000, 500), (100_000, 5_000)]
BIG = (1_000_000, 5_000)
GRIDS = [("G1", "/D1/S1/C1/G1/"), ("G2", "/D1/S1/C1/G2/"), ("G3", "/D1/S2/C2/G3/")]


def working_days_back(cal: WorkCalendar, today: date, n: int) -> date:
    day, counted = today, 0
    while counted < n:
        if cal.is_workday(day):
            counted += 1
        day -= timedelta(days=1)
    while not cal.is_workday(day):
        day -= timedelta(days=1)
    return day


def fill(engine: Engine, open_not_late: int, late: int) -> None:
    from tests.factories import build_org

    with transaction(engine) as s:
        build_org(s)
        for code in UNITS:
            s.add(Unit(code=code, name=f"单位{code}", short_name=code))
    cal = WorkCalendar()
    today = NOW.astimezone(SHANGHAI).date()
    table = Case.__table__  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = []
    for i in range(open_not_late + late):
        grid, path = GRIDS[i % 3]
        unit = UNITS[i % len(UNITS)]
        state, due, sign_due, verify_due = "rectifying", None, None, None
        dispatched = NOW - timedelta(days=30)
        if i < open_not_late:
            due = cal.end_of_day(today + timedelta(days=10 + i % 50))  # beyond due_soon
            if i % 10 == 1:
                state, sign_due = "dispatched", NOW + timedelta(hours=1 + i % 5)
            elif i % 10 == 2:
                state, verify_due = "verifying", NOW + timedelta(days=2)
        else:
            # Late: 1 to 14 working days overdue, so every rung of the ladder is reached.
            due = cal.end_of_day(working_days_back(cal, today, 1 + i % 14))
        rows.append(
            {
                "number": f"BN{i:09d}",
                "kind": "event",
                "state": state,
                "title": f"基准案件 {i}",
                "description": "",
                "category_code": "0101",
                "grid_code": grid,
                "street_code": path.split("/")[2],
                "community_code": path.split("/")[3],
                "region_path": path,
                "address": "",
                "unit_code": unit,
                "grade": None,
                "urgent": False,
                "reported_at": dispatched,
                "dispatched_at": dispatched,
                "sign_due_at": sign_due or dispatched + timedelta(hours=2),
                "signed_at": None if state == "dispatched" else dispatched,
                "due_at": due,
                "deadline_version": 1,
                "due_estimated": False,
                "verify_due_at": verify_due,
                "listed": False,
                "rework_count": 0,
                "version": 1,
                "updated_at": dispatched,
            }
        )
        if len(rows) == 5000:
            bulk_insert(engine, table, rows)
            rows = []
    if rows:
        bulk_insert(engine, table, rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text('ANALYZE "case"'))


def bulk_insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (psycopg's cursor.copy), a Core executemany on SQLite."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:  # type: ignore[union-attr]
            names = ", ".join(columns)
            with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(engine: Engine, repeat: int = 3) -> dict[str, tuple[float, Any]]:
    open_states = [s.value for s in CaseState.open_states()]
    policy = load_policy(None)

    def count() -> int:
        with new_session(engine) as s:
            stmt = select(func.count()).select_from(Case).where(col(Case.state).in_(open_states))
            return int(s.exec(stmt).one())

    def naive() -> int:
        with new_session(engine) as s:
            cal = load_calendar(s)
            ctx = SweepContext(NOW, policy, cal, get_settings(), load_classes(s))
            rows = s.exec(select(Case).where(col(Case.state).in_(open_states)))
            return sum(1 for case in rows if ctx.due(facts_of(case)))

    def sweep_only() -> int:
        with new_session(engine) as s:
            ctx = SweepContext(NOW, policy, load_calendar(s), get_settings(), load_classes(s))
            checked, candidates = sweep(s, ctx)
            s.rollback()
            return checked

    return {
        "baseline: count(*) of open cases": timed(count, repeat),
        "baseline: naive load of open cases": timed(naive, repeat),
        "sweep (query + fired + rule)": timed(sweep_only, repeat),
        "first run (the flow, committed)": timed(
            lambda: run_job("escalation", now=NOW, engine=engine)
        ),
        "rerun (all fired)": timed(lambda: run_job("escalation", now=NOW, engine=engine)),
    }


def database(pg: bool, tmp: Path, name: str) -> tuple[str, Callable[[], None]]:
    if not pg:
        return f"sqlite:///{tmp / name}.db", lambda: None
    server = make_url(os.environ["CLOSELOOP_TEST_PG_URL"])
    db = f"closeloop_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=db).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--big", action="store_true", help="also 1,000,000 open + 5,000 late")
    parser.add_argument(
        "--set",
        action="append",
        metavar="OPEN:LATE",
        help="only these data sets (open not late : late), e.g. --set 50000:5000",
    )
    args = parser.parse_args()
    sets = [tuple(int(n) for n in s.split(":")) for s in args.set] if args.set else SETS
    summary: list[tuple[int, int, dict[str, tuple[float, Any]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        print(
            f"database: {'PostgreSQL' if args.pg else 'SQLite'}; now = {NOW.isoformat()}; "
            "a loaded shared 2-core machine: compare the ratios"
        )
        for open_not_late, late in sets + ([BIG] if args.big else []):
            url, drop = database(args.pg, Path(tmp), f"set_{open_not_late}_{late}")
            try:
                upgrade(url)
                engine = make_engine(url)
                t0 = time.perf_counter()
                fill(engine, open_not_late, late)
                built = time.perf_counter() - t0
                print(f"\n{open_not_late:,} open not late + {late:,} late (built in {built:.1f} s)")
                results = measure(engine, repeat=1 if open_not_late >= 1_000_000 else 3)
                summary.append((open_not_late, late, results))
                for label, (seconds, result) in results.items():
                    shown = (
                        result
                        if not isinstance(result, dict)
                        else (
                            f"letters {result['letters']}, notices {result['notifications']}, "
                            f"listed {result['listed']}, checked {result['checked']}"
                        )
                    )
                    print(f"  {label:<38} {seconds * 1000:9.1f} ms   {shown}")
                engine.dispose()
            finally:
                drop()
    print("\nsummary (first run / naive load: goal <= 2 at 50,000 + 5,000 late)")
    print(
        f"  {'open not late':>13} {'late':>6} {'naive ms':>10} {'sweep ms':>10} "
        f"{'first run ms':>13} {'first/naive':>12}"
    )
    for open_not_late, late, results in summary:
        naive = results["baseline: naive load of open cases"][0]
        swept = results["sweep (query + fired + rule)"][0]
        first = results["first run (the flow, committed)"][0]
        print(
            f"  {open_not_late:>13,} {late:>6,} {naive * 1000:>10.0f} {swept * 1000:>10.0f} "
            f"{first * 1000:>13.0f} {first / naive:>12.2f}"
        )


if __name__ == "__main__":
    main()
