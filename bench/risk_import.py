"""Risk-report ledger import at Guangming's size (84,262 reports, 83,991 reviewed), beside raw
inserts of the same rows.

    .venv/bin/python bench/risk_import.py        # SQLite (a temp file)
    .venv/bin/python bench/risk_import.py --pg   # PostgreSQL: a throwaway database on the
                                                 # server of CLOSELOOP_TEST_PG_URL

Measured in the same run, each into a fresh database holding the test organisation and two
places: baseline — raw Core INSERTs of the rows the import writes (numbers, levels and times
already parsed, no checks); import — `risk_import.import_reports` reading the CSV, checking every
row against the rules and writing in batches, committed. The review rate is printed as a check.
"""

import argparse
import io
import os
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert  # noqa: E402

from bench.org_import import CPU, fresh, timed  # noqa: E402
from closeloop.db import new_session, transaction  # noqa: E402
from closeloop.safety import risk_figures, risk_import  # noqa: E402
from models.risk import RiskReport  # noqa: E402
from tests.factories import build_org  # noqa: E402
from tests.safety.risk_factories import add_enterprise  # noqa: E402

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)
N, REVIEWED = 84_262, 83_991


def ledger() -> tuple[bytes, list[dict[str, Any]]]:
    lines = ["number,risk_point_code,enterprise_code,level,reported_at,reviewed_at,decision"]
    rows = []
    for i in range(N):
        day = date(2025, 1, 1) + timedelta(days=i % 240)
        reported = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
        done = reported + timedelta(days=1, hours=6) if i < REVIEWED else None
        lines.append(
            f"GM{i:07d},,P{1 if i % 3 else 3},low,{day} 09:00,"
            f"{f'{day + timedelta(days=1)} 15:00' if done else ''},{'approve' if done else ''}"
        )
        rows.append(
            {
                "number": f"GM{i:07d}",
                "enterprise_code": f"P{1 if i % 3 else 3}",
                "name": "",
                "level": "low",
                "content": "",
                "measures": "",
                "region_path": "/",
                "reported_at": reported,
                "review_due_at": reported + timedelta(days=3),
                "state": "approved" if done else "pending",
                "reviewed_at": done,
                "reason": "",
            }
        )
    return ("\n".join(lines) + "\n").encode("utf-8"), rows


def prepare(engine: Engine) -> dict[str, Any]:
    with transaction(engine) as s:
        org = build_org(s)
        add_enterprise(s, "P1", "G1")
        add_enterprise(s, "P3", "G3")
    return org


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    args = parser.parse_args()
    data, rows = ledger()
    print(
        f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {N:,} reports, {REVIEWED:,} reviewed"
    )

    def raw(engine: Engine) -> int:
        prepare(engine)
        with engine.begin() as conn:
            conn.execute(insert(RiskReport.__table__), rows)  # type: ignore[attr-defined]
        return len(rows)

    def imported(engine: Engine) -> tuple[int, float | None]:
        org = prepare(engine)
        with transaction(engine) as s:
            result = risk_import.import_reports(
                s, actor=org["admin"], fileobj=io.BytesIO(data), filename="gm.csv", now=NOW
            )
        assert result["rejected_count"] == 0, result["rejected"][:3]
        with new_session(engine) as s:
            figures = risk_figures.report_figures(
                s, actor=org["sup"], date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), now=NOW
            )
        return result["imported"], figures["review_rate"]

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        base, _ = fresh(args.pg, Path(tmp), "raw", lambda e: timed(lambda: raw(e)))
        took, (count, rate) = fresh(
            args.pg, Path(tmp), "import", lambda e: timed(lambda: imported(e))
        )
    print(f"  {'':<44} {'wall':>7}   {'CPU':>7}")
    print(f"  {'baseline: raw inserts of the parsed rows':<44} {base:6.2f} s {CPU[0]:6.2f} s")
    print(
        f"  {'import: CSV read, checked, written':<44} {took:6.2f} s {CPU[1]:6.2f} s"
        f"   {count:,} rows, {count / took:,.0f} rows/s, review rate {rate}"
    )


if __name__ == "__main__":
    main()
