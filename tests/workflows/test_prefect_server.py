"""Scale mode end to end, as an operator runs it: a real local Prefect server, the work pool,
`closeloop deploy --print-yaml` deployed with `prefect deploy --all` from a directory that is not
the checkout, a process worker in yet another directory, and runs of the escalation and monthly
report deployments: their job_run rows, their report files served by the API (which runs in this
process and directory), no duplicate on a rerun. The application database is PostgreSQL, as at
scale (the flows' database behaviour is tested on both databases elsewhere); on a machine without
CLOSELOOP_TEST_PG_URL the route runs on SQLite instead, saying so (in CI, which requires
PostgreSQL, that fails). One test: the route costs ~30-60 s to set up."""

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import col, select

import workflows
from api.app import create_app
from closeloop.config import get_settings
from closeloop.db import make_engine, new_session, transaction, upgrade
from models.escalation import EscalationFire
from models.jobs import JobRun
from models.letter import Letter
from models.report import Report
from tests.conftest import PG_URL, REQUIRE_PG, _create_pg_database
from tests.escalation.escalation_helpers import late_case, totals
from tests.factories import PASSWORD, build_org
from tests.reports.seed import seed
from workflows.deploy import WORK_POOL, prefect_yaml
from workflows.jobs import JOBS, TIMEZONE

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Subprocesses in their own process groups, each killed with everything it started."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(
        self, name: str, args: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append((proc, log))
        return proc

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for _, log in self.procs
        )

    def stop(self) -> None:
        for proc, _ in reversed(self.procs):
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            # whatever it started (a flow run's process) is in its group: make sure it is gone
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _wait(what: str, check, procs: Processes, timeout: float) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc, log in procs.procs:
            if proc.poll() is not None:
                pytest.fail(
                    f"{log.stem} exited ({proc.returncode}) waiting for {what}\n" + procs.output()
                )
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n" + procs.output())


ROOT = Path(workflows.__file__).resolve().parent.parent  # stands in for `pip install closeloop`
ESCALATE_AT = "2025-10-20T10:00:00+08:00"
REPORT_AT = "2025-10-01T08:00:00+08:00"  # the monthly slot: September's report


@dataclass
class Route:
    """The scale route as an operator runs it, set up once for the module."""

    api: str
    engine: Engine
    data: Path  # the shared CLOSELOOP_DATA_DIR
    late_case: int
    processes: Processes
    runs: dict[str, list[str]] = field(default_factory=dict)  # job name → flow run ids

    def run(self, deployment: str, parameters: dict[str, str]) -> str:
        d = _api("GET", f"{self.api}/deployments/name/{deployment}").json()
        r = _api(
            "POST",
            f"{self.api}/deployments/{d['id']}/create_flow_run",
            json={"parameters": parameters},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def wait(self, run_ids: list[str], timeout: float = 150) -> dict[str, dict]:
        def final() -> dict[str, dict] | None:
            runs = {i: _api("GET", f"{self.api}/flow_runs/{i}").json() for i in run_ids}
            done = all(r["state"]["type"] in FINAL for r in runs.values())
            return runs if done else None

        found = _wait("the flow runs", final, self.processes, timeout)
        assert isinstance(found, dict)
        return found


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
QUIET = (
    "SCHEDULER",
    "LATE_RUNS",
    "FOREMAN",
    "CANCELLATION_CLEANUP",
    "DB_VACUUM",
    "PAUSE_EXPIRATIONS",
    "REPOSSESSOR",
    "CLEANUP_RECONCILER",
    "TRIGGERS",
    "EVENT_PERSISTER",
    "EVENT_LOGGER",
)


@pytest.fixture(scope="module")
def route(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Route]:
    """A Prefect server (its own SQLite, no telemetry), the work pool, the deployments deployed
    from a directory that is not the checkout, and a process worker in yet another directory:
    files go to the shared data dir only because the settings say so."""
    tmp = tmp_path_factory.mktemp("route")
    deploy_dir, worker_dir, data = tmp / "deploy", tmp / "worker", tmp / "shared-data"
    for d in (deploy_dir, worker_dir, data):
        d.mkdir()
    procs = Processes(tmp)
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CLOSELOOP_"))}
    env.update(
        PREFECT_HOME=str(tmp / "prefect"),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",  # no telemetry: an intranet has no internet
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_REGISTER_BLOCKS_ON_START="false",
        PYTHONPATH=str(ROOT),
    )
    try:
        # The API and the task run recorder (task runs arrive as events): no scheduler, so no
        # scheduled run competes with ours, and none of the other services.
        server = dict(env, **{f"PREFECT_SERVER_SERVICES_{s}_ENABLED": "false" for s in QUIET})
        procs.start(
            "server",
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            server,
            cwd=tmp,
        )
        # Meanwhile: the application database with a case late since the end of 2025-09-30 and
        # a September to report on.
        url = _route_database(tmp)
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as s:
            org = build_org(s)
            case_id = late_case(s, org, due="2025-09-30", dispatched="2025-09-26").id
            seed(s, org)
        (deploy_dir / "prefect.yaml").write_text(prefect_yaml(), encoding="utf-8")
        _wait("the Prefect server", lambda: _healthy(api), procs, timeout=120)

        env.update(PREFECT_API_URL=api)
        # = `prefect work-pool create closeloop --type process`, without a CLI start-up.
        from prefect.workers.process import ProcessWorker

        pool = {
            "name": WORK_POOL,
            "type": "process",
            "base_job_template": ProcessWorker.get_default_base_job_template(),
        }
        assert _api("POST", f"{api}/work_pools/", json=pool).status_code == 201
        worker = dict(
            env,
            CLOSELOOP_DATABASE_URL=url,
            CLOSELOOP_DATA_DIR=str(data),
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_PREFETCH_SECONDS="2",
        )
        cli = [str(BIN / "prefect"), "--no-prompt"]
        procs.start(
            "worker", cli + ["worker", "start", "--pool", WORK_POOL], worker, cwd=worker_dir
        )
        _check(procs, "deploy", cli + ["deploy", "--all"], env, deploy_dir)  # meanwhile
        yield Route(api=api, engine=engine, data=data, late_case=case_id, processes=procs)
        engine.dispose()
    finally:
        procs.stop()


def _route_database(tmp: Path) -> str:
    """A PostgreSQL database of its own, as an operator at scale has; SQLite (an absolute path)
    on a developer's machine without PostgreSQL."""
    if PG_URL:
        return _create_pg_database()
    if REQUIRE_PG:
        pytest.fail("CLOSELOOP_TEST_PG_URL is not set but CI requires PostgreSQL tests to run")
    warnings.warn(
        "scale route: PostgreSQL not configured, the application database is SQLite",
        stacklevel=2,
    )
    return f"sqlite:///{tmp / 'closeloop.db'}"


@functools.cache
def _http() -> httpx.Client:
    """One client for the test's many calls: a new one for each (httpx.get) built a TLS context
    every time, 50 ms of CPU, five times a second while the test waits."""
    return httpx.Client(timeout=30)


def _api(method: str, url: str, **kwargs: object) -> httpx.Response:
    """A call to the Prefect server, tried again while it answers 503 (its SQLite is busy on
    a loaded machine; Prefect's own client retries the same way)."""
    for _ in range(20):
        r = _http().request(method, url, **kwargs)  # type: ignore[arg-type]
        if r.status_code not in (502, 503):
            return r
        time.sleep(1)
    return r


def _healthy(api: str) -> bool:
    return _http().get(f"{api}/health").status_code == 200


def _check(procs: Processes, name: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        pytest.fail(
            f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n" + procs.output()
        )


def test_the_scale_route_runs_escalation_and_reports_on_workers(
    route: Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deployments: the job table's, by module path, in the work pool, no concurrency slot.
    for job in JOBS:
        d = _api("GET", f"{route.api}/deployments/name/{job.flow}/{job.name}").json()
        assert d["entrypoint"] == f"workflows.flows.{job.flow}" and not d["pull_steps"]
        assert d["work_pool_name"] == WORK_POOL and d["global_concurrency_limit"] is None
        [schedule] = d["schedules"]
        assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == (
            job.cron,
            TIMEZONE,
        )

    first = [
        route.run("escalation/escalation", {"now": ESCALATE_AT}),
        route.run("report_monthly/report-monthly", {"now": REPORT_AT}),
    ]
    states = route.wait(first)
    assert all(r["state"]["type"] == "COMPLETED" for r in states.values()), (
        states,
        route.processes.output(),
    )
    with new_session(route.engine) as s:
        after_first = totals(s)
        reports = list(s.exec(select(Report)))
        escalated = set(
            s.exec(select(EscalationFire.level).where(EscalationFire.case_id == route.late_case))
        )
        issued = s.exec(select(Letter.issued_at).order_by(col(Letter.issued_at).desc())).first()
    assert after_first["letters"] >= 1 and escalated
    assert issued == datetime.fromisoformat(ESCALATE_AT)  # the run's parameter reached it
    [report] = reports
    assert (report.period, report.status) == ("2025-09", "ready")

    # The runs are in job_run like the embedded scheduler's, marked as Prefect's.
    with new_session(route.engine) as s:
        recorded = {r.holder: r for r in s.exec(select(JobRun))}
    for run_id, name in zip(first, ("escalation", "report-monthly"), strict=True):
        r = recorded[f"prefect:{run_id}"]
        assert (r.name, r.status) == (name, "ok") and r.finished_at is not None
    assert json.loads(recorded[f"prefect:{first[1]}"].summary)["generated"] == [report.id]

    # One task run per unit, each logging what it issued through Prefect's run logger (task
    # runs arrive as events and log lines in batches: both may come a moment after the state).
    def task_names() -> list[str] | None:
        found = _api(
            "POST",
            f"{route.api}/task_runs/filter",
            json={"flow_runs": {"id": {"any_": [first[0]]}}},
        ).json()
        names = [t["name"] for t in found]  # Prefect suffixes a default task run name
        wanted = ("escalation-sweep", "escalate-unit-ZJ", "escalate-deadlines")
        return names if all(any(n.startswith(w) for n in names) for w in wanted) else None

    def unit_log_lines() -> list[str] | None:
        found = _api(
            "POST",
            f"{route.api}/logs/filter",
            json={"logs": {"flow_run_id": {"any_": [first[0]]}}},
        ).json()
        lines = [line["message"] for line in found if line["message"].startswith("unit ")]
        return lines if any("letters" in line for line in lines) else None

    _wait("the escalation's task runs", task_names, route.processes, 60)
    _wait("the units' log lines", unit_log_lines, route.processes, 60)

    # A rerun of both (checked below, once done) ...
    again = [
        route.run("escalation/escalation", {"now": ESCALATE_AT}),
        route.run("report_monthly/report-monthly", {"now": REPORT_AT}),
    ]

    # ... while the API, in this process and directory, serves the files the worker wrote.
    assert Path.cwd() != route.data and (route.data / "reports" / str(report.id)).is_dir()
    monkeypatch.setenv("CLOSELOOP_DATA_DIR", str(route.data))
    get_settings.cache_clear()
    with TestClient(create_app(engine=route.engine)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for suffix in (".html", ".pdf", ".xlsx", "/bulletin.pdf"):
            r = client.get(f"/api/v1/reports/{report.id}{suffix}", headers=headers)
            assert r.status_code == 200 and len(r.content) > 100, (suffix, r.text[:200])

    # The rerun duplicated nothing.
    assert all(r["state"]["type"] == "COMPLETED" for r in route.wait(again).values())
    with new_session(route.engine) as s:
        assert totals(s) == after_first
        assert len(list(s.exec(select(Report)))) == 1
        holders = {r.holder for r in s.exec(select(JobRun))}
    assert {f"prefect:{i}" for i in first + again} <= holders


def test_print_yaml_describes_the_same_deployments(capsys) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from cli import main

    assert main(["deploy", "--print-yaml"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    by_name = {d["name"]: d for d in doc["deployments"]}
    assert set(by_name) == {j.name for j in JOBS}
    for job in JOBS:
        d = by_name[job.name]
        assert d["entrypoint"] == f"workflows.flows.{job.flow}"  # the installed package's
        assert d["schedules"] == [{"cron": job.cron, "timezone": TIMEZONE, "active": True}]
        assert d["work_pool"]["name"] == "closeloop" and "concurrency_limit" not in d
    assert doc["pull"] == []  # no checkout path, nothing to fetch
    assert str(Path(workflows.__file__).parent.parent) not in yaml.safe_dump(doc)


def test_stopping_closeloop_deploy_pauses_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """prefect's serve pauses its deployments server-wide on exit unless told not to."""
    import prefect

    from workflows import deploy, flows

    served: dict[str, object] = {}
    monkeypatch.setattr(flows, "orchestrated", lambda: True)
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", "postgresql+psycopg://u@db/closeloop")
    monkeypatch.setenv("CLOSELOOP_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(prefect, "serve", lambda *ds, **kw: served.update(kw, n=len(ds)))
    deploy.serve()
    assert served["pause_on_shutdown"] is False and served["n"] == len(JOBS)


def test_deploy_needs_a_prefect_server(capsys) -> None:  # type: ignore[no-untyped-def]
    from cli import main

    assert main(["deploy"]) == 2  # conftest removed PREFECT_API_URL
    assert "PREFECT_API_URL" in capsys.readouterr().err
