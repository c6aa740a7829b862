"""Ledger import speed and memory beside the driver's own bulk write of the same rows.

    .venv/bin/python bench/import_rows.py [--rows 100000 1000000] [--pg] [--code DIR]

For each size, a realistic ledger (bench/import_100k.py's: every state, events and hazards, half
the rows numbered, 1% bad rows) is written to a temp dir; then, each in a fresh process on a fresh
database (schema by closeloop.db.upgrade, the test organisation by tests.factories.build_org):
- baseline: the driver alone writes the same good rows — a case row and its history row each,
  ids drawn per batch of 1,000 — with `executemany` (SQLite) or `COPY … FROM STDIN` (PostgreSQL),
  from `csv.reader`, skipping the bad rows by their grid, in one transaction; the floor the import
  is held against;
- import: `closeloop.imports.service.import_file` (what `closeloop import` runs), one transaction.
Printed: wall seconds, rows/s, the process's CPU seconds, on PostgreSQL the CPU seconds of the
server's backend process doing the work (read from /proc: the server must run on this machine;
"-" if it cannot be read), the peak RSS of the process (VmHWM, reset when the measured work
starts) and its growth, and the import's rows/s as a share of the baseline's in the same run.
`--pg` uses a throwaway database per measurement on the server of CLOSELOOP_TEST_PG_URL.
`--code DIR` imports the application from another checkout (e.g. `git archive main` unpacked), to
measure the code before a change with the same benchmark.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from import_100k import NOW, rss_kb, write_ledger  # noqa: E402

GOOD_GRIDS = {"G1": "/D1/S1/C1/G1/", "G2": "/D1/S1/C1/G2/", "G3": "/D1/S2/C2/G3/"}
BATCH = 1000
CASE_COLUMNS = (
    "id number kind state title category_code grid_code street_code community_code region_path "
    "grade reported_at dispatched_at due_at closed_at description address urgent "
    "deadline_version due_estimated listed rework_count emergency version updated_at"
).split()
HISTORY_COLUMNS = "case_id seq action to_state actor at data".split()


def backend_cpu(pid: int) -> float | None:
    """The CPU seconds so far of PostgreSQL's backend process `pid`, or None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int, before: float | None) -> dict[str, object]:
    after = backend_cpu(pid)
    return {"server_cpu": None if before is None or after is None else after - before}


def prepare(url: str, code: str) -> None:
    sys.path.insert(0, code)
    from closeloop.db import make_engine, transaction, upgrade
    from tests.factories import build_org

    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as session:
        build_org(session)
    engine.dispose()


def case_rows(csv_path: Path, now_text: str):  # type: ignore[no-untyped-def]
    """The good rows of the ledger as (case values without id, history values without case id)."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = {name: i for i, name in enumerate(header)}
        for i, row in enumerate(reader):
            grid = row[at["grid_code"]]
            path = GOOD_GRIDS.get(grid)
            if path is None:
                continue
            parts = path.split("/")

            def cell(name: str, row: list[str] = row) -> str | None:
                return row[at[name]] or None

            state = row[at["state"]]
            case = [
                cell("number") or f"BL{i:09d}",
                row[at["kind"]],
                state,
                row[at["title"]],
                row[at["category_code"]],
                grid,
                parts[2],
                parts[3],
                path,
                cell("grade"),
                row[at["reported_at"]],
                cell("dispatched_at"),
                cell("due_at"),
                cell("closed_at"),
                "",
                "",
                False,
                1,
                False,
                False,
                0,
                False,
                1,
                now_text,
            ]
            history = [1, "import", state, "bench", now_text, json.dumps({"row": i + 2})]
            yield case, history


def phase_baseline(csv_path: Path, url: str) -> dict[str, object]:
    """The driver alone: executemany (SQLite) or COPY (PostgreSQL), batches of 1,000."""
    now_text = NOW.isoformat()
    written = 0
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        next_id = (conn.execute('SELECT max(id) FROM "case"').fetchone()[0] or 0) + 1
        case_sql = (
            f'INSERT INTO "case" ({", ".join(CASE_COLUMNS)}) '
            f"VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
        )
        history_sql = (
            f"INSERT INTO case_history ({', '.join(HISTORY_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(HISTORY_COLUMNS))})"
        )
        for cases, histories in batches(csv_path, now_text):
            ids = range(next_id, next_id + len(cases))
            next_id += len(cases)
            conn.executemany(case_sql, [[i, *c] for i, c in zip(ids, cases, strict=True)])
            conn.executemany(history_sql, [[i, *h] for i, h in zip(ids, histories, strict=True)])
            written += len(cases)
        conn.execute("COMMIT")
        conn.close()
    else:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            pid = conn.info.backend_pid
            server = backend_cpu(pid)
            for cases, histories in batches(csv_path, now_text):
                cur.execute(
                    "SELECT nextval(pg_get_serial_sequence('\"case\"', 'id')) "
                    "FROM generate_series(1, %s)",
                    (len(cases),),
                )
                ids = [r[0] for r in cur.fetchall()]
                with cur.copy(f'COPY "case" ({", ".join(CASE_COLUMNS)}) FROM STDIN') as copy:
                    for i, c in zip(ids, cases, strict=True):
                        copy.write_row([i, *c])
                with cur.copy(
                    f"COPY case_history ({', '.join(HISTORY_COLUMNS)}) FROM STDIN"
                ) as copy:
                    for i, h in zip(ids, histories, strict=True):
                        copy.write_row([i, *h])
                written += len(cases)
            conn.commit()
            return {"imported": written, **server_cpu(pid, server)}
    return {"imported": written}


def batches(csv_path: Path, now_text: str):  # type: ignore[no-untyped-def]
    cases: list[list[object]] = []
    histories: list[list[object]] = []
    for case, history in case_rows(csv_path, now_text):
        cases.append(case)
        histories.append(history)
        if len(cases) == BATCH:
            yield cases, histories
            cases, histories = [], []
    if cases:
        yield cases, histories


def phase_import(csv_path: Path, url: str, code: str) -> dict[str, object]:
    sys.path.insert(0, code)
    from sqlalchemy import select, text

    from closeloop.auth import service as auth
    from closeloop.db import make_engine, new_session, transaction
    from closeloop.imports import service as imports
    from models.user import User

    engine = make_engine(url)
    with new_session(engine) as s:
        user = s.execute(select(User).where(User.username == "admin")).scalar_one()
        admin = auth.principal_of(s, user)
    pg = engine.dialect.name == "postgresql"
    with transaction(engine) as session, csv_path.open("rb") as handle:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one() if pg else 0
        server = backend_cpu(pid) if pg else None
        result = imports.import_file(
            session, actor=admin, fileobj=handle, filename=csv_path.name, now=NOW
        )
        session.commit()
        done = server_cpu(pid, server) if pg else {}
    return {
        "imported": result["imported"],
        "rejected": result["rejected_count"],
        **done,
    }


def child(args: argparse.Namespace) -> None:
    if args.phase == "prepare":
        prepare(args.db, args.code)
        print("{}")
        return
    if args.phase == "import":  # load the application before the measurement starts
        sys.path.insert(0, args.code)
        import sqlalchemy  # noqa: F401

        import closeloop.imports.service  # noqa: F401
    else:
        import sqlite3  # noqa: F401

        import psycopg  # noqa: F401
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    before = rss_kb("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    if args.phase == "baseline":
        info = phase_baseline(Path(args.csv), args.db)
    else:
        info = phase_import(Path(args.csv), args.db, args.code)
    info["seconds"] = time.perf_counter() - started
    info["cpu"] = time.process_time() - cpu
    info["peak_kb"] = rss_kb("VmHWM")
    info["growth_kb"] = rss_kb("VmHWM") - before
    print(json.dumps(info))


def run(phase: str, csv_path: Path, db: str, code: str) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--phase", phase, "--csv", str(csv_path), "--db", db]
    out = subprocess.run(
        [*cmd, "--code", code], check=True, capture_output=True, text=True, cwd=code
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


class Databases:
    """A fresh database per measurement: a SQLite file, or a throwaway PostgreSQL database."""

    def __init__(self, pg: bool, tmp: Path) -> None:
        self.pg, self.tmp = pg, tmp
        self.made: list[str] = []

    def new(self) -> str:
        name = f"closeloop_bench_{uuid.uuid4().hex[:8]}"
        if not self.pg:
            return f"sqlite:///{self.tmp / name}.db"
        self._admin(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        server = os.environ["CLOSELOOP_TEST_PG_URL"]
        return server.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        for name in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        dsn = os.environ["CLOSELOOP_TEST_PG_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


def mib(kb: object) -> str:
    return f"{int(kb) / 1024:7.1f} MiB"  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose import is measured")
    parser.add_argument(
        "--phase", choices=["prepare", "baseline", "import"], help=argparse.SUPPRESS
    )
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args)
        return
    code = str(Path(args.code).resolve())
    what = "COPY" if args.pg else "executemany"
    print(
        f"ledger import vs the driver's {what}: {'PostgreSQL' if args.pg else 'SQLite'}, "
        f"code {code}; a loaded shared 2-core machine: compare the ratios"
    )
    print(
        f"{'rows':>9} {'what':<12} {'wall s':>8} {'rows/s':>8} {'cpu s':>7} {'server':>7} "
        f"{'peak RSS':>12} "
        f"{'RSS growth':>12} {'share':>6}  result"
    )
    with tempfile.TemporaryDirectory(prefix="closeloop-bench-") as tmp:
        dbs = Databases(args.pg, Path(tmp))
        try:
            for rows in args.rows:
                csv_path = Path(tmp) / f"ledger_{rows}.csv"
                write_ledger(csv_path, rows)
                results = {}
                for phase in ("baseline", "import"):
                    db = dbs.new()
                    run("prepare", csv_path, db, code)
                    results[phase] = r = run(phase, csv_path, db, code)
                    rate = rows / float(r["seconds"])  # type: ignore[arg-type]
                    share = rate / (rows / float(results["baseline"]["seconds"]))  # type: ignore[arg-type]
                    shown = {k: v for k, v in r.items() if k in ("imported", "rejected")}
                    used = r.get("server_cpu")
                    server = "-" if used is None else f"{used:.2f}"
                    label = what if phase == "baseline" else "import"
                    print(
                        f"{rows:>9} {label:<12} {r['seconds']:>8.2f} {rate:>8.0f} {r['cpu']:>7.2f} "
                        f"{server:>7} "
                        f"{mib(r['peak_kb']):>12} {mib(r['growth_kb']):>12} {share:>6.0%}  {shown}"
                    )
                csv_path.unlink()
        finally:
            dbs.drop_all()


if __name__ == "__main__":
    main()
