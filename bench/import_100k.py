"""Ledger import: time and peak memory for 100,000 rows, beside a naive load of the same CSV.

    .venv/bin/python bench/import_100k.py [--rows 100000] [--batch-size 1000]

Writes a realistic ledger (every state, events and hazards, half the rows numbered, 1% bad rows)
into a temp dir, then measures, each in a fresh process so that the peak RSS is its own:
- naive: `list(csv.DictReader(…))` — the baseline; holds every row, so it grows with the file;
- import: `imports.import_file` into a fresh SQLite database (schema by closeloop.db.upgrade, the
  test organisation by tests.factories.build_org), committed.
Both run at a tenth of the size and at the full size: the naive peak grows tenfold, the import's
stays flat. Wall time is measured without tracemalloc; the tracemalloc peak in a second run.
"""

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The parent stays on the standard library: a child's ru_maxrss starts at its parent's peak.
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # tests.factories.NOW
COLUMNS = (
    "number",
    "kind",
    "title",
    "category_code",
    "grid_code",
    "unit_code",
    "grade",
    "state",
    "reported_at",
    "dispatched_at",
    "due_at",
    "closed_at",
)

STATES = [
    ("reported", 10),
    ("dispatched", 10),
    ("rectifying", 10),
    ("suspended", 5),
    ("verifying", 10),
    ("closed", 50),
    ("cancelled", 5),
]
CATEGORIES = ["0101", "0102", "0201"]
GRIDS = ["G1", "G2", "G3"]


def write_ledger(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    states = [s for s, weight in STATES for _ in range(weight)]
    start = datetime(2024, 1, 1, tzinfo=SHANGHAI)
    now = NOW.astimezone(SHANGHAI) - timedelta(days=1)
    span = int((now - start).total_seconds())
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            state = rng.choice(states)
            hazard = rng.random() < 0.2
            reported = start + timedelta(seconds=rng.randrange(span))
            dispatched = closed = due = None
            if state not in ("reported", "cancelled"):
                dispatched = min(reported + timedelta(hours=rng.randint(1, 48)), now)
                if rng.random() < 0.1:
                    due = dispatched + timedelta(days=rng.randint(3, 20))
            if state == "closed":
                closed = min((dispatched or reported) + timedelta(days=rng.randint(1, 15)), now)
            grade = ("major" if rng.random() < 0.05 else "general") if hazard else ""
            writer.writerow(
                [
                    f"TZ{i:08d}" if i % 2 else "",
                    "hazard" if hazard else "event",
                    f"台账事项 {i} 占道经营、污水冒溢或施工安全",
                    rng.choice(CATEGORIES),
                    "G404" if rng.random() < 0.01 else rng.choice(GRIDS),  # 1% bad rows
                    "",
                    grade,
                    state,
                    reported.strftime("%Y-%m-%d %H:%M:%S"),  # no offset: Shanghai
                    dispatched.isoformat() if dispatched else "",
                    due.date().isoformat() if due else "",
                    closed.isoformat() if closed else "",
                ]
            )


def phase_naive(csv_path: Path) -> dict[str, object]:
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {"rows": len(rows)}


def phase_import(csv_path: Path, db_url: str, batch_size: int) -> dict[str, object]:
    from sqlalchemy import func, select

    from closeloop.auth import service as auth
    from closeloop.db import make_engine, new_session, transaction
    from closeloop.imports import service as imports
    from models.case import Case
    from models.user import User

    engine = make_engine(db_url)
    with new_session(engine) as s:
        user = s.execute(select(User).where(User.username == "admin")).scalar_one()
        admin = auth.principal_of(s, user)
    with transaction(engine) as session, csv_path.open("rb") as handle:
        result = imports.import_file(
            session,
            actor=admin,
            fileobj=handle,
            filename=csv_path.name,
            now=NOW,
            batch_size=batch_size,
        )
    with new_session(engine) as s:
        stored = s.execute(select(func.count()).select_from(Case)).scalar_one()
    return {
        "imported": result["imported"],
        "rejected": result["rejected_count"],
        "stored": stored,
    }


def prepare_db(db_url: str) -> None:
    """A fresh database with the test organisation (in the parent, so that the password hashing
    and the migrations do not count towards the measured process's peak memory)."""
    from closeloop.db import make_engine, transaction, upgrade
    from tests.factories import build_org

    upgrade(db_url)
    engine = make_engine(db_url)
    with transaction(engine) as session:
        build_org(session)
    engine.dispose()


def rss_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in KiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(args: argparse.Namespace) -> None:
    """One measurement in this fresh process; prints a JSON line."""
    csv_path = Path(args.csv)
    if args.phase == "prepare":
        prepare_db(args.db)
        print("{}")
        return
    if args.phase == "import":  # load what the import needs before the measurement starts
        from closeloop.imports import files as ledger_files
        from models.case import Case  # noqa: F401

        assert ledger_files.COLUMNS == COLUMNS
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    rss_before = rss_kb("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.trace:
        tracemalloc.start()
    started = time.perf_counter()
    if args.phase == "naive":
        info = phase_naive(csv_path)
    else:
        info = phase_import(csv_path, args.db, args.batch_size)
    seconds = time.perf_counter() - started
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    info.update(
        seconds=seconds,
        maxrss_kb=maxrss,
        maxrss_growth_kb=maxrss - maxrss_before,
        hwm_growth_kb=rss_kb("VmHWM") - rss_before,
    )
    if args.trace:
        info["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps(info))


def measure(phase: str, csv_path: Path, workdir: Path, batch_size: int, trace: bool) -> dict:
    db = f"sqlite:///{workdir / f'{phase}-{csv_path.stem}-{int(trace)}.db'}"
    if phase == "import":
        run_child("prepare", csv_path, db, batch_size, trace=False)
    return run_child(phase, csv_path, db, batch_size, trace)


def run_child(phase: str, csv_path: Path, db: str, batch_size: int, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--csv", str(csv_path), "--db", db]
    cmd += ["--batch-size", str(batch_size)] + (["--trace"] if trace else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:7.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--phase", choices=["prepare", "naive", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args)
        return

    with tempfile.TemporaryDirectory(prefix="closeloop-bench-") as tmp:
        workdir = Path(tmp)
        sizes = sorted({max(args.rows // 10, 1), args.rows})
        print(f"ledger import benchmark: {sizes} rows, batch size {args.batch_size}, SQLite")
        print(
            f"{'rows':>8} {'what':<7} {'wall s':>8} {'rows/s':>8} {'tracemalloc peak':>17} "
            f"{'ru_maxrss':>12} {'maxrss growth':>14} {'RSS growth':>12}  result"
        )
        for rows in sizes:
            csv_path = workdir / f"ledger_{rows}.csv"
            write_ledger(csv_path, rows)
            size = csv_path.stat().st_size
            for phase in ("naive", "import"):
                timed = measure(phase, csv_path, workdir, args.batch_size, trace=False)
                traced = measure(phase, csv_path, workdir, args.batch_size, trace=True)
                result = {k: v for k, v in timed.items() if k in ("rows", "imported", "rejected")}
                print(
                    f"{rows:>8} {phase:<7} {timed['seconds']:>8.2f} "
                    f"{rows / timed['seconds']:>8.0f} {mib(traced['traced_peak']):>17} "
                    f"{mib(timed['maxrss_kb'] * 1024):>12} "
                    f"{mib(timed['maxrss_growth_kb'] * 1024):>14} "
                    f"{mib(timed['hwm_growth_kb'] * 1024):>12}  {result}"
                )
            print(f"{'':>8} (CSV file {mib(size).strip()})")


if __name__ == "__main__":
    main()
