"""Overdue follow-ups (回访超期) in an escalation run: the cost of the ones told before.

    .venv/bin/python bench/follow_up_sweep.py             # SQLite (a temp file)
    .venv/bin/python bench/follow_up_sweep.py --pg        # PostgreSQL (CLOSELOOP_TEST_PG_URL)
    CLOSELOOP_BENCH_CODE=/work/base .venv/bin/python bench/follow_up_sweep.py   # another checkout

A follow-up that is never made stays overdue for good, so a district's escalation runs meet every
one told before, hour after hour, and their number only grows (a city at a 回访率 of 80 % gains
thousands a month). For each data set — N closed events overdue for their follow-up, all told
before but 100 — a fresh database is filled (COPY on PostgreSQL, executemany on SQLite) and, in
the same run, median of 3:
- baseline: the raw read of what is overdue (`SELECT id, closed_at … WHERE state = 'closed' AND
  follow_up_due_at < now`), the least any run must do;
- rerun: `followups.escalate_late` when all N have been told (the steady state), rolled back;
- new 100: the same with 100 not told yet (it claims them and writes their notices), rolled back.
The ratio is the rerun to the baseline: the goal (as for the cases' sweep, goal 5) is a run whose
cost stays within a small multiple of reading what is late.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("CLOSELOOP_BENCH_CODE"):  # time another checkout's code (main: "before")
    sys.path.insert(0, os.environ["CLOSELOOP_BENCH_CODE"])

from sqlalchemy import Engine, bindparam, text  # noqa: E402

from bench.escalation_sweep import bulk_insert, case_row, database  # noqa: E402
from closeloop.db import make_engine, new_session, transaction, upgrade  # noqa: E402
from closeloop.escalation import followups  # noqa: E402
from models.case import Case  # noqa: E402
from models.escalation import DeadlineFire  # noqa: E402
from models.types import UTCDateTime  # noqa: E402

NOW = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
SETS = [10_000, 100_000]
NEW = 100


def fill(engine: Engine, overdue: int) -> None:
    """`overdue` closed events past their follow-up deadline, all but NEW told before."""
    from tests.factories import build_org

    with transaction(engine) as s:
        build_org(s)
    closed = NOW - timedelta(days=10)
    cases, fires = [], []
    for i in range(overdue):
        at = closed - timedelta(minutes=i)
        cases.append(
            case_row(
                i,
                "FU",
                id=i + 1,
                state="closed",
                unit_code="ZJ",
                reported_at=at - timedelta(days=5),
                dispatched_at=at - timedelta(days=5),
                signed_at=at - timedelta(days=5),
                closed_at=at,
                follow_up_due_at=at + timedelta(days=3),
                updated_at=at,
            )
        )
        if i >= NEW:
            fires.append(
                {
                    "subject": followups.SUBJECT,
                    "subject_id": i + 1,
                    # the product's level (followups.level_at), written out: "before" lacks it
                    "level": "overdue:" + at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "fired_at": at + timedelta(days=4),
                }
            )
    for table, rows in ((Case.__table__, cases), (DeadlineFire.__table__, fires)):  # type: ignore[attr-defined]
        for start in range(0, len(rows), 5000):
            bulk_insert(engine, table, rows[start : start + 5000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('case', 'id'), :n)"), {"n": overdue}
            )
            conn.execute(text('ANALYZE "case"'))
            conn.execute(text("ANALYZE deadline_fire"))


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """(median wall ms, median CPU ms, the last result), after one warm-up call."""
    fn()
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, result


OVERDUE_NOW = text(
    "SELECT id, closed_at FROM \"case\" WHERE state = 'closed' AND kind = 'event' "
    "AND follow_up_due_at IS NOT NULL AND follow_up_due_at < :now AND closed_at IS NOT NULL"
).bindparams(bindparam("now", type_=UTCDateTime))


def measure(engine: Engine, overdue: int, db: str) -> None:
    def raw() -> int:
        with engine.connect() as conn:
            return len(conn.execute(OVERDUE_NOW, {"now": NOW}).all())

    def run() -> int:
        with new_session(engine) as s:
            sent = followups.escalate_late(s, now=NOW)
            s.rollback()
            return sent

    base_ms, base_cpu, rows = timed(raw)
    new_ms, new_cpu, sent = timed(run)
    with new_session(engine) as s:  # the NEW told: the steady state
        followups.escalate_late(s, now=NOW)
        s.commit()
    re_ms, re_cpu, again = timed(run)
    assert rows == overdue and sent == NEW and again == 0, (rows, sent, again)
    print(f"{db}, {overdue:,} overdue follow-ups, all told before but {NEW}:")
    print(f"  baseline raw read      {base_ms:8.1f} ms  (CPU {base_cpu:.1f} ms)")
    print(f"  run telling {NEW} new    {new_ms:8.1f} ms  (CPU {new_cpu:.1f} ms)")
    print(
        f"  rerun, all told        {re_ms:8.1f} ms  (CPU {re_cpu:.1f} ms)  "
        f"ratio {re_ms / base_ms:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--sets", default=",".join(map(str, SETS)))
    args = parser.parse_args()
    for overdue in [int(n) for n in args.sets.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = database(args.pg, Path(tmp), "followups")
            try:
                upgrade(url)
                engine = make_engine(url)
                fill(engine, overdue)
                measure(engine, overdue, "PostgreSQL" if args.pg else "SQLite")
                engine.dispose()
            finally:
                drop()


if __name__ == "__main__":
    main()
