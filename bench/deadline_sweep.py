"""Deadlines beyond the cases in an escalation run: the cost of the ones told before.

    .venv/bin/python bench/deadline_sweep.py             # SQLite (a temp file), both kinds
    .venv/bin/python bench/deadline_sweep.py --pg        # PostgreSQL (CLOSELOOP_TEST_PG_URL)
    .venv/bin/python bench/deadline_sweep.py --kind follow_ups --sets 10000
    CLOSELOOP_BENCH_CODE=/work/base .venv/bin/python bench/deadline_sweep.py   # another checkout

A follow-up never made (回访超期) or a risk report never reviewed (审核超期) stays late for good,
so a district's escalation runs (every 10 minutes) meet every one told before, and their number
only grows (a city at a 回访率 of 80 % gains thousands a month; an imported ledger can bring
thousands of unreviewed reports at once). For each kind and data set — N late, all told before
but 100 (a report at both its levels) — a fresh database is filled (COPY on PostgreSQL,
executemany on SQLite) and, in the same run, median of 3:
- baseline: the raw read of what is late (`SELECT id, closed_at … WHERE state = 'closed' AND
  follow_up_due_at < now`; `SELECT id, review_due_at … WHERE state = 'pending' AND
  review_due_at < now`), the least any run must do;
- new 100: the kind's `escalate_late` with 100 not told yet (it claims them and writes their
  notices), rolled back;
- rerun: the same once all N have been told (the steady state of every later run), rolled back.
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
from dataclasses import dataclass
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
from closeloop.safety import risk_reports  # noqa: E402
from models.case import Case  # noqa: E402
from models.escalation import DeadlineFire  # noqa: E402
from models.risk import RiskReport, RiskReportCreate  # noqa: E402
from models.types import UTCDateTime  # noqa: E402

NOW = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
SETS = [10_000, 100_000]
NEW = 100


def fill_follow_ups(engine: Engine, overdue: int) -> datetime:
    """`overdue` closed events past their follow-up deadline, all but NEW told before; the
    moment to run at."""
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
    return NOW


def fill_risk_reviews(engine: Engine, late: int) -> datetime:
    """`late` risk reports pending past both review levels, all but NEW told at both; the
    moment to run at. One report is made by the service, the others are its copies."""
    from tests.factories import build_org
    from tests.safety.risk_factories import add_enterprise

    when = NOW - timedelta(days=60)
    with transaction(engine) as s:
        org = build_org(s)
        add_enterprise(s, "E1", "G1")
        first = risk_reports.create_report(
            s,
            actor=org["rep1"],
            data=RiskReportCreate(enterprise_code="E1", name="喷漆房", level="significant"),  # type: ignore[arg-type]
            now=when,
        )
        row = {c: getattr(first, c) for c in RiskReport.model_fields if c not in ("id", "number")}
    reports = [{**row, "id": i + 1, "number": f"FX{i:09d}"} for i in range(1, late)]
    fires = [
        {"subject": risk_reports.SUBJECT, "subject_id": i + 1, "level": level, "fired_at": NOW}
        for i in range(NEW, late)
        for level in (risk_reports.LATE, risk_reports.SUPERVISE)
    ]
    for table, rows in ((RiskReport.__table__, reports), (DeadlineFire.__table__, fires)):  # type: ignore[attr-defined]
        for start in range(0, len(rows), 5000):
            bulk_insert(engine, table, rows[start : start + 5000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE risk_report"))
            conn.execute(text("ANALYZE deadline_fire"))
    return NOW


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


@dataclass(frozen=True)
class Kind:
    fill: Callable[[Engine, int], datetime]
    late_now: Any  # the baseline: the raw read of what is late at :now
    escalate: Callable[..., int]
    per_new: int  # notices claimed for each new one (its levels)
    what: str


KINDS = {
    "follow_ups": Kind(
        fill_follow_ups,
        text(
            "SELECT id, closed_at FROM \"case\" WHERE state = 'closed' AND kind = 'event' "
            "AND follow_up_due_at IS NOT NULL AND follow_up_due_at < :now AND closed_at IS NOT NULL"
        ).bindparams(bindparam("now", type_=UTCDateTime)),
        followups.escalate_late,
        1,
        "overdue follow-ups",
    ),
    "risk_reviews": Kind(
        fill_risk_reviews,
        text(
            "SELECT id, review_due_at FROM risk_report WHERE state = 'pending' "
            "AND review_due_at < :now"
        ).bindparams(bindparam("now", type_=UTCDateTime)),
        risk_reports.escalate_late,
        2,
        "risk reviews late at both levels",
    ),
}


def measure(engine: Engine, kind: Kind, late: int, db: str) -> None:
    now = kind.fill(engine, late)

    def raw() -> int:
        with engine.connect() as conn:
            return len(conn.execute(kind.late_now, {"now": now}).all())

    def run() -> int:
        with new_session(engine) as s:
            sent = kind.escalate(s, now=now)
            s.rollback()
            return sent

    base_ms, base_cpu, rows = timed(raw)
    new_ms, new_cpu, sent = timed(run)
    with new_session(engine) as s:  # the NEW told: the steady state
        kind.escalate(s, now=now)
        s.commit()
    re_ms, re_cpu, again = timed(run)
    assert rows == late and sent == NEW * kind.per_new and again == 0, (rows, sent, again)
    print(f"{db}, {late:,} {kind.what}, all told before but {NEW}:")
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
    parser.add_argument("--kind", choices=sorted(KINDS), action="append")
    args = parser.parse_args()
    for name in args.kind or sorted(KINDS):
        for late in [int(n) for n in args.sets.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                url, drop = database(args.pg, Path(tmp), "deadlines")
                try:
                    upgrade(url)
                    engine = make_engine(url)
                    measure(engine, KINDS[name], late, "PostgreSQL" if args.pg else "SQLite")
                    engine.dispose()
                finally:
                    drop()


if __name__ == "__main__":
    main()
