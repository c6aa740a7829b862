"""Metrics over 1,000,000 cases, beside the equivalent single raw SQL query, in the same run.

    .venv/bin/python bench/metrics_1m.py               # SQLite (a temp file)
    .venv/bin/python bench/metrics_1m.py --pg          # PostgreSQL (CLOSELOOP_TEST_PG_URL's server)
    .venv/bin/python bench/metrics_1m.py --cases 200000

A year (2024) of cases over 10 streets, 90 communities and 270 grids (Luohu's shape) and 10 units
is written with Core inserts: 97% closed, 1% cancelled, the rest open; each case has its import
history entry and every tenth case a live action history (dispatch, sign, submit, reject, submit,
approve, sometimes a return). Then, for the total and for group_by street, grid and unit:
- baseline: ONE raw SQL statement (text) computing the cohort counts — reported, cancelled, closed,
  closed on time, grouped — i.e. what a hand-written report query costs;
- compute: `closeloop.reports.metrics.compute`, every metric of DESIGN.md (cohort counts, action
  history, working-day handling-time histogram, backlog, letters) and the ranking.
Both print the median of 3 runs; the ratio says what the full set of metrics costs over one query.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert, text  # noqa: E402

from bench.escalation_sweep import database  # noqa: E402
from closeloop.auth.policy import SYSTEM  # noqa: E402
from closeloop.db import make_engine, new_session, transaction, upgrade  # noqa: E402
from closeloop.reports.metrics import service as metrics  # noqa: E402
from models.case import Case  # noqa: E402
from models.history import CaseHistory  # noqa: E402
from models.org import Category, Region, Unit  # noqa: E402
from models.types import SHANGHAI  # noqa: E402

NOW = datetime(2025, 1, 6, 8, 0, tzinfo=SHANGHAI)
UNITS = [f"U{n:02d}" for n in range(10)]
BATCH = 10_000

RAW = """
SELECT {key} AS k,
       count(*) AS reported,
       sum(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
       sum(CASE WHEN state = 'closed' AND closed_at <= :as_of THEN 1 ELSE 0 END) AS closed,
       sum(CASE WHEN state = 'closed' AND closed_at <= :as_of
                 AND (due_at IS NULL OR closed_at <= due_at) THEN 1 ELSE 0 END) AS on_time
FROM "case"
WHERE kind IN ('event', 'hazard') AND reported_at >= :start AND reported_at < :end
{group}
"""


def organisation(engine: Engine) -> list[tuple[str, str, str, str]]:
    """District D → 10 streets → 9 communities each → 3 grids each; returns the grids."""
    grids = []
    with transaction(engine) as s:
        s.add(Region(code="D", name="区", level="district", path="/D/"))
        for u in UNITS:
            s.add(Unit(code=u, name=f"单位{u}", short_name=u))
        s.flush()
        s.add(Category(code="01", name="大类"))
        s.flush()
        s.add(Category(code="0101", name="小类", parent_code="01", unit_code="U00", limit_days=5))
        for si in range(10):
            street = f"S{si}"
            s.flush()
            s.add(
                Region(
                    code=street,
                    name=f"街道{si}",
                    level="street",
                    parent_code="D",
                    path=f"/D/{street}/",
                )
            )
            s.flush()
            for ci in range(9):
                comm = f"{street}C{ci}"
                s.add(
                    Region(
                        code=comm,
                        name=f"社区{comm}",
                        level="community",
                        parent_code=street,
                        path=f"/D/{street}/{comm}/",
                    )
                )
                s.flush()
                for gi in range(3):
                    grid = f"{comm}G{gi}"
                    path = f"/D/{street}/{comm}/{grid}/"
                    s.add(
                        Region(
                            code=grid, name=f"网格{grid}", level="grid", parent_code=comm, path=path
                        )
                    )
                    grids.append((grid, street, comm, path))
    return grids


def fill(engine: Engine, n: int) -> None:
    grids = organisation(engine)
    start = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
    cases, history = Case.__table__, CaseHistory.__table__  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = []
    hist: list[dict[str, Any]] = []
    next_id = 1
    for i in range(n):
        grid, street, comm, path = grids[i % len(grids)]
        reported = start + timedelta(seconds=(i * 31_536_000 // n))
        dispatched = reported + timedelta(hours=2)
        due = dispatched + timedelta(days=7)
        state = "closed" if i % 100 < 97 else ("cancelled" if i % 100 == 97 else "rectifying")
        closed = dispatched + timedelta(days=(i % 11)) if state == "closed" else None
        rows.append(
            {
                "id": next_id,
                "number": f"B{i:09d}",
                "kind": "hazard" if i % 20 == 0 else "event",
                "state": state,
                "title": "基准",
                "description": "",
                "category_code": "0101",
                "grid_code": grid,
                "street_code": street,
                "community_code": comm,
                "region_path": path,
                "address": "",
                "unit_code": None if state == "cancelled" else UNITS[i % 10],
                "grade": "general" if i % 20 == 0 else None,
                "urgent": False,
                "reported_at": reported,
                "dispatched_at": None if state == "cancelled" else dispatched,
                "sign_due_at": dispatched + timedelta(hours=2),
                "signed_at": dispatched,
                "due_at": due,
                "deadline_version": 1,
                "due_estimated": False,
                "closed_at": closed,
                "cancelled_at": reported if state == "cancelled" else None,
                "listed": False,
                "rework_count": 1 if i % 10 == 0 and state == "closed" else 0,
                "version": 1,
                "updated_at": reported,
            }
        )
        unit = None if state == "cancelled" else UNITS[i % 10]
        held = {"due_at": due, "dispatched_at": dispatched, "unit_code": unit, "listed": False}
        if i % 10 == 0 and state == "closed":
            # (action, data, state after, snapshot after): what history.append writes.
            steps = [
                ("file", {}, "reported", {}),
                ("dispatch", {"unit_code": UNITS[i % 10]}, "dispatched", held),
                ("sign", {"on_time": i % 30 != 0}, "rectifying", held),
                ("submit", {}, "verifying", held),
                ("reject", {}, "rectifying", held),
                ("submit", {}, "verifying", held),
                ("approve", {"on_time": True}, "closed", {**held, "closed_at": closed}),
            ]
            if i % 50 == 0:
                away = {**held, "unit_code": "U09"}
                steps[1:1] = [
                    ("dispatch", {"unit_code": "U09"}, "dispatched", away),
                    ("return", {"unit_code": "U09"}, "reported", {}),
                ]
            for seq, (action, data, after, snap) in enumerate(steps, start=1):
                hist.append(
                    {
                        "case_id": next_id,
                        "seq": seq,
                        "action": action,
                        "from_state": None,
                        "to_state": after,
                        "actor_id": None,
                        "actor": "bench",
                        "at": reported + timedelta(hours=seq - 1),
                        "note": None,
                        "data": data,
                        **_snapshot(snap),
                    }
                )
        else:
            ledger = {**held, "closed_at": closed} if state != "cancelled" else {}
            hist.append(
                {
                    "case_id": next_id,
                    "seq": 1,
                    "action": "import",
                    "from_state": None,
                    "to_state": state,
                    "actor_id": None,
                    "actor": "bench",
                    "at": NOW,
                    "note": None,
                    "data": {},
                    **_snapshot(ledger),
                }
            )
        next_id += 1
        if len(rows) >= BATCH:
            flush(engine, cases, history, rows, hist)
    flush(engine, cases, history, rows, hist)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text('ANALYZE "case"'))
            conn.execute(text("ANALYZE case_history"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('case', 'id'), :n)"), {"n": n})
        else:
            conn.execute(text("ANALYZE"))


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """The history entry's snapshot columns (the case as it stood after the entry)."""
    return {
        "due_at": values.get("due_at"),
        "dispatched_at": values.get("dispatched_at"),
        "closed_at": values.get("closed_at"),
        "listed": values.get("listed", False),
        "unit_code": values.get("unit_code"),
    }


def flush(engine: Engine, cases: Any, history: Any, rows: list, hist: list) -> None:  # type: ignore[type-arg]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(cases), rows)
            conn.execute(insert(history), hist)
    rows.clear()
    hist.clear()


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def raw(engine: Engine, group_by: str | None) -> Callable[[], Any]:
    column = {"street": "street_code", "grid": "grid_code", "unit": "unit_code"}.get(group_by or "")
    sql = text(RAW.format(key=column or "NULL", group=f"GROUP BY {column}" if column else ""))
    start = datetime(2024, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    end = datetime(2025, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    params: dict[str, Any] = {"start": start, "end": end, "as_of": NOW.astimezone(UTC)}
    if engine.dialect.name == "sqlite":  # naive UTC text, as the UTCDateTime column stores it
        params = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in params.items()}

    def run() -> int:
        with engine.connect() as conn:
            return len(conn.execute(sql, params).all())

    return run


def full(engine: Engine, group_by: str | None) -> Callable[[], Any]:
    def run() -> Any:
        with new_session(engine) as s:
            return metrics.compute(
                s,
                actor=SYSTEM,
                date_from=date(2024, 1, 1),
                date_to=date(2024, 12, 31),
                now=NOW,
                group_by=group_by,
            )

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        url, drop = database(args.pg, Path(tmp), "metrics")
        try:
            upgrade(url)
            engine = make_engine(url)
            t0 = time.perf_counter()
            fill(engine, args.cases)
            print(
                f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {args.cases:,} cases "
                f"(built in {time.perf_counter() - t0:.1f} s); period 2024, as of "
                f"{NOW.isoformat()}"
            )
            print(
                f"{'group_by':<10} {'baseline: 1 raw query':>24} {'compute: every metric':>24}"
                f" {'ratio':>7}"
            )
            for group_by in (None, "street", "grid", "unit"):
                base, groups = timed(raw(engine, group_by))
                spent, report = timed(full(engine, group_by))
                print(
                    f"{group_by or 'total':<10} {base * 1000:18.0f} ms   {spent * 1000:18.0f} ms"
                    f"   {spent / base:5.1f}x   ({groups} rows; closure_rate "
                    f"{report.total.closure_rate}, reported {report.total.reported:,})"
                )
            engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
