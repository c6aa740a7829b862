"""Metrics for a year by street: `compute` beside the same figures written as hand SQL, in the
same run, with every figure checked equal.

    .venv/bin/python bench/metrics_year.py               # SQLite (a temp file), 300,000 cases
    .venv/bin/python bench/metrics_year.py --pg          # PostgreSQL (CLOSELOOP_TEST_PG_URL)
    CLOSELOOP_BENCH_CODE=/work/main .venv/bin/python bench/metrics_year.py --pg   # main's code

The city is bench/citygen.py's (one district, a year). The hand SQL (HAND below, text) reads
the case at the report time T from the history with one window per case, exactly as the README
defines it, and computes per street: the cohort counts (reported, cancelled, closed, on time),
the action counts (dispatches, returns, submissions, rejections, signed on time), the handling
days (dispatch day, close day) pairs (working days and the median/mean from the same calendar,
in Python), the backlog at T (overdue, listed), letters by type, follow-ups (closed events,
followed up, satisfied), return review (re-dispatches, return requests made/granted/refused),
and for the total the co-handling tasks and the emergency figures. Not written by hand: the
safety figures (inspections, risk reports and points — the generated city has none, both give 0)
and the ranking (a formula over these figures in Python, the same either way).
Each side: median of 3; then every figure is compared, group by group.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("CLOSELOOP_BENCH_CODE"):
    sys.path.insert(0, os.environ["CLOSELOOP_BENCH_CODE"])

from sqlalchemy import Engine, text  # noqa: E402

from bench.citygen import NOW, build  # noqa: E402
from bench.escalation_sweep import database  # noqa: E402
from closeloop.auth.policy import SYSTEM  # noqa: E402
from closeloop.calendar.service import load_calendar  # noqa: E402
from closeloop.db import make_engine, new_session, upgrade  # noqa: E402
from closeloop.reports.metrics import service as metrics  # noqa: E402
from models.types import SHANGHAI  # noqa: E402

OPEN = "('reported', 'dispatched', 'rectifying', 'suspended', 'verifying')"
SCOPE = """c.kind IN ('event', 'hazard') AND c.reported_at < :end AND c.reported_at <= :as_of"""

# The case at T (asof.py, by hand): the latest entry at or before T, the import entry read at T.
ASOF = """
e AS (
  SELECT h.case_id, CASE WHEN h.action = 'import' THEN 1 ELSE 0 END AS imported, h.to_state,
         h.due_at, h.dispatched_at, h.closed_at, h.listed, h.unit_code, c.street_code,
         ROW_NUMBER() OVER (PARTITION BY h.case_id ORDER BY
           CASE WHEN h.action = 'import' THEN 0 ELSE 1 END DESC, h.at DESC, h.seq DESC) AS n
  FROM case_history h JOIN "case" c ON c.id = h.case_id
  WHERE (h.action = 'import' OR h.at <= :as_of) AND h.to_state IS NOT NULL AND {narrow}
),
f AS (
  SELECT *,
    CASE WHEN to_state IN ('closed', 'cancelled') AND (closed_at IS NULL OR closed_at <= :as_of)
         THEN 1 ELSE 0 END AS ended,
    CASE WHEN dispatched_at IS NULL OR dispatched_at > :as_of THEN 1 ELSE 0 END AS undispatched
  FROM e WHERE n = 1
),
a AS (
  SELECT case_id, street_code,
    CASE WHEN imported = 0 THEN to_state WHEN ended = 1 THEN to_state
         WHEN undispatched = 1 THEN 'reported'
         WHEN to_state IN ('dispatched', 'rectifying', 'suspended', 'verifying') THEN to_state
         ELSE 'rectifying' END AS state,
    CASE WHEN imported = 0 OR undispatched = 0 THEN due_at END AS due_at,
    CASE WHEN imported = 0 OR undispatched = 0 THEN dispatched_at END AS dispatched_at,
    CASE WHEN imported = 1 AND ended = 0 THEN NULL ELSE closed_at END AS closed_at,
    CASE WHEN (imported = 0 OR undispatched = 0) AND listed THEN 1 ELSE 0 END AS listed
  FROM f
)"""

HAND = {
    "cohort": "WITH "
    + ASOF.format(narrow=SCOPE + " AND c.reported_at >= :start")
    + """
SELECT street_code, count(*),
  sum(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END),
  sum(CASE WHEN state = 'closed' THEN 1 ELSE 0 END),
  sum(CASE WHEN state = 'closed' AND (due_at IS NULL OR closed_at <= due_at) THEN 1 ELSE 0 END)
FROM a GROUP BY street_code""",
    "handling": "WITH "
    + ASOF.format(narrow=SCOPE + " AND c.reported_at >= :start")
    + """
SELECT street_code, {ld_dispatched}, {ld_closed}, count(*) FROM a
WHERE state = 'closed' AND dispatched_at IS NOT NULL GROUP BY 1, 2, 3""",
    "backlog": "WITH "
    + ASOF.format(narrow=SCOPE)
    + f"""
SELECT street_code,
  sum(CASE WHEN state IN ('dispatched', 'rectifying') AND due_at < :as_of THEN 1 ELSE 0 END),
  sum(CASE WHEN state IN {OPEN} AND listed = 1 THEN 1 ELSE 0 END)
FROM a GROUP BY street_code""",
    "actions": f"""
SELECT c.street_code,
  sum(CASE WHEN h.action = 'dispatch' OR (h.action = 'import' AND h.to_state IN
      ('dispatched', 'rectifying', 'suspended', 'verifying', 'closed')) THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'return' THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'submit' OR (h.action = 'import' AND h.to_state IN
      ('verifying', 'closed')) THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'reject' THEN 1 ELSE 0 END),
  sum(CASE WHEN (h.action = 'sign' AND {{on_time}}) OR (h.action = 'import' AND h.to_state IN
      ('rectifying', 'suspended', 'verifying', 'closed')) THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'redispatch' THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'request_return' THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'approve_return' THEN 1 ELSE 0 END),
  sum(CASE WHEN h.action = 'reject_return' THEN 1 ELSE 0 END)
FROM case_history h JOIN "case" c ON c.id = h.case_id
WHERE {SCOPE} AND c.reported_at >= :start
  AND h.action IN ('dispatch', 'return', 'sign', 'submit', 'reject', 'import', 'redispatch',
                   'request_return', 'approve_return', 'reject_return')
  AND (h.action = 'import' OR h.at <= :as_of)
GROUP BY c.street_code""",
    "letters": """
SELECT c.street_code, l.type, count(DISTINCT l.id)
FROM letter l JOIN letter_item i ON i.letter_id = l.id JOIN "case" c ON c.id = i.case_id
WHERE l.issued_at >= :start AND l.issued_at < :end AND l.issued_at <= :as_of
  AND (l.withdrawn_at IS NULL OR l.withdrawn_at > :as_of) AND c.kind IN ('event', 'hazard')
GROUP BY c.street_code, l.type""",
    "letters_total": """
SELECT l.type, count(DISTINCT l.id)
FROM letter l JOIN letter_item i ON i.letter_id = l.id JOIN "case" c ON c.id = i.case_id
WHERE l.issued_at >= :start AND l.issued_at < :end AND l.issued_at <= :as_of
  AND (l.withdrawn_at IS NULL OR l.withdrawn_at > :as_of) AND c.kind IN ('event', 'hazard')
GROUP BY l.type""",
    "followups": """
WITH closures AS (
  SELECT DISTINCT h.case_id FROM case_history h JOIN "case" c ON c.id = h.case_id
  WHERE c.kind = 'event' AND h.to_state = 'closed' AND h.closed_at >= :start
    AND h.closed_at < :end AND h.closed_at <= :as_of AND (h.action = 'import' OR h.at <= :as_of)
), latest AS (
  SELECT case_id, satisfaction,
    ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY at DESC, id DESC) AS n
  FROM follow_up WHERE closed_at >= :start AND closed_at < :end AND at <= :as_of
)
SELECT c.street_code, count(*), sum(CASE WHEN l.case_id IS NOT NULL THEN 1 ELSE 0 END),
  sum(CASE WHEN l.satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END)
FROM closures x JOIN "case" c ON c.id = x.case_id
LEFT JOIN latest l ON l.case_id = x.case_id AND l.n = 1
GROUP BY c.street_code""",
    "tasks": """
SELECT count(*),
  sum(CASE WHEN t.signed_at <= :as_of AND (t.sign_due_at IS NULL OR t.signed_at <= t.sign_due_at)
      THEN 1 ELSE 0 END),
  sum(CASE WHEN t.done_at <= :as_of AND t.done_at <= t.due_at THEN 1 ELSE 0 END)
FROM case_task t JOIN "case" c ON c.id = t.case_id
WHERE c.kind IN ('event', 'hazard') AND t.created_at >= :start AND t.created_at < :end
  AND t.created_at <= :as_of AND (t.waived_at IS NULL OR t.waived_at > :as_of)""",
    "emergency": f"""
SELECT c.reported_at, c.alerted_at FROM "case" c
WHERE {SCOPE} AND c.reported_at >= :start AND c.emergency""",
}


def hand(
    engine: Engine, start: datetime, end: datetime, cal: Any, first: date
) -> Callable[[], Any]:
    pg = engine.dialect.name == "postgresql"

    def ld(column: str) -> str:
        if pg:
            return f"CAST(({column} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
        return f"date({column}, '+8 hours')"

    def ts(v: datetime) -> Any:
        v = v.astimezone(UTC)
        return v if pg else v.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    on_time = (
        "CAST(h.data ->> 'on_time' AS BOOLEAN)" if pg else "json_extract(h.data, '$.on_time') = 1"
    )
    sql = {
        k: text(
            v.format(ld_dispatched=ld("dispatched_at"), ld_closed=ld("closed_at"), on_time=on_time)
        )
        for k, v in HAND.items()
    }
    params = {"start": ts(start), "end": ts(end), "as_of": ts(NOW)}
    last = NOW.astimezone(SHANGHAI).date()
    ordinal, n, day = {}, 0, first
    while day <= last:
        n += 1 if cal.is_workday(day) else 0
        ordinal[day] = n
        day += timedelta(days=1)

    def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with engine.connect() as conn:
            for k, stmt in sql.items():
                out[k] = conn.execute(stmt, params).all()
        hist: dict[Any, Counter[int]] = {}
        for street, d, c, count in out["handling"]:
            d, c = (x if isinstance(x, date) else date.fromisoformat(x) for x in (d, c))
            hist.setdefault(street, Counter())[ordinal[c] - ordinal[d]] += int(count)
        out["handling"] = hist
        return out

    return run


def _median(h: Counter[int]) -> float | None:
    values = sorted(h.elements())
    return float(statistics.median(values)) if values else None


def figures_of_hand(out: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """street (None: the total) → {figure: value}, from the hand SQL's rows."""
    streets: dict[Any, dict[str, Any]] = {}

    def put(street: Any, **kw: Any) -> None:
        for target in (street, "__total__"):
            row = streets.setdefault(target, Counter())
            for k, v in kw.items():
                row[k] += int(v or 0)

    for s, n, c, closed, on in out["cohort"]:
        put(s, reported=n, cancelled=c, closed=closed, on_time_closed=on)
    for s, over, listed in out["backlog"]:
        put(s, overdue_open=over, listed=listed)
    for s, disp, ret, sub, rej, sig, redis, req, granted, refused in out["actions"]:
        put(
            s,
            dispatches=disp + redis,
            returns=ret + granted,
            submissions=sub,
            rejections=rej,
            signed_on_time=sig,
            redispatches=redis,
            return_requested=req,
            return_granted=granted,
            return_refused=refused,
        )
    for s, letter_type, count in out["letters"]:
        put(s, **{f"letters_{letter_type}": count})
    for s, closed, followed, happy in out["followups"]:
        put(s, closed_events=closed, followed_up=followed, satisfied=happy)
    total = streets.setdefault("__total__", Counter())
    for k in [k for k in total if k.startswith("letters_")]:
        del total[k]
    for letter_type, count in out["letters_total"]:
        total[f"letters_{letter_type}"] = int(count)
    tasks, signed, done = out["tasks"][0]
    total.update(assist_tasks=int(tasks), assist_signed_on_time=int(signed or 0))
    total.update(assist_done_on_time=int(done or 0))
    every: Counter[int] = Counter()
    for s, h in out["handling"].items():
        every.update(h)
        streets.setdefault(s, Counter())
        streets[s]["handling_closed"] = sum(h.values())
        streets[s]["handling_days_median"] = _median(h)  # type: ignore[assignment]
    total["handling_closed"] = sum(every.values())
    total["handling_days_median"] = _median(every)  # type: ignore[assignment]
    minutes = []
    for reported, alerted in out["emergency"]:
        if alerted is None:
            continue
        r, a = (_aware(x) for x in (reported, alerted))
        if a <= NOW:
            minutes.append((a - r).total_seconds() / 60)
    total["emergencies"] = len(out["emergency"])
    total["emergency_alerted"] = len(minutes)
    total["emergency_alerted_within_30m"] = sum(1 for m in minutes if m <= 30)
    return streets


def _aware(v: Any) -> datetime:
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v if v.tzinfo else v.replace(tzinfo=UTC)


FIELDS = [
    "reported",
    "cancelled",
    "closed",
    "on_time_closed",
    "overdue_open",
    "listed",
    "dispatches",
    "returns",
    "submissions",
    "rejections",
    "signed_on_time",
    "redispatches",
    "return_requested",
    "return_granted",
    "return_refused",
    "letters_reminder",
    "letters_supervision",
    "letters_warning",
    "closed_events",
    "followed_up",
    "satisfied",
    "handling_closed",
    "handling_days_median",
]
TOTAL_ONLY = [
    "assist_tasks",
    "assist_signed_on_time",
    "assist_done_on_time",
    "emergencies",
    "emergency_alerted",
    "emergency_alerted_within_30m",
]


def figures_of_report(m: Any) -> dict[str, Any]:
    rr = m.return_requests
    return {
        **{k: getattr(m, k) for k in FIELDS[:12] + FIELDS[18:] + TOTAL_ONLY},
        "return_requested": rr.requested,
        "return_granted": rr.granted,
        "return_refused": rr.refused,
        "letters_reminder": m.letters.reminder,
        "letters_supervision": m.letters.supervision,
        "letters_warning": m.letters.warning,
    }


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--cases", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        url, drop = database(args.pg, Path(tmp), "metrics_year")
        try:
            upgrade(url)
            engine = make_engine(url)
            t0 = time.perf_counter()
            build(engine, cases=args.cases, districts=1, years=1)
            today = NOW.astimezone(SHANGHAI).date()
            first = today - timedelta(days=364)
            start, end = metrics.period_bounds(first, today)
            with new_session(engine) as s:
                cal = load_calendar(s)
            code = os.environ.get("CLOSELOOP_BENCH_CODE") or "this checkout"
            print(
                f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {args.cases:,} cases (built "
                f"in {time.perf_counter() - t0:.1f} s); code: {code}; {first}..{today} by street"
            )
            base, out = timed(hand(engine, start, end, cal, first))

            def full() -> Any:
                with new_session(engine) as s:
                    return metrics.compute(
                        s, actor=SYSTEM, date_from=first, date_to=today, now=NOW, group_by="street"
                    )

            spent, report = timed(full)
            print(f"baseline: hand SQL, every figure   {base * 1000:8.0f} ms")
            print(
                f"compute(group_by=street)          {spent * 1000:8.0f} ms   ratio "
                f"{spent / base:4.2f}x  (goal: within 2x)"
            )
            expected = figures_of_hand(out)
            bad = 0
            rows = [("total", report.total, expected["__total__"], FIELDS + TOTAL_ONLY)]
            rows += [(g.key, g, expected.get(g.key, {}), FIELDS) for g in report.groups]
            for name, m, want, fields in rows:
                got = figures_of_report(m)
                for f in fields:
                    w = want.get(f, 0 if f != "handling_days_median" else None)
                    if got[f] != w:
                        bad += 1
                        print(f"  DIFFERENT {name} {f}: compute {got[f]} hand SQL {w}")
            print(
                f"equality: {len(FIELDS + TOTAL_ONLY)} figures of the total and {len(FIELDS)} of "
                f"each of {len(report.groups)} streets: "
                + ("all equal" if not bad else f"{bad} different")
            )
            engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
