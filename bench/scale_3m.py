"""Scale: a city of 10 districts over three years, 3,000,000 cases, on PostgreSQL — the list, a
case page, the supervisor dashboard, the escalation sweep and the monthly report timed.

    .venv/bin/python bench/scale_3m.py                    # 3,000,000 cases (PostgreSQL only)
    .venv/bin/python bench/scale_3m.py --cases 1000000    # the same city at 1,000,000
    .venv/bin/python bench/scale_3m.py --keep scale_3m    # build once into a kept database, then
                                                          # reuse it (migrated to the checkout's
                                                          # head first) to time another checkout

The city is bench/citygen.py's (COPY), `--districts` 10 and `--years` 3; each district's
supervisor asks for their own district (a tenth of the cases). Timed, median of 3 after a warm-up
call, in a process settled as `closeloop serve` settles (cli.settle_memory), as the district's
supervisor unless said, each beside a raw baseline where one exists:
- list: the case list's first page (closeloop.cases.service.list_cases, 20 newest) beside the raw
  SELECT … ORDER BY reported_at DESC LIMIT 20 of the district with its count (the list's total);
- case page: closeloop.cases.views.case_view of one case beside SELECT of the case and its history;
- dashboard: closeloop.reports.dashboard.dashboard();
- escalation sweep: the read-only sweep of the whole city (closeloop.escalation.sweep — what a
  run reads before it writes) beside `SELECT count(*)` of the late cases;
- monthly report: closeloop.reports.service.generate of last month for the district (HTML, PDF,
  XLSX, 通报; rolled back, nothing kept), once.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("CLOSELOOP_BENCH_CODE"):
    sys.path.insert(0, os.environ["CLOSELOOP_BENCH_CODE"])

from sqlalchemy import Engine, text  # noqa: E402

from bench.citygen import NOW, build  # noqa: E402
from bench.dashboard import kept, supervisor  # noqa: E402
from bench.escalation_sweep import database  # noqa: E402
from cli import settle_memory  # noqa: E402
from closeloop.calendar.service import load_calendar  # noqa: E402
from closeloop.cases import service as cases  # noqa: E402
from closeloop.cases import views  # noqa: E402
from closeloop.cases.service import CaseFilter  # noqa: E402
from closeloop.config import get_settings  # noqa: E402
from closeloop.db import make_engine, new_session, upgrade  # noqa: E402
from closeloop.escalation.policy import load_policy  # noqa: E402
from closeloop.escalation.sweep import SweepContext, load_classes, sweep  # noqa: E402
from closeloop.reports import dashboard as dashboards  # noqa: E402
from closeloop.reports import periods  # noqa: E402
from closeloop.reports import service as reports  # noqa: E402
from models.types import SHANGHAI  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int = 3, warm: bool = True) -> tuple[float, Any]:
    """Median of `repeat` calls, after one to warm up (a served process is warm: its pooled
    connections have their catalogs cached)."""
    times, result = [], None
    if warm:
        fn()
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def raw(engine: Engine, sql: str, **params: Any) -> Callable[[], Any]:
    def run() -> Any:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    return run


def in_session(engine: Engine, fn: Callable[[Any], Any], *, rollback: bool = False) -> Any:
    def run() -> Any:
        with new_session(engine) as s:
            out = fn(s)
            if rollback:
                s.rollback()
            return out

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3_000_000)
    parser.add_argument("--districts", type=int, default=10)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="build the city into this PostgreSQL database and keep it; if it exists already, "
        "migrate it to this checkout's head and reuse it (--cases etc. are then only printed)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        url, drop, built = (
            kept(True, args.keep) if args.keep else (*database(True, Path(tmp), "scale"), False)
        )
        try:
            t0 = time.perf_counter()
            upgrade(url)
            engine = make_engine(url)
            if built:
                how = f"kept database {args.keep}, migrated in {time.perf_counter() - t0:.0f} s"
            else:
                build(engine, cases=args.cases, districts=args.districts, years=args.years)
                how = f"built in {time.perf_counter() - t0:.0f} s"
            with engine.connect() as conn:
                total = conn.execute(text('SELECT count(*) FROM "case"')).scalar_one()
            print(
                f"PostgreSQL; {total:,} cases, {args.districts} districts, {args.years} years "
                f"({how}); now {NOW.isoformat()}"
            )
            sup = supervisor(engine)  # D0's
            settle_memory()  # as `closeloop serve` does once started: the timings below alike
            path = "/D0/%"
            rows: list[tuple[str, float, float | None, str]] = []

            base, _ = timed(
                raw(
                    engine,
                    # The page and its total, as the list answers them (one statement).
                    'SELECT *, (SELECT count(*) FROM "case" WHERE region_path LIKE :p) AS total '
                    'FROM "case" WHERE region_path LIKE :p '
                    "ORDER BY reported_at DESC, id DESC LIMIT 20",
                    p=path,
                )
            )
            spent, page = timed(
                in_session(
                    engine,
                    lambda s: cases.list_cases(
                        s, actor=sup, filters=CaseFilter(), page=1, page_size=20, now=NOW
                    ),
                )
            )
            rows.append(("list, first page", spent, base, f"{page.total:,} in the district"))
            case_id = page.items[0].id
            base, _ = timed(
                raw(
                    engine,
                    'SELECT * FROM "case" c LEFT JOIN case_history h ON h.case_id = c.id '
                    "WHERE c.id = :i",
                    i=case_id,
                )
            )
            spent, _ = timed(
                in_session(
                    engine, lambda s: views.case_view(s, actor=sup, case_id=case_id, now=NOW)
                )
            )
            rows.append(("case page", spent, base, f"case {case_id}"))
            spent, d = timed(
                in_session(engine, lambda s: dashboards.dashboard(s, actor=sup, now=NOW))
            )
            rows.append(("dashboard", spent, None, f"{d.overdue.total:,} overdue"))
            now_utc = NOW.astimezone(SHANGHAI)
            base, late = timed(
                raw(
                    engine,
                    "SELECT count(*) FROM \"case\" WHERE state IN ('dispatched', 'rectifying') "
                    "AND due_at < :now",
                    now=now_utc,
                )
            )

            def swept(s: Any) -> int:
                settings = get_settings()
                ctx = SweepContext(
                    NOW,
                    load_policy(settings.escalation_policy or None),
                    load_calendar(s, settings),
                    settings,
                    load_classes(s),
                )
                return len(sweep(s, ctx)[1])

            spent, found = timed(in_session(engine, swept))
            rows.append(
                ("escalation sweep", spent, base, f"{found:,} candidates, {late[0][0]:,} late")
            )
            last = periods.previous(periods.containing("monthly", NOW.date()), 1)[0]
            spent, _ = timed(
                in_session(
                    engine,
                    lambda s: reports.generate(
                        s, actor=sup, cadence="monthly", period=last.key, now=NOW
                    ),
                    rollback=True,
                ),
                repeat=1,
                warm=False,
            )
            rows.append(("monthly report", spent, None, f"{last.key}, district D0"))
            print(f"{'path':<18} {'time':>10} {'baseline':>10} {'ratio':>7}")
            for name, t, b, note in rows:
                ratio = f"{t / b:6.1f}x" if b else "      -"
                bt = f"{b * 1000:8.0f}ms" if b else "         -"
                print(f"{name:<18} {t * 1000:8.0f}ms {bt} {ratio}  {note}")
            engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
