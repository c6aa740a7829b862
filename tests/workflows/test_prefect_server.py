"""Scale mode end to end: a real local Prefect server, `closeloop deploy` serving the job table's
deployments against it, and a run of the escalation deployment that escalates a late case in the
database (SQLite here: the flows' database behaviour is tested on both databases elsewhere)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from closeloop.db import make_engine, new_session, transaction, upgrade
from models.escalation import EscalationFire
from models.letter import Letter
from models.outbox import OutboxMessage
from tests.escalation.escalation_helpers import late_case
from tests.factories import build_org
from workflows.jobs import JOBS, TIMEZONE

BIN = Path(sys.executable).parent
NOW = "2025-10-20T10:00:00+08:00"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Subprocesses in their own process groups, each killed with everything it started."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
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


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop()


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


def test_escalation_deployment_runs_on_a_prefect_server(tmp_path: Path, processes) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_REGISTER_BLOCKS_ON_START="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    # The API only: no scheduler service, so no scheduled run competes with the one we ask for.
    processes.start(
        "server",
        [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-services",
        ],
        env,
    )

    # Meanwhile: the application database with a case late since the end of 2025-09-30.
    url = f"sqlite:///{tmp_path / 'closeloop.db'}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as s:
        org = build_org(s)
        case_id = late_case(s, org, due="2025-09-30", dispatched="2025-09-26").id

    _wait(
        "the Prefect server",
        lambda: httpx.get(f"{api}/health").status_code == 200,
        processes,
        timeout=120,
    )
    env.update(PREFECT_API_URL=api, CLOSELOOP_DATABASE_URL=url, PREFECT_RUNNER_POLL_FREQUENCY="1")
    processes.start("deploy", [sys.executable, "-m", "cli", "deploy"], env)

    def deployment(name: str) -> dict | None:
        r = httpx.get(f"{api}/deployments/name/{name}")
        return r.json() if r.status_code == 200 else None

    def registered() -> list[dict | None] | None:
        found = [deployment(f"{job.flow}/{job.name}") for job in JOBS]
        return found if all(found) else None

    found = _wait("the deployments", registered, processes, 90)
    assert isinstance(found, list)
    for job, d in zip(JOBS, found, strict=True):  # the job table's schedules, one run at a time
        assert d is not None
        [schedule] = d["schedules"]
        assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == (
            job.cron,
            TIMEZONE,
        )
        assert d["global_concurrency_limit"]["limit"] == 1

    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):
        run = run_deployment(
            "escalation/escalation", parameters={"now": NOW}, timeout=90, poll_interval=0.5
        )
    assert run.state is not None and run.state.is_completed(), (run.state, processes.output())

    with new_session(engine) as s:
        fires = s.exec(select(EscalationFire.level).where(EscalationFire.case_id == case_id))
        levels = set(fires)
        letters = s.exec(select(func.count()).select_from(Letter)).one()
        queued = s.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.case_id) == case_id)
        ).one()
        issued = s.exec(select(Letter.issued_at)).first()
    engine.dispose()
    assert "reminder" in levels and letters >= 1 and queued >= 1
    assert issued == datetime.fromisoformat(NOW)  # the run's parameter reached the service


def test_print_yaml_describes_the_same_deployments(capsys) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from cli import main

    assert main(["deploy", "--print-yaml"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    by_name = {d["name"]: d for d in doc["deployments"]}
    assert set(by_name) == {j.name for j in JOBS}
    for job in JOBS:
        d = by_name[job.name]
        assert d["entrypoint"] == f"workflows/flows.py:{job.flow}"
        assert d["schedules"] == [{"cron": job.cron, "timezone": TIMEZONE, "active": True}]
        assert d["concurrency_limit"] == 1 and d["work_pool"]["name"] == "closeloop"
    directory = doc["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    assert (Path(directory) / "workflows" / "flows.py").is_file()


def test_deploy_needs_a_prefect_server(capsys) -> None:  # type: ignore[no-untyped-def]
    from cli import main

    assert main(["deploy"]) == 2  # conftest removed PREFECT_API_URL
    assert "PREFECT_API_URL" in capsys.readouterr().err
