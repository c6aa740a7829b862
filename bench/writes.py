"""Writes over HTTP: filing (`POST /api/v1/cases`) and a dispatch, 8 clients, beside the raw
statements the same operations need, in the same run.

    .venv/bin/python bench/writes.py            # SQLite (a temp file, WAL)
    .venv/bin/python bench/writes.py --pg       # PostgreSQL: a throwaway database on the server
                                                # of CLOSELOOP_TEST_PG_URL
    options: --n 240 (operations of each kind per round), --rounds 3, --clients 8

The app runs in its own process (`closeloop serve`: uvicorn, one worker, scheduler off) on a
throwaway database seeded with the test district (tests/factories.build_org). Eight client
threads with persistent HTTP connections (httpx) file N cases (as a reporter), then dispatch
them (as the district's dispatcher). For each: throughput, p50/p99 latency and the server's CPU
ms per request (from /proc).

Baseline, same database kind, same 8 threads, one transaction per operation: the rows one real
filing and one real dispatch wrote (read back after a warm-up request, so the row shapes are
the app's own) written again with plain Core statements:
- filing: the case-number counter upsert, INSERT case, INSERT its history row, INSERT the outbox
  rows the filing made;
- dispatch: UPDATE case … WHERE id AND version (the compare-and-swap), INSERT its history row,
  INSERT the outbox rows the dispatch made.
The baseline runs on a plain engine, nothing of closeloop's (so it is the same before and after a
change of closeloop/db.py): SQLAlchemy Core, WAL and synchronous=NORMAL on SQLite, where its
writers queue on one lock and begin IMMEDIATE (the best one process can do: SQLite's busy handler
polls with sleeps).
API and raw phases alternate for a few rounds (the machine may be shared: both meet the same
load); the ratio printed is the median over the rounds of baseline throughput / app throughput
(3× is the goal), throughputs are medians, latencies pooled over the rounds.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import Engine, create_engine, event, insert, select, update  # noqa: E402

from bench.escalation_sweep import database  # noqa: E402
from closeloop.db import make_engine, transaction, upgrade  # noqa: E402
from models.case import Case  # noqa: E402
from models.history import CaseHistory  # noqa: E402
from models.outbox import OutboxMessage  # noqa: E402
from models.system import Counter  # noqa: E402

CASE = Case.__table__  # type: ignore[attr-defined]
HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
COUNTER = Counter.__table__  # type: ignore[attr-defined]
BODY = {
    "kind": "event",
    "title": "占道经营",
    "description": "早市摊贩占道",
    "category_code": "0101",
    "grid_code": "G1",
    "address": "东门路12号",
    "location": {"lat": 22.548, "lon": 114.118},
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`closeloop serve` itself (its start-up, logging and memory settling included), with the
    in-process scheduler off (its jobs are not the writes measured); its output goes to a file
    beside the data."""
    env = {
        **os.environ,
        "CLOSELOOP_DATABASE_URL": url,
        "CLOSELOOP_DATA_DIR": str(data_dir),
        "CLOSELOOP_SCHEDULER": "off",
        "PYTHONPATH": str(ROOT),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the server holds its own copy
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def run_threads(clients: int, jobs: list[Any], one: Callable[[Any, Any], None], make: Any) -> dict:
    """`one(conn, job)` for every job, spread over `clients` threads, each with its own `make()`
    connection; latencies and wall time."""
    slices = [jobs[i::clients] for i in range(clients)]
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def worker(mine: list[Any]) -> None:
        conn = make()
        mine_lat: list[float] = []
        barrier.wait()
        try:
            for job in mine:
                t0 = time.perf_counter()
                one(conn, job)
                mine_lat.append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close = getattr(conn, "close", None)
            if close:
                close()
        with lock:
            latencies.extend(mine_lat)

    threads = [threading.Thread(target=worker, args=(s,)) for s in slices]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    latencies.sort()
    return {
        "n": len(latencies),
        "wall": wall,
        "rate": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "lat": latencies,
    }


def api_phase(base: str, token: str, clients: int, jobs: list[Any], call: Callable, pid: int):
    headers = {"Authorization": f"Bearer {token}"}
    cpu0 = cpu_seconds(pid)
    result = run_threads(
        clients, jobs, call, lambda: httpx.Client(base_url=base, headers=headers, timeout=60)
    )
    result["cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000 / result["n"]
    return result


def file_one(client: httpx.Client, out: list[dict]) -> None:
    r = client.post("/api/v1/cases", json=BODY)
    if r.status_code != 201:
        raise RuntimeError(f"filing: {r.status_code} {r.text}")
    out.append(r.json())


def dispatch_one(client: httpx.Client, case: dict) -> None:
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch", json={"version": case["version"]}
    )
    if r.status_code != 200:
        raise RuntimeError(f"dispatch: {r.status_code} {r.text}")


def rows_of(engine: Engine, case_id: int) -> tuple[dict, list[dict], list[dict]]:
    with engine.connect() as conn:
        case = dict(conn.execute(select(CASE).where(CASE.c.id == case_id)).mappings().one())
        hist = [
            dict(r)
            for r in conn.execute(
                select(HISTORY).where(HISTORY.c.case_id == case_id).order_by(HISTORY.c.seq)
            ).mappings()
        ]
        out = [
            dict(r)
            for r in conn.execute(
                select(OUTBOX).where(OUTBOX.c.case_id == case_id).order_by(OUTBOX.c.id)
            ).mappings()
        ]
    return case, hist, out


def raw_statements(
    engine: Engine, filed: int, dispatched: int, n: int, clients: int
) -> tuple[Callable[[], dict], Callable[[], dict]]:
    """The baseline: the rows of a sample filing (a case only filed) and a sample dispatch,
    written again with plain statements, one transaction per operation; a phase of N filings
    and a phase dispatching the cases the last filing phase made."""
    filed_case, file_hist, file_out = rows_of(engine, filed)
    filed_case.pop("id")
    case, hist, out = rows_of(engine, dispatched)
    disp_out = [o for o in out if o["created_at"] == hist[-1]["at"]]
    upsert = _upsert(engine)
    engine = raw_engine(engine.url.render_as_string(hide_password=False))
    sqlite_lock = threading.Lock()

    @contextmanager
    def writer(conn: Any) -> Iterator[None]:
        """One transaction. SQLite: the writers queue on a lock of ours and begin IMMEDIATE
        (SQLite's busy handler polls with sleeps; a queue is the best one process can do)."""
        if engine.dialect.name != "sqlite":
            with conn.begin():
                yield
            return
        with sqlite_lock, conn.begin():
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield

    counter = f"bench:{uuid.uuid4().hex[:6]}"
    made: list[int] = []
    made_lock = threading.Lock()

    def file_raw(conn: Any, i: int) -> None:
        with writer(conn):
            value = conn.execute(
                upsert.values(name=counter, value=1)
                .on_conflict_do_update(index_elements=["name"], set_={"value": COUNTER.c.value + 1})
                .returning(COUNTER.c.value)
            ).scalar_one()
            row = {**filed_case, "number": f"RAW{value:09d}"}
            case_id = conn.execute(insert(CASE).values(row).returning(CASE.c.id)).scalar_one()
            conn.execute(
                insert(HISTORY).values({**_drop_id(file_hist[0]), "case_id": case_id, "seq": 1})
            )
            if file_out:
                conn.execute(
                    insert(OUTBOX),
                    [
                        {**_drop_id(o), "case_id": case_id, "key": f"raw{case_id}:{j}"}
                        for j, o in enumerate(file_out)
                    ],
                )
        with made_lock:
            made.append(case_id)

    def dispatch_raw(conn: Any, case_id: int) -> None:
        with writer(conn):
            done = conn.execute(
                update(CASE)
                .where(CASE.c.id == case_id, CASE.c.version == 1)
                .values(
                    state=case["state"],
                    unit_code=case["unit_code"],
                    dispatched_at=case["dispatched_at"],
                    due_at=case["due_at"],
                    updated_at=case["updated_at"],
                    version=CASE.c.version + 1,
                )
            ).rowcount
            assert done == 1
            conn.execute(
                insert(HISTORY).values({**_drop_id(hist[-1]), "case_id": case_id, "seq": 2})
            )
            if disp_out:
                conn.execute(
                    insert(OUTBOX),
                    [
                        {**_drop_id(o), "case_id": case_id, "key": f"rawd{case_id}:{j}"}
                        for j, o in enumerate(disp_out)
                    ],
                )

    def filing() -> dict:
        made.clear()
        result = run_threads(clients, list(range(n)), file_raw, engine.connect)
        result["statements"] = 3 + (1 if file_out else 0)
        return result

    def dispatch() -> dict:
        result = run_threads(clients, sorted(made), dispatch_raw, engine.connect)
        result["statements"] = 2 + (1 if disp_out else 0)
        return result

    return filing, dispatch


def raw_engine(url: str) -> Engine:
    """A plain engine for the baseline, nothing of closeloop's: on SQLite WAL, synchronous
    NORMAL and the same busy timeout, transactions begun by hand."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=12)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return engine


def _drop_id(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "id"}


def _upsert(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(COUNTER)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(COUNTER)


def summary(runs: list[dict]) -> dict:
    """The rounds together: median throughput, latencies pooled, CPU per request averaged."""
    lat = sorted(x for r in runs for x in r["lat"])
    out = {
        "n": len(lat),
        "wall": sum(r["wall"] for r in runs),
        "rate": statistics.median(r["rate"] for r in runs),
        "p50": statistics.median(lat) * 1000,
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
    }
    if "cpu_ms" in runs[0]:
        out["cpu_ms"] = statistics.mean(r["cpu_ms"] for r in runs)
    return out


def line(name: str, r: dict) -> str:
    cpu = f", CPU {r['cpu_ms']:.1f} ms/request" if "cpu_ms" in r else ""
    return (
        f"  {name:<22} {r['rate']:8.0f}/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms"
        f"{cpu}  ({r['n']} in {r['wall']:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (CLOSELOOP_TEST_PG_URL)")
    parser.add_argument("--n", type=int, default=240, help="operations of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = args.port or 18000 + os.getpid() % 1000
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.pg, Path(tmp), "writes")
        proc = None
        try:
            upgrade(url)
            engine = make_engine(url, pool_size=args.clients + 2)
            from tests.factories import build_org

            with transaction(engine) as s:
                build_org(s)
            proc = start_server(url, Path(tmp) / "data", port)
            base = f"http://127.0.0.1:{port}"
            tokens = {}
            for user in ("rep1", "disp"):
                r = httpx.post(
                    f"{base}/api/v1/auth/token",
                    data={"username": user, "password": "password-123"},
                )
                tokens[user] = r.json()["access_token"]
            # Warm-up (and the sample whose rows the baseline copies): one filing, one dispatch.
            with httpx.Client(base_url=base) as c:
                c.headers["Authorization"] = f"Bearer {tokens['rep1']}"
                warm: list[dict] = []
                for _ in range(2 * args.clients):
                    file_one(c, warm)
                c.headers["Authorization"] = f"Bearer {tokens['disp']}"
                for case in warm[:-1]:
                    dispatch_one(c, case)
            raw_file, raw_dispatch = raw_statements(
                engine, warm[-1]["id"], warm[0]["id"], args.n, args.clients
            )
            print(
                f"database: {'PostgreSQL' if args.pg else 'SQLite'}; {args.clients} clients, "
                f"{args.rounds} rounds of {args.n} operations of each kind "
                "(API and raw alternate, so both meet the same load)"
            )
            runs: dict[str, list[dict]] = {k: [] for k in ("fa", "fr", "da", "dr")}
            for r in range(1, args.rounds + 1):
                filed: list[dict] = []
                runs["fa"].append(
                    api_phase(
                        base,
                        tokens["rep1"],
                        args.clients,
                        [filed] * args.n,
                        lambda c, out: file_one(c, out),
                        proc.pid,
                    )
                )
                runs["fr"].append(raw_file())
                filed.sort(key=lambda c: c["id"])
                runs["da"].append(
                    api_phase(base, tokens["disp"], args.clients, filed, dispatch_one, proc.pid)
                )
                runs["dr"].append(raw_dispatch())
                print(
                    f"  round {r}: filing {runs['fa'][-1]['rate']:.0f}/s vs raw "
                    f"{runs['fr'][-1]['rate']:.0f}/s, dispatch {runs['da'][-1]['rate']:.0f}/s vs "
                    f"raw {runs['dr'][-1]['rate']:.0f}/s"
                )
            f_api, f_raw, d_api, d_raw = (summary(runs[k]) for k in ("fa", "fr", "da", "dr"))
            f_ratio = statistics.median(
                fr["rate"] / fa["rate"] for fa, fr in zip(runs["fa"], runs["fr"], strict=True)
            )
            d_ratio = statistics.median(
                dr["rate"] / da["rate"] for da, dr in zip(runs["da"], runs["dr"], strict=True)
            )
            print(line("filing (API)", f_api))
            print(line("filing (raw)", f_raw) + f"  [{runs['fr'][0]['statements']} statements]")
            print(f"  filing ratio: {f_ratio:.1f}x (median of the rounds; goal 3x)")
            print(line("dispatch (API)", d_api))
            print(line("dispatch (raw)", d_raw) + f"  [{runs['dr'][0]['statements']} statements]")
            print(f"  dispatch ratio: {d_ratio:.1f}x (median of the rounds; goal 3x)")
            if not args.pg:
                worst = max(f_api["p99"], d_api["p99"])
                print(f"  SQLite p99 (worst of the two): {worst:.0f} ms (goal < 100 ms)")
            engine.dispose()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
            drop()


if __name__ == "__main__":
    main()
