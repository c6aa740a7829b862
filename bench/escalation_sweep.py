"""Escalation sweep: its cost follows the number of late cases, not the number of open ones.

    .venv/bin/python bench/escalation_sweep.py            # SQLite (a temp file)
    .venv/bin/python bench/escalation_sweep.py --pg       # PostgreSQL: a throwaway database on
                                                          # the server of CLOSELOOP_TEST_PG_URL
    .venv/bin/python bench/escalation_sweep.py --pg --big # also 1,000,000 open + 5,000 late

For each data set — 50,000 open cases that are not late plus 500 late ones, the same plus 5,000
late ones, 5,000 open plus 500 late, 100,000 open plus 5,000 late (and 1,000,000 open plus 5,000
late with --big) — a fresh database is filled (COPY on PostgreSQL, executemany on SQLite), then in
the same run it measures (median of 3 for count and sweep, 1 at a million):
- baseline count: `SELECT count(*)` over every open case;
- sweep: what a run reads before it writes — the one indexed candidate query, the lookup of levels
  already fired, and the pure rule;
- baseline naive (once to warm up, then measured): load every open case as an ORM object and
  apply the same pure rule (due_levels);
- first run: the escalation flow (`run_job("escalation")`, one transaction per unit) for real
  (claims, letters, notices, listing), committed;
- baseline naive again, right after the first run (the first run can be done once per data set:
  the naive load on either side of it brackets the machine's load at that moment);
- rerun: the flow again at the same moment: everything has fired, nothing is written.
Each figure is wall time, the client process's CPU time, and on PostgreSQL the server's CPU time
(its backends' utime + stime from /proc, when the server runs on this machine): on a loaded
machine CPU time is the comparable figure. At the end, per data set: the first run beside the
mean of the two naive loads around it (the goal: within 2x with 5,000 late of 50,000 open), in
wall, client CPU and client + database CPU; and how the sweep and the first run grow with the
open cases at a fixed late count (the goal: with the late cases, not the open ones).
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, event, func, insert, text  # noqa: E402
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
            case_row(
                i,
                "BN",
                state=state,
                unit_code=unit,
                reported_at=dispatched,
                dispatched_at=dispatched,
                sign_due_at=sign_due or dispatched + timedelta(hours=2),
                signed_at=None if state == "dispatched" else dispatched,
                due_at=due,
                verify_due_at=verify_due,
                updated_at=dispatched,
            )
        )
        if len(rows) == 5000:
            bulk_insert(engine, table, rows)
            rows = []
    if rows:
        bulk_insert(engine, table, rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text('ANALYZE "case"'))


def case_row(i: int, prefix: str, **fields: Any) -> dict[str, Any]:
    """Case `i` of the benchmark's district (its grid by i), an event: `fields` over these."""
    grid, path = GRIDS[i % 3]
    return {
        "number": f"{prefix}{i:09d}",
        "kind": "event",
        "title": f"基准案件 {i}",
        "description": "",
        "category_code": "0101",
        "grid_code": grid,
        "street_code": path.split("/")[2],
        "community_code": path.split("/")[3],
        "region_path": path,
        "address": "",
        "grade": None,
        "urgent": False,
        "deadline_version": 1,
        "due_estimated": False,
        "listed": False,
        "rework_count": 0,
        "version": 1,
        **fields,
    }


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


@dataclass
class Took:
    """One measurement: wall seconds, the client process's CPU seconds, and the database
    server's CPU seconds (the backends of the engine's connections, read from /proc when the
    server runs on this machine; None when it cannot be read, and always on SQLite, where the
    database works inside the client process)."""

    wall: float
    cpu: float
    db_cpu: float | None
    result: Any = None


class Backends:
    """The PostgreSQL backend processes behind an engine's connections (pg_backend_pid() at
    each connect), and their CPU time from /proc/<pid>/stat: the database's share of the work,
    which the client's CPU time does not see."""

    def __init__(self, engine: Engine) -> None:
        self.pids: set[int] = set()
        self.tick = os.sysconf("SC_CLK_TCK")
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)
            engine.dispose()  # connections opened before are not known: open new ones

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.pids.add(int(cur.fetchone()[0]))
        dbapi_conn.commit()

    def cpu(self) -> dict[int, float] | None:
        """pid → CPU seconds so far, of every backend seen; None if none can be read."""
        out: dict[int, float] = {}
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone (its time is lost) or another machine's
            out[pid] = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        return out or None


def used(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    if after is None:
        return None
    return sum(t - (before or {}).get(pid, 0.0) for pid, t in after.items())


def timed(fn: Callable[[], Any], backends: Backends, repeat: int = 1) -> Took:
    """The median of `repeat` runs (by wall time)."""
    runs = []
    for _ in range(repeat):
        db0, cpu0, start = backends.cpu(), time.process_time(), time.perf_counter()
        result = fn()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        runs.append(Took(wall, cpu, used(db0, backends.cpu()), result))
    return sorted(runs, key=lambda t: t.wall)[len(runs) // 2]


NAIVE_1, FIRST, NAIVE_2 = (
    "baseline: naive load (before first run)",
    "first run (the flow, committed)",
    "baseline: naive load (after first run)",
)


def measure(engine: Engine, repeat: int = 3) -> dict[str, Took]:
    """The read-only measurements, then the naive load, the first run and the naive load again
    back to back on the same data (the first run can be done once: the naive load on either side
    of it brackets the machine's load at that moment), then the rerun."""
    open_states = [s.value for s in CaseState.open_states()]
    policy = load_policy(None)
    backends = Backends(engine)

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

    def flow() -> dict[str, Any]:
        return run_job("escalation", now=NOW, engine=engine)

    out = {
        "baseline: count(*) of open cases": timed(count, backends, repeat),
        "sweep (query + fired + rule)": timed(sweep_only, backends, repeat),
    }
    timed(naive, backends)  # warm: the table in the server's cache, the classes imported
    out[NAIVE_1] = timed(naive, backends)
    out[FIRST] = timed(flow, backends)
    out[NAIVE_2] = timed(naive, backends)
    out["rerun (all fired)"] = timed(flow, backends)
    return out


def ratio(results: dict[str, Took]) -> tuple[float, float, float | None]:
    """First run / naive load (the mean of the two around it): wall, client CPU, client +
    database CPU."""
    first, n1, n2 = results[FIRST], results[NAIVE_1], results[NAIVE_2]
    wall = first.wall / ((n1.wall + n2.wall) / 2)
    cpu = first.cpu / ((n1.cpu + n2.cpu) / 2)
    both = None
    if first.db_cpu is not None and n1.db_cpu is not None and n2.db_cpu is not None:
        both = (first.cpu + first.db_cpu) / ((n1.cpu + n1.db_cpu + n2.cpu + n2.db_cpu) / 2)
    return wall, cpu, both


def shown(result: Any) -> Any:
    if not isinstance(result, dict):
        return result
    return (
        f"letters {', '.join(f'{k} {n}' for k, n in result['letters'].items())}, notices {result['notifications']}, "
        f"listed {result['listed']}, checked {result['checked']}"
    )


def cpu_text(took: Took) -> str:
    db = f"{took.db_cpu:7.2f}" if took.db_cpu is not None else "      -"
    return f"{took.wall:8.2f} {took.cpu:8.2f} {db}"


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
                print(f"  {'':<42} {'wall s':>8} {'CPU s':>8} {'db CPU':>7}")
                for label, took in results.items():
                    print(f"  {label:<42} {cpu_text(took)}   {shown(took.result)}")
                engine.dispose()
            finally:
                drop()
    print(
        "\nsummary (first run / naive load, the naive load being the mean of the two measured "
        "just before and after the first run: goal <= 2 at 50,000 + 5,000 late)"
    )
    print(
        f"  {'open':>9} {'late':>6} | {'naive s':>7} {'CPU':>6} | {'sweep s':>7} | "
        f"{'first s':>7} {'CPU':>6} {'db CPU':>6} | {'first/naive wall':>16} {'CPU':>5} "
        f"{'CPU+db':>6}"
    )
    for open_not_late, late, results in summary:
        n1, n2, first = results[NAIVE_1], results[NAIVE_2], results[FIRST]
        swept = results["sweep (query + fired + rule)"]
        wall, cpu, both = ratio(results)
        db = f"{first.db_cpu:6.2f}" if first.db_cpu is not None else "     -"
        print(
            f"  {open_not_late:>9,} {late:>6,} | {(n1.wall + n2.wall) / 2:>7.2f} "
            f"{(n1.cpu + n2.cpu) / 2:>6.2f} | {swept.wall:>7.2f} | {first.wall:>7.2f} "
            f"{first.cpu:>6.2f} {db} | {wall:>16.2f} {cpu:>5.2f} "
            f"{(f'{both:.2f}' if both is not None else '-'):>6}"
        )


if __name__ == "__main__":
    main()
