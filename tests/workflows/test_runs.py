"""Runs of the Prefect deployments as the flows record them (workflows.runs, flows._as_job),
without a Prefect server: a deployment's run is recorded in job_run under the job's lease like an
embedded one; a run killed mid-way is marked crashed by the next, which duplicates nothing; the
settings a worker needs are checked with a clear error."""

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from cli import main
from closeloop.config import Settings, get_settings
from closeloop.db import new_session, transaction
from closeloop.errors import Invalid
from models.enums import JobStatus
from models.jobs import JobRun
from models.letter import Letter, LetterItem
from tests.escalation.escalation_helpers import fire_keys, late_case, totals
from workflows import flows, jobs, lease, runs, tasks

LATE = "2025-10-20T10:00:00+08:00"


def _runs(engine: Engine) -> list[JobRun]:
    with new_session(engine) as s:
        return list(s.exec(select(JobRun).order_by(col(JobRun.id))))


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> str:
    """The flows believe they are a deployment's run (as under a worker): this flow run id."""
    run_id = str(uuid.uuid4())
    get_settings().data_dir.mkdir(parents=True, exist_ok=True)  # the shared mount
    monkeypatch.setattr(flows, "_deployment_run", lambda: run_id)
    return run_id


def test_a_deployment_run_is_recorded_like_an_embedded_one(engine: Engine, org, deployed) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        late_case(s, org, due="2025-09-30")
    database = tasks.register(engine)
    summary = flows.escalation.fn(now=LATE, database=database)
    assert sum(summary["letters"].values()) >= 1
    [run] = _runs(engine)
    assert (run.name, run.status, run.holder) == ("escalation", "ok", f"prefect:{deployed}")
    assert json.loads(run.summary) == summary and run.finished_at is not None
    assert runs.where(run.holder) == f"prefect {deployed}"
    with new_session(engine) as s:  # the lease is given back at once: no slot stays taken
        assert lease.holder_of(s, name="escalation", now=datetime.now(UTC)) is None


def test_a_run_killed_mid_way_is_marked_crashed_and_the_rerun_duplicates_nothing(
    engine: Engine,
    org,  # type: ignore[no-untyped-def]
    deployed: str,
) -> None:
    with transaction(engine) as s:
        for unit in ("ZJ", "SW", "ZJ"):
            late_case(s, org, due="2025-09-30", unit=unit)
    database = tasks.register(engine)
    # A worker started a run, escalated its first unit, then was killed: its job_run row says
    # "running" and its lease is no longer renewed.
    dead = f"prefect:{uuid.uuid4()}"
    killed_at = datetime.now(UTC) - timedelta(minutes=5)
    job = jobs.get("escalation")
    with transaction(engine) as s:
        assert lease.acquire(s, name=job.name, holder=dead, now=killed_at, ttl=job.lease)
        s.add(JobRun(name=job.name, holder=dead, started_at=killed_at))
    swept = tasks.sweep.fn(LATE, database)
    first_unit, ids = next(iter(swept["units"].items()))
    tasks.escalate_unit.fn(LATE, first_unit, ids, database)
    with new_session(engine) as s:
        partial = totals(s)

    flows.escalation.fn(now=LATE, database=database)  # the next run: not blocked
    with new_session(engine) as s:
        after, keys = totals(s), fire_keys(s)
    lost, rerun = _runs(engine)
    assert (lost.holder, lost.status) == (dead, JobStatus.crashed)
    assert lost.finished_at is not None and "heartbeat" in json.loads(lost.summary)["error"]
    assert (rerun.holder, rerun.status) == (f"prefect:{deployed}", "ok")
    assert after["fires"] > partial["fires"]  # the other unit was done by the rerun
    assert len(keys) == len(set(keys))  # each case's level claimed once
    with new_session(engine) as s:  # no case in two letters of one type
        items = s.exec(
            select(Letter.type, Letter.unit_code, LetterItem.case_id).join(
                LetterItem, col(LetterItem.letter_id) == col(Letter.id)
            )
        ).all()
    assert len(items) == len({(t, c) for t, _, c in items}) > 0
    assert {u for _, u, _ in items} == {"ZJ", "SW"}  # the killed unit's and the others'

    flows.escalation.fn(now=LATE, database=database)  # and once more: nothing new at all
    with new_session(engine) as s:
        assert totals(s) == after


def test_a_run_whose_lease_is_held_does_nothing(engine: Engine, org, deployed) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        late_case(s, org, due="2025-09-30")
        assert lease.acquire(
            s, name="escalation", holder="elsewhere", now=datetime.now(UTC), ttl=timedelta(60)
        )
    summary = flows.escalation.fn(now=LATE, database=tasks.register(engine))
    assert "skipped" in summary and _runs(engine) == []
    with new_session(engine) as s:
        assert totals(s)["fires"] == 0


def test_a_failed_deployment_run_is_recorded_then_raised(
    engine: Engine, deployed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOSELOOP_DATA_DIR")  # a worker started without the shared data dir
    with pytest.raises(Invalid) as err:
        flows.report_monthly.fn(now=LATE, database=tasks.register(engine))
    assert err.value.detail.startswith("未设置 CLOSELOOP_DATA_DIR")
    [run] = _runs(engine)
    assert (run.name, run.status) == ("report-monthly", "failed")
    assert "CLOSELOOP_DATA_DIR" in json.loads(run.summary)["error"]


def test_worker_settings_are_checked_with_a_clear_error(tmp_path: Path) -> None:
    absent = {"CLOSELOOP_DATABASE_URL": "postgresql+psycopg://u@h/db"}
    cases = [
        ({}, "CLOSELOOP_DATABASE_URL"),
        ({"CLOSELOOP_DATABASE_URL": "sqlite:///./closeloop.db"}, "absolute"),
        (absent, "未设置 CLOSELOOP_DATA_DIR"),
        ({**absent, "CLOSELOOP_DATA_DIR": "./data"}, "必须是绝对路径"),
        ({**absent, "CLOSELOOP_DATA_DIR": str(tmp_path / "missing")}, "不存在"),
    ]
    for environ, said in cases:
        with pytest.raises(Invalid) as err:
            runs.require_shared_settings(environ)
        assert said in err.value.detail, (environ, err.value.detail)
    good = {**absent, "CLOSELOOP_DATA_DIR": str(tmp_path)}
    runs.require_shared_settings(good)
    assert runs.require_shared_data_dir(good) == tmp_path


def test_deploy_refuses_to_start_without_a_shared_data_dir(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(flows, "orchestrated", lambda: True)  # as with PREFECT_API_URL set
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:9/db")
    monkeypatch.setenv("CLOSELOOP_DATA_DIR", "data")
    assert main(["deploy"]) == 2  # before any Prefect or database call
    assert "CLOSELOOP_DATA_DIR" in capsys.readouterr().err


def test_a_relative_data_dir_is_resolved_when_the_settings_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=Path("data"))
    monkeypatch.chdir(os.path.dirname(tmp_path))  # a flow run's working directory elsewhere
    assert settings.data_dir == tmp_path / "data"
    assert get_settings().data_dir.is_absolute()


def test_jobs_lists_the_latest_runs_and_where_they_ran(engine: Engine, db_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2025, 10, 20, 2, 0, tzinfo=UTC)
    with transaction(engine) as s:
        s.add(JobRun(name="escalation", holder="prefect:abc-123", started_at=now, status="ok"))
        s.add(JobRun(name="delivery", holder="host1:4242:beef", started_at=now, status="ok"))
    os.environ["CLOSELOOP_DATABASE_URL"] = db_url
    get_settings.cache_clear()
    try:
        assert main(["jobs"]) == 0
    finally:
        del os.environ["CLOSELOOP_DATABASE_URL"]
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "*/10 * * * *" in out  # the job table first
    assert "prefect abc-123" in out and "embedded host1:4242" in out
