"""The case list's XLSX export of 10,000 and 100,000 cases: rows per second and peak memory,
beside the raw SELECT of the same rows, in the same run.

    .venv/bin/python bench/export_xlsx.py            # SQLite (a temp file)
    .venv/bin/python bench/export_xlsx.py --pg       # PostgreSQL (CLOSELOOP_TEST_PG_URL's server)

The cases are written with Core inserts over Luohu's shape (bench/metrics_1m.py's fill). Each
measurement runs in a fresh child process so that its peak RSS (VmHWM) is its own:
- baseline: the raw SELECT of the export's columns, in the list's order, every row fetched
  (streamed, as the export reads them);
- export: `closeloop.cases.service.write_xlsx` for an admin, no filter, into a spooled temporary
  file as `GET /api/v1/cases.xlsx` does. Bounded memory means its peak stays close to the
  baseline's and does not grow ten times from 10k to 100k rows.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = (10_000, 100_000)


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(url: str, what: str) -> None:
    from datetime import datetime

    from sqlalchemy import text

    from closeloop.auth.policy import Principal
    from closeloop.cases import service as cases
    from closeloop.db import make_engine, new_session
    from models.enums import Role
    from models.types import SHANGHAI

    engine = make_engine(url)
    now = datetime(2025, 1, 6, 8, 0, tzinfo=SHANGHAI)
    t0 = time.perf_counter()
    if what == "baseline":
        sql = text(
            "SELECT number, kind, state, title, category_code, street_code, community_code, "
            "grid_code, address, unit_code, grade, urgent, listed, reported_at, dispatched_at, "
            'due_at, closed_at, rework_count FROM "case" ORDER BY reported_at DESC, id DESC'
        )
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(sql)
            n = sum(1 for _ in result)
        size = 0
    else:
        admin = Principal(
            id=None,
            username="bench",
            display_name="bench",
            role=Role.admin,
            unit_code=None,
            region_code=None,
            region_path=None,
        )
        with new_session(engine) as session, tempfile.SpooledTemporaryFile(4 << 20) as out:
            n = cases.write_xlsx(session, actor=admin, filters=cases.CaseFilter(), now=now, out=out)
            size = out.tell()
    wall = time.perf_counter() - t0
    print(json.dumps({"rows": n, "wall": wall, "peak_kb": peak_rss_kb(), "bytes": size}))


def measure(url: str, what: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, "--url", url],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--child", choices=("baseline", "export"))
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child:
        child(args.url, args.child)
        return
    from bench.escalation_sweep import database
    from bench.metrics_1m import fill
    from closeloop.db import make_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        print(f"database: {'PostgreSQL' if args.pg else 'SQLite'}")
        print(f"{'cases':>8} {'what':<9} {'wall s':>8} {'rows/s':>9} {'peak RSS':>10} {'xlsx':>9}")
        for n in SIZES:
            url, drop = database(args.pg, Path(tmp), f"export_{n}")
            try:
                upgrade(url)
                engine = make_engine(url)
                fill(engine, n)
                engine.dispose()
                for what in ("baseline", "export"):
                    m = measure(url, what)
                    assert m["rows"] == n, m
                    print(
                        f"{n:>8} {what:<9} {m['wall']:>8.2f} {m['rows'] / m['wall']:>9,.0f} "
                        f"{m['peak_kb'] / 1024:>8.1f}MB {m['bytes'] / 1048576:>7.1f}MB"
                    )
            finally:
                drop()


if __name__ == "__main__":
    main()
