"""Observability overhead: what the request-id/log/metrics middleware adds to a request, and what
a /metrics scrape costs on a database with a year of job runs.

    .venv/bin/python bench/observability.py            # SQLite (a temp file)
    .venv/bin/python bench/observability.py --pg       # PostgreSQL: a throwaway database on the
                                                       # server of CLOSELOOP_TEST_PG_URL

1. `GET /healthz` called in-process through the ASGI interface (no sockets, so the middleware's
   share is not drowned in the network's), in interleaved rounds, median CPU time per request:
   - baseline: the same app with the middleware taken out;
   - middleware, no log handler (log level above INFO: the access line is skipped);
   - middleware + a JSON access line written (to /dev/null) for every request, as
     `CLOSELOOP_LOG_FORMAT=json closeloop serve` does.
   Figure: the added microseconds per request and the throughput ratio against the baseline.
2. `GET /metrics` on a database holding 525,600 job runs (a year of the every-minute delivery
   job, plus the others) and 100,000 outbox messages of which 1,000 are undelivered: median of
   the scrape and of the health summary alone, beside the baseline of one `SELECT count(*)` over
   the undelivered messages.
"""

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402
from sqlalchemy import create_engine, func, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from api import observability  # noqa: E402
from api.app import create_app  # noqa: E402
from closeloop.clock import FixedClock  # noqa: E402
from closeloop.db import make_engine, new_session, upgrade  # noqa: E402
from models.enums import Channel, DeliveryStatus, JobStatus  # noqa: E402
from models.jobs import JobRun  # noqa: E402
from models.outbox import OutboxMessage  # noqa: E402

NOW = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
ROUNDS, PER_ROUND = 9, 1000


async def call(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def per_request(app: Any, n: int) -> float:
    """CPU seconds of this process per request (all threads: the route runs in the threadpool).
    CPU rather than wall time: on a shared machine the wall clock mostly measures the waits
    for a core between the event loop and the threadpool."""
    headers = [(b"host", b"bench")]
    start = time.process_time()
    for _ in range(n):
        await call(app, "/healthz", headers)
    return (time.process_time() - start) / n


async def bare(scope: Any, receive: Any, send: Any) -> None:
    """The cheapest ASGI app: what is left of a request when the framework is taken away."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def middleware_alone() -> dict[str, float]:
    """The middleware around the bare app, against the bare app: its own cost, without the
    framework's noise. Wall time (one thread, no waits), interleaved, best round."""
    wrapped = observability.ObservabilityMiddleware(bare, observability.RequestMetrics())
    root = logging.getLogger()
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    sink.addFilter(observability.RequestIdFilter())
    sink.setFormatter(observability.JsonFormatter())
    out: dict[str, list[float]] = {"bare": [], "middleware": [], "middleware+json": []}

    async def timed(app: Any, n: int = 5000) -> float:
        headers = [(b"host", b"bench"), (b"x-request-id", b"bench-1")]
        start = time.perf_counter()
        for _ in range(n):
            await call(app, "/healthz", headers)
        return (time.perf_counter() - start) / n

    async def run() -> None:
        for _ in range(ROUNDS):
            root.setLevel(logging.WARNING)
            out["bare"].append(await timed(bare))
            out["middleware"].append(await timed(wrapped))
            root.addHandler(sink)
            root.setLevel(logging.INFO)
            out["middleware+json"].append(await timed(wrapped))
            root.removeHandler(sink)
            root.setLevel(logging.WARNING)

    asyncio.run(run())
    return {k: min(v) for k, v in out.items()}


def without_middleware(app: FastAPI) -> FastAPI:
    del app.build_middleware_stack  # the class's own: no ObservabilityMiddleware
    return app


def overhead(engine: Any) -> dict[str, float]:
    clock = FixedClock(NOW)
    base = without_middleware(create_app(engine=engine, clock=clock))
    with_mw = create_app(engine=engine, clock=clock)
    root = logging.getLogger()
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    sink.addFilter(observability.RequestIdFilter())
    sink.setFormatter(observability.JsonFormatter())
    results: dict[str, list[float]] = {"baseline": [], "middleware": [], "middleware+json": []}

    async def run() -> None:
        for app in (base, with_mw):  # warm up (builds the middleware stack)
            assert await call(app, "/healthz", []) == 200
        for _ in range(ROUNDS):
            root.setLevel(logging.WARNING)
            results["baseline"].append(await per_request(base, PER_ROUND))
            results["middleware"].append(await per_request(with_mw, PER_ROUND))
            root.addHandler(sink)
            root.setLevel(logging.INFO)
            results["middleware+json"].append(await per_request(with_mw, PER_ROUND))
            root.removeHandler(sink)
            root.setLevel(logging.WARNING)

    asyncio.run(run())
    return {k: statistics.median(v) for k, v in results.items()}


def fill(engine: Any) -> None:
    runs: list[dict[str, Any]] = []
    start = NOW - timedelta(days=365)
    for minute in range(365 * 24 * 60):
        at = start + timedelta(minutes=minute)
        runs.append(
            {
                "name": "delivery",
                "holder": "bench",
                "started_at": at,
                "finished_at": at,
                "status": JobStatus.ok.value,
                "summary": "",
            }
        )
        if minute % 10 == 0:
            runs.append(
                {
                    "name": "escalation",
                    "holder": "bench",
                    "started_at": at,
                    "finished_at": at,
                    "status": JobStatus.ok.value,
                    "summary": "",
                }
            )
    messages = [
        {
            "key": f"bench-{i}",
            "channel": Channel.email.value,
            "recipient": "a@b.c",
            "event": "e",
            "subject": "s",
            "body": "b",
            "payload": {},
            "status": (DeliveryStatus.pending if i < 1000 else DeliveryStatus.sent).value,
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW - timedelta(minutes=i % 600),
        }
        for i in range(100_000)
    ]
    with new_session(engine) as s:
        conn = s.connection()
        for chunk in range(0, len(runs), 50_000):
            conn.execute(insert(JobRun.__table__), runs[chunk : chunk + 50_000])  # type: ignore[attr-defined]
        conn.execute(insert(OutboxMessage.__table__), messages)  # type: ignore[attr-defined]
        s.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def scrape(engine: Any) -> tuple[float, float, float, int]:
    """Medians of 15 interleaved rounds: the scrape over HTTP (in-process), the health summary
    alone, and the baseline count of the undelivered messages."""
    from fastapi.testclient import TestClient

    from workflows import health

    app = create_app(engine=engine, clock=FixedClock(NOW))
    times: dict[str, list[float]] = {"scrape": [], "summary": [], "count": []}
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        health.summary(engine, NOW)  # warm: the statements compiled once
        for _ in range(15):
            t = time.perf_counter()
            r = client.get("/metrics")
            times["scrape"].append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
            t = time.perf_counter()
            health.summary(engine, NOW)
            times["summary"].append(time.perf_counter() - t)
            with new_session(engine) as s:
                t = time.perf_counter()
                pending = s.exec(
                    select(func.count()).where(col(OutboxMessage.status) == DeliveryStatus.pending)
                ).one()
                times["count"].append(time.perf_counter() - t)
                s.rollback()
    assert 'closeloop_outbox_pending{channel="email"} 1000' in r.text
    m = {k: statistics.median(v) for k, v in times.items()}
    return m["scrape"], m["summary"], m["count"], int(pending)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()
    admin = None
    if args.pg:
        server = make_url(os.environ["CLOSELOOP_TEST_PG_URL"])
        name = f"closeloop_bench_obs_{uuid.uuid4().hex[:6]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='closeloop-bench-')}/obs.db"
    upgrade(url)
    engine = make_engine(url)
    try:
        print(f"database: {engine.dialect.name}; loaded 2-core machine: compare ratios")
        o = overhead(engine)
        b, m, j = o["baseline"], o["middleware"], o["middleware+json"]
        print(f"GET /healthz in-process, CPU time, median of {ROUNDS} rounds of {PER_ROUND}:")
        print(f"  baseline (no middleware)   {b * 1e6:8.1f} µs/request  {1 / b:8.0f} req/s")
        print(
            f"  middleware, no log handler {m * 1e6:8.1f} µs/request  {1 / m:8.0f} req/s"
            f"  +{(m - b) * 1e6:.1f} µs, ratio {m / b:.2f}"
        )
        print(
            f"  middleware + JSON line     {j * 1e6:8.1f} µs/request  {1 / j:8.0f} req/s"
            f"  +{(j - b) * 1e6:.1f} µs, ratio {j / b:.2f}"
        )
        a = middleware_alone()
        print("the middleware alone around a bare ASGI app (wall, best of rounds of 5000):")
        print(f"  bare app                    {a['bare'] * 1e6:7.1f} µs/request")
        print(
            f"  + middleware                {a['middleware'] * 1e6:7.1f} µs/request  "
            f"+{(a['middleware'] - a['bare']) * 1e6:.1f} µs"
        )
        print(
            f"  + middleware + JSON line    {a['middleware+json'] * 1e6:7.1f} µs/request  "
            f"+{(a['middleware+json'] - a['bare']) * 1e6:.1f} µs"
        )
        t0 = time.perf_counter()
        fill(engine)
        print(
            f"filled 525,600 delivery + 52,560 escalation runs, 100,000 outbox messages "
            f"({time.perf_counter() - t0:.0f} s)"
        )
        scrape_s, summary_s, base_s, pending = scrape(engine)
        print(
            f"GET /metrics: {scrape_s * 1000:.1f} ms (the health summary alone "
            f"{summary_s * 1000:.1f} ms); baseline count of the {pending} undelivered: "
            f"{base_s * 1000:.2f} ms; ratio {scrape_s / base_s:.0f}"
        )
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
