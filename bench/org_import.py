"""Organisation workbook import at Luohu's shape, beside raw inserts of the same rows.

    .venv/bin/python bench/org_import.py            # SQLite (a temp file)
    .venv/bin/python bench/org_import.py --pg       # PostgreSQL: a throwaway database on the
                                                    # server of CLOSELOOP_TEST_PG_URL
    .venv/bin/python bench/org_import.py --passwords  # every user row carries a password

The workbook (tests/org/luohu.py): 1 district, 10 streets, 90 communities, 1,135 grids, 30 units,
16 classes / 124 items, 300 users without passwords (each gets a one-time password). Measured in
the same run, each into a fresh database:
- baseline: raw Core `INSERT`s of the same rows (paths precomputed, one shared password hash), no
  checks — what the database itself costs;
- read: parsing the XLSX into sheets (openpyxl, read-only);
- import: `import_org` — every row through the org service's rules (new rows in batches, one
  flush per sheet and level), committed;
- again: the same file once more (every row exists and is unchanged: counted as updated).
With --passwords each of the 300 users has a password in the workbook, hashed at full argon2
cost (~0.1 s each): the figure shows why the template leaves the column empty.
"""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert  # noqa: E402

from bench.escalation_sweep import database  # noqa: E402
from closeloop.auth import security  # noqa: E402
from closeloop.auth.policy import SYSTEM  # noqa: E402
from closeloop.db import make_engine, transaction, upgrade  # noqa: E402
from closeloop.org.workbook.service import import_org  # noqa: E402
from closeloop.org.workbook.sheets import read_workbook  # noqa: E402
from models.org import Category, Region, Unit  # noqa: E402
from models.user import User  # noqa: E402
from tests.org.luohu import luohu_sheets, to_xlsx  # noqa: E402

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)
CPU: list[float] = []


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time (this process's CPU time is printed beside it: on a busy machine the two part)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start, result


def raw_insert(engine: Engine, sheets: dict[str, list[list[object]]]) -> int:
    def records(name: str) -> list[dict[str, Any]]:
        header, *rows = sheets[name]
        return [dict(zip([str(h) for h in header], row, strict=True)) for row in rows]

    paths: dict[str, str] = {}
    regions = []
    for r in records("regions"):
        parent = r["parent_code"]
        paths[r["code"]] = f"{paths[parent] if parent else '/'}{r['code']}/"
        regions.append({**r, "path": paths[r["code"]], "active": True})
    units = [{**r, "active": True} for r in records("units")]
    categories = [{**r, "active": True} for r in records("categories")]
    shared = security.hash_one_time_password("one-shared-password")
    users = [
        {
            **{k: v for k, v in r.items() if k != "password"},
            "email": None,
            "password_hash": shared,
            "active": True,
            "token_generation": 0,
            "must_change_password": True,
            "created_at": NOW,
        }
        for r in records("users")
    ]
    with engine.begin() as conn:
        for model, rows in (
            (Region, regions),
            (Unit, units),
            (Category, categories),
            (User, users),
        ):
            conn.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]
    return len(regions) + len(units) + len(categories) + len(users)


def run_import(engine: Engine, data: bytes) -> dict[str, Any]:
    with transaction(engine) as session:
        result = import_org(session, data=data, filename="luohu.xlsx", actor=SYSTEM, now=NOW)
    assert not result["rejected"], result["rejected"][:5]
    return dict(result)


def fresh(pg: bool, tmp: Path, name: str, work: Callable[[Engine], Any]) -> Any:
    url, drop = database(pg, tmp, name)
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            return work(engine)
        finally:
            engine.dispose()
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--passwords", action="store_true", help="every user row has a password")
    args = parser.parse_args()
    sheets = luohu_sheets(passwords=args.passwords)
    data = to_xlsx(sheets)
    rows = sum(len(rows) - 1 for rows in sheets.values())
    print(
        f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {rows:,} rows "
        f"({', '.join(f'{name} {len(r) - 1:,}' for name, r in sheets.items())}); "
        f"XLSX {len(data) / 1024:.0f} KiB; passwords in the workbook: {args.passwords}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CLOSELOOP_DATA_DIR", str(Path(tmp) / "data"))
        base, _ = fresh(args.pg, Path(tmp), "raw", lambda e: timed(lambda: raw_insert(e, sheets)))
        read, _ = timed(lambda: read_workbook(data, "luohu.xlsx"))

        def both(engine: Engine) -> tuple[tuple[float, Any], tuple[float, Any]]:
            return timed(lambda: run_import(engine, data)), timed(lambda: run_import(engine, data))

        (first, created), (again, updated) = fresh(args.pg, Path(tmp), "import", both)
    cpu = dict(zip(("base", "read", "first", "again"), CPU, strict=True))
    print(f"  {'':<38} {'wall':>7}   {'CPU':>7}")
    for label, wall, key, note in (
        ("baseline: raw inserts, no checks", base, "base", ""),
        ("read: the XLSX into sheets", read, "read", ""),
        ("import (empty database), committed", first, "first", f"created {created['created']}"),
        ("import again (all unchanged)", again, "again", f"updated {updated['updated']}"),
    ):
        print(f"  {label:<38} {wall:6.2f} s {cpu[key]:6.2f} s   {note}")


if __name__ == "__main__":
    main()
