"""Reads over HTTP: a case, a list page and the lists' filters, beside their raw SQL plus the
HTTP floor (`GET /healthz`), all measured in the same run.

    .venv/bin/python bench/reads.py              # SQLite (a temp file)
    .venv/bin/python bench/reads.py --pg         # PostgreSQL (CLOSELOOP_TEST_PG_URL's server)
    .venv/bin/python bench/reads.py --cases 20000 --repeat 20

A district of 10 streets, 270 grids and 10 units with `--cases` cases (default 100,000) over the
last year, in every state, is written with Core inserts. The app is served by uvicorn in its own
process (one worker) over real HTTP on 127.0.0.1; a supervisor of the district and a handler of
one unit sign in through the API. Each path is requested `--repeat` times (keep-alive, one
client) and its median is the figure. Its baseline is the median of the raw SQL that produces the
same rows (for a list: the count and the page), run through the same driver on a pooled
connection, plus the median `/healthz` round trip (the floor: what any answer costs). The goal is
figure ≤ 1.5 × baseline. The rows the API answers are checked against the raw ones.
"""

import argparse
import os
import socket
import statistics
import subprocess
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

import httpx  # noqa: E402
from sqlalchemy import Engine, insert, text  # noqa: E402

from bench.escalation_sweep import database  # noqa: E402
from bench.metrics_1m import UNITS, organisation  # noqa: E402
from closeloop.auth import security  # noqa: E402
from closeloop.db import make_engine, transaction, upgrade  # noqa: E402
from models.case import Case, CaseRequest  # noqa: E402
from models.org import Category  # noqa: E402
from models.user import User  # noqa: E402

BATCH = 10_000
PASSWORD = "bench-password-1"
PAGE = 50  # GET /api/v1/cases's default page size
# (state, share in 100): every state of the lifecycle.
STATES = [
    ("reported", 8),
    ("dispatched", 8),
    ("rectifying", 20),
    ("suspended", 2),
    ("verifying", 7),
    ("closed", 50),
    ("cancelled", 5),
]
STATE_OF = [s for s, n in STATES for _ in range(n)]
ITEMS = ["0101", "0102", "0201", "0202"]


def fill(engine: Engine, n: int, now: datetime) -> None:
    grids = organisation(engine)
    with transaction(engine) as s:
        s.add(Category(code="0102", name="小类2", parent_code="01", unit_code="U01", limit_days=5))
        s.add(Category(code="02", name="大类2"))
        s.flush()
        for code in ("0201", "0202"):
            s.add(Category(code=code, name=f"小类{code}", parent_code="02", limit_days=10))
        hashed = security.hash_password(PASSWORD)
        for username, role, unit, region in (
            ("sup", "supervisor", None, "D"),
            ("hdl", "handler", "U03", None),
        ):
            s.add(
                User(
                    username=username,
                    display_name=username,
                    role=role,
                    unit_code=unit,
                    region_code=region,
                    password_hash=hashed,
                    created_at=now,
                )
            )
        s.flush()
        handler_id = s.exec(text("SELECT id FROM \"user\" WHERE username = 'hdl'")).scalar_one()  # type: ignore[call-overload]
    start = now - timedelta(days=365)
    table = Case.__table__  # type: ignore[attr-defined]
    requests = CaseRequest.__table__  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = []
    reqs: list[dict[str, Any]] = []
    for i in range(n):
        grid, street, comm, path = grids[i % len(grids)]
        state = STATE_OF[(i * 37) % 100]
        reported = start + timedelta(seconds=i * 31_536_000 // n)
        dispatched = None if state in ("reported", "cancelled") else reported + timedelta(hours=2)
        due = dispatched + timedelta(days=7 + i % 5) if dispatched else None
        rows.append(
            {
                "id": i + 1,
                "number": f"SJ{i:010d}",
                "kind": "hazard" if i % 20 == 0 else "event",
                "state": state,
                "title": f"基准案件 {i} 号：路面破损",
                "description": "路面有坑，影响通行。" * 3,
                "category_code": ITEMS[i % len(ITEMS)],
                "grid_code": grid,
                "street_code": street,
                "community_code": comm,
                "region_path": path,
                "address": f"测试路 {i % 997} 号",
                "unit_code": UNITS[i % 10] if dispatched else None,
                "grade": "general" if i % 20 == 0 else None,
                "urgent": i % 13 == 0,
                "reported_at": reported,
                "dispatched_at": dispatched,
                "sign_due_at": dispatched + timedelta(hours=2) if dispatched else None,
                "signed_at": dispatched if state not in ("reported", "dispatched") else None,
                "due_at": due,
                "deadline_version": 1 if dispatched else 0,
                "due_estimated": False,
                "closed_at": due - timedelta(days=1) if state == "closed" and due else None,
                "cancelled_at": reported if state == "cancelled" else None,
                "listed": False,
                "rework_count": 0,
                "version": 1,
                "updated_at": reported,
            }
        )
        if state == "rectifying" and i % 7 == 0:  # some pending extension requests
            reqs.append(
                {
                    "case_id": i + 1,
                    "type": "extension",
                    "status": "pending",
                    "days": 3,
                    "reason": "基准",
                    "requested_by": handler_id,
                    "requested_at": reported + timedelta(days=1),
                }
            )
        if len(rows) >= BATCH:
            _flush(engine, table, requests, rows, reqs)
    _flush(engine, table, requests, rows, reqs)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text('ANALYZE "case"'))
            conn.execute(text("ANALYZE case_request"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('case', 'id'), :n)"), {"n": n})
        else:
            conn.execute(text("ANALYZE"))


def _flush(engine: Engine, table: Any, requests: Any, rows: list, reqs: list) -> None:  # type: ignore[type-arg]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(table), rows)
        if reqs:
            conn.execute(insert(requests), reqs)
    rows.clear()
    reqs.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# As `closeloop serve` runs the app: start-up's objects frozen out of the collector's
# generations (cli.settle_memory) before the first request.
SERVER = (
    "import uvicorn; from api.app import create_app; from cli import settle_memory; "
    "app = create_app(); settle_memory(); "
    "uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
)


def serve(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "CLOSELOOP_DATABASE_URL": url,
        "CLOSELOOP_DATA_DIR": str(data_dir),
        "CLOSELOOP_SCHEDULER": "off",
    }
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(port=port)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """The CPU time the server process has used so far, in seconds (user + system, all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def medians(
    fns: list[Callable[[], Any]], repeat: int, pid: int | None = None
) -> list[tuple[float, Any, float]]:
    """Each function's median time, last result and the server's CPU time per call (its mean:
    the clock ticks of /proc summed over the calls), the calls interleaved (a, b, c, a, b, c …)
    so that the load of a shared machine weighs on all of them alike."""
    results = [fn() for fn in fns]  # warm: the first call pays for imports, plans and caches
    times: list[list[float]] = [[] for _ in fns]
    cpu = [0.0 for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            c0 = server_cpu(pid) if pid else 0.0
            t0 = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - t0)
            cpu[i] += (server_cpu(pid) if pid else 0.0) - c0
    return [
        (statistics.median(t), r, c / repeat) for t, r, c in zip(times, results, cpu, strict=True)
    ]


# The raw SQL of each list (jurisdiction, then the filter), as search.py composes it.
ORDER = "ORDER BY reported_at DESC, id DESC"


def paths(handler_unit: str) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(label, who, API path, raw WHERE, raw parameters)."""
    sup = "region_path LIKE :jur"
    running = "state IN ('dispatched', 'rectifying') AND due_at < :now"
    text_q = "(title LIKE :q OR number LIKE :q OR address LIKE :q OR description LIKE :q)"  # noqa: S608
    return [
        ("list page", "sup", "/api/v1/cases", sup, {}),
        (
            "state=rectifying",
            "sup",
            "/api/v1/cases?state=rectifying",
            f"{sup} AND state = :s",
            {"s": "rectifying"},
        ),
        (
            "unit_code=U03",
            "sup",
            "/api/v1/cases?unit_code=U03",
            f"{sup} AND unit_code = :u",
            {"u": "U03"},
        ),
        (
            "region_code=S3",
            "sup",
            "/api/v1/cases?region_code=S3",
            f"{sup} AND region_path LIKE '/D/S3/%'",
            {},
        ),
        (
            "category_code=0102",
            "sup",
            "/api/v1/cases?category_code=0102",
            f"{sup} AND category_code = :c",
            {"c": "0102"},
        ),
        (
            "category_code=01 (class)",
            "sup",
            "/api/v1/cases?category_code=01",
            f"{sup} AND (category_code = :c OR category_code IN "
            "(SELECT code FROM category WHERE parent_code = :c))",
            {"c": "01"},
        ),
        ("overdue=true", "sup", "/api/v1/cases?overdue=true", f"{sup} AND {running}", {}),
        (
            "q=测试路 17 号",
            "sup",
            "/api/v1/cases?q=测试路 17 号",
            f"{sup} AND {text_q}",
            {"q": "%测试路 17 号%"},
        ),
        ("handler list", "hdl", "/api/v1/cases", "unit_code = :hu", {"hu": handler_unit}),
        (
            "handler state=rectifying",
            "hdl",
            "/api/v1/cases?state=rectifying",
            "unit_code = :hu AND state = :s",
            {"hu": handler_unit, "s": "rectifying"},
        ),
    ]


def raw_list(
    engine: Engine, where: str, params: dict[str, Any], overdue: bool
) -> Callable[[], Any]:
    order = "ORDER BY due_at, id" if overdue else ORDER
    count = text(f'SELECT count(*) FROM "case" WHERE {where}')  # noqa: S608
    page = text(f'SELECT * FROM "case" WHERE {where} {order} LIMIT {PAGE} OFFSET 0')  # noqa: S608

    def run() -> tuple[int, list[int]]:
        bound = {k: v() if callable(v) else v for k, v in params.items()}
        with engine.connect() as conn:
            total = conn.execute(count, bound).scalar_one()
            ids = [r.id for r in conn.execute(page, bound)]
        return int(total), ids

    return run


def raw_case(engine: Engine, case_id: int) -> Callable[[], Any]:
    one = text('SELECT * FROM "case" WHERE id = :id')

    def run() -> int:
        with engine.connect() as conn:
            return int(conn.execute(one, {"id": case_id}).one().id)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.pg, Path(tmp), "reads")
        proc = None
        try:
            upgrade(url)
            engine = make_engine(url)
            now = datetime.now(UTC).replace(microsecond=0)
            t0 = time.perf_counter()
            fill(engine, args.cases, now)
            print(
                f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {args.cases:,} cases "
                f"(built in {time.perf_counter() - t0:.1f} s); median of {args.repeat}"
            )
            proc, base = serve(url, Path(tmp) / "data")
            report(engine, base, args.repeat, now, proc.pid)
            engine.dispose()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
            drop()


def report(engine: Engine, base: str, repeat: int, now: datetime, pid: int) -> None:
    sqlite = engine.dialect.name == "sqlite"
    with httpx.Client(base_url=base, timeout=60) as client:
        headers = {}
        for who in ("sup", "hdl"):
            r = client.post("/api/v1/auth/token", data={"username": who, "password": PASSWORD})
            r.raise_for_status()
            headers[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def get(path: str, who: str) -> Callable[[], Any]:
            def run() -> Any:
                r = client.get(path, headers=headers[who])
                r.raise_for_status()
                return r.json()

            return run

        def healthz() -> None:
            client.get("/healthz").raise_for_status()

        print(
            f"{'path':<26} {'figure':>9} {'raw SQL':>9} {'floor':>8} {'baseline':>9} {'ratio':>6}"
            f" {'server CPU':>10} {'floor CPU':>9}  rows"
        )
        met = True

        def line(label: str, spent: float, raw: float, floor: float, shown: str) -> None:
            nonlocal met
            ratio = spent / (raw + floor)
            met = met and ratio <= 1.5
            print(
                f"{label:<26} {spent * 1000:7.2f}ms {raw * 1000:7.2f}ms {floor * 1000:6.2f}ms "
                f"{(raw + floor) * 1000:7.2f}ms {ratio:5.2f}x {cpu[0] * 1000:8.2f}ms "
                f"{cpu[1] * 1000:7.2f}ms  {shown}"
            )

        with engine.connect() as conn:
            ids = {
                s: conn.execute(
                    text('SELECT min(id) FROM "case" WHERE state = :s AND unit_code = :u'),
                    {"s": s, "u": "U03"},
                ).scalar_one()
                for s in ("rectifying", "closed")
            }
        for state, case_id in ids.items():
            for who in ("sup", "hdl"):
                (spent, body, api_cpu), (raw, got, _), (floor, _, floor_cpu) = medians(
                    [get(f"/api/v1/cases/{case_id}", who), raw_case(engine, case_id), healthz],
                    repeat,
                    pid,
                )
                cpu = (api_cpu, floor_cpu)
                assert body["id"] == got
                line(f"case ({state}, {who})", spent, raw, floor, "1")
        for label, who, path, where, params in paths("U03"):
            if ":jur" in where:
                params = {**params, "jur": "/D/%"}
            if ":now" in where:  # the server's clock, read at each call

                def clock() -> Any:
                    at = datetime.now(UTC)
                    return at.replace(tzinfo=None).isoformat(sep=" ") if sqlite else at

                params = {**params, "now": clock}
            overdue = "overdue" in path
            n = max(repeat // 3, 5) if "q=" in path else repeat
            (spent, body, api_cpu), (raw, (total, page_ids), _), (floor, _, floor_cpu) = medians(
                [get(path, who), raw_list(engine, where, params, overdue), healthz], n, pid
            )
            cpu = (api_cpu, floor_cpu)
            assert body["total"] == total, (label, body["total"], total)
            assert [c["id"] for c in body["items"]] == page_ids, label
            line(label, spent, raw, floor, f"{len(page_ids)} of {total:,}")
        print(f"goal (every path ≤ 1.5 × baseline): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
