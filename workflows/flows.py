"""The Prefect flows: `escalation`, `delivery` and the reports. A flow owns the loop and nothing else.

A flow turns its plain parameters (ISO strings) into a `now`, asks one task for the units of work
and runs one task per unit — per unit for escalation, per batch of messages for delivery, per
district for a report — each in a transaction of its own (workflows/tasks.py), so a retry
repeats one unit, not the job. Nothing but plain values goes in or out of a task.

Every way of running a job ends in these flows: `closeloop escalate`, `POST
/api/v1/escalations/run`, `closeloop run-job` and the embedded scheduler of `closeloop serve`
through `run_job`, and the Prefect deployments (`closeloop deploy`, prefect.yaml + workers),
which call the flows themselves. A deployment's run records itself in job_run under the job's
lease (`_as_job`, workflows.runs), as the embedded scheduler records the runs it starts.

Where they run: with a Prefect API configured (PREFECT_API_URL, in the environment or the active
Prefect profile) a call is a tracked Prefect flow run, with task retries. Without one, `run_job`
runs the same flow function in-process, untracked (`flow.fn`, and each task's `.fn`): Prefect's
ephemeral mode would start a temporary Prefect server in a subprocess on first use — measured
here at 9–22 s before the first run (5 s of it importing the server) and about a second per run
after that, with a SQLite database under PREFECT_HOME — which is too slow for a command-line
call or an API request. Without Prefect the embedded scheduler's next firing is the retry; a
unit's transaction chosen as a deadlock victim is run again in either mode.
"""

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prefect import flow
from prefect.context import FlowRunContext
from sqlalchemy import Engine

from closeloop.clock import SystemClock, parse_now
from closeloop.config import get_settings
from closeloop.db import database_unavailable
from workflows import jobs, runs, tasks

log = logging.getLogger(__name__)
BATCH = 20  # messages per delivery task


def _call(t: Any, *args: Any) -> Any:
    """A task inside a Prefect flow run is a task run (retries, tracking); outside one (the flow
    called in-process as a function) it is its plain function."""
    if FlowRunContext.get() is None:
        return t.fn(*args)
    return t(*args)


def _now(value: str | None) -> str:
    return parse_now(value, default=SystemClock().now()).isoformat()


def _deployment_run() -> str | None:
    """The flow run's id when this is a run of a deployment (a worker's, or a `closeloop
    deploy` process's), else None (called in-process: its caller records the run)."""
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx is not None else None
    if run is None or run.deployment_id is None:
        return None
    return str(run.id)


def _as_job(
    flow_name: str, database: str | None, body: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """`body()`, the flow's work, with its summary logged as the run's last line. A
    deployment's run is moreover a recorded run of its job (workflows.runs, as the embedded
    scheduler's): it needs the shared settings, takes the job's lease (held elsewhere: it does
    nothing and says so), marks lost earlier runs crashed (in job_run and in Prefect), and is
    recorded in job_run as `prefect:<flow run id>`; a failure is recorded, then raised so that
    Prefect marks the flow run failed."""
    logger = tasks.logger()
    flow_run_id = _deployment_run()
    if flow_run_id is None:
        summary = body()
        logger.info("%s: %s", flow_name, _json(summary))
        return summary
    if database is None:
        runs.require_shared_database()
    job = next(j for j in jobs.JOBS if j.flow == flow_name)
    done: dict[str, Any] = {}

    def work(_started: datetime) -> dict[str, Any]:
        runs.require_shared_data_dir()  # files where the API reads them, or nothing at all
        done.update(body())
        return done

    outcome = runs.run(
        tasks.engine(database),
        job,
        work,
        holder=runs.PREFECT + flow_run_id,
        clock=SystemClock(),
        keep_lease=False,
    )
    for holder in outcome.crashed:
        _crash_in_prefect(holder)
    if outcome.record is None:
        logger.warning("%s: another run of the job holds its lease; nothing done", job.name)
        return {"skipped": "another run of the job holds its lease"}
    if outcome.error is not None:
        raise outcome.error
    logger.info("%s: %s", flow_name, _json(done))
    return done


def _json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, default=str)


def _crash_in_prefect(holder: str) -> None:
    """Mark a lost deployment run crashed in Prefect too (it stays "Running" there when its
    worker was killed). Best effort: job_run has it crashed already."""
    run_id = runs.flow_run_of(holder)
    if run_id is None or not orchestrated():
        return
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(uuid.UUID(run_id)).state
            if state is None or not state.is_final():
                client.set_flow_run_state(uuid.UUID(run_id), Crashed(message=runs.LOST), force=True)
    except Exception:
        log.warning("could not mark the lost flow run %s crashed in Prefect", run_id, exc_info=True)


@flow(name="escalation", log_prints=False)
def escalation(now: str | None = None, database: str | None = None) -> dict[str, Any]:
    """升级督办 / escalation: remind, chase and issue letters for what is due at `now`
    (ISO 8601, Asia/Shanghai without an offset; default: the current time). One task per unit:
    a unit's failure keeps the others' work; when the database goes away the run stops there.
    Either way it raises EscalationIncomplete with what was done."""
    return _as_job("escalation", database, lambda: _escalation(now, database))


def _escalation(now: str | None, database: str | None) -> dict[str, Any]:
    from closeloop.escalation import service

    at = _now(now)
    # The rule (service.check_now) against this process's clock: no letters dated in the future.
    service.check_now(datetime.fromisoformat(at), real_now=SystemClock().now())
    swept = _call(tasks.sweep, at, database)
    units = list(swept["units"].items())
    done: list[dict[str, Any]] = []
    failed: dict[str, Exception] = {}
    for k, (unit, ids) in enumerate(units):
        try:
            done.append(_call(tasks.escalate_unit, at, unit, ids, database))
        except Exception as exc:  # one unit's failure must not hold back the others
            log.exception("escalation of unit %s failed", unit)
            failed[unit] = exc
            if database_unavailable(exc):  # the others would fail the same way: stop here
                pending = [u for u, _ in units[k + 1 :]]
                summary = service.total(swept["checked"], done)
                raise service.EscalationIncomplete(summary, failed, pending, outage=True) from exc
    late: dict[str, int] = {}
    outage = False
    try:
        late = _call(tasks.escalate_deadlines, at, database)
    except Exception as exc:  # the cases' work is kept; the next run does the deadlines
        log.exception("escalation of late notices and risk reviews failed")
        failed["deadlines"] = exc
        outage = database_unavailable(exc)
    summary = service.with_deadlines(service.total(swept["checked"], done), late)
    if failed:
        raise service.EscalationIncomplete(summary, failed, [], outage=outage)
    return summary


@flow(name="delivery", log_prints=False)
def delivery(
    now: str | None = None, limit: int = 200, database: str | None = None
) -> dict[str, Any]:
    """通知投递 / delivery: send the notifications due at `now`, with retries and back-off.
    {"claimed", "sent", "retrying", "failed"}, and "released" when the run ran out of time and
    gave unsent claims back for the next run."""
    return _as_job("delivery", database, lambda: _delivery(now, limit, database))


def _delivery(now: str | None, limit: int, database: str | None) -> dict[str, Any]:
    from notifications.delivery import send_seconds

    at = _now(now)
    claimed = _call(tasks.claim, at, limit, database)
    stop = time.time() + send_seconds(get_settings())
    ids: list[int] = claimed["ids"]
    counts = {"claimed": len(ids), "sent": 0, "retrying": 0, "failed": 0, "released": 0}
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        part = _call(tasks.send_batch, at, batch, claimed["until"], stop, start == 0, database)
        for key, n in part.items():
            counts[key] += n
    if not counts["released"]:
        del counts["released"]
    return counts


def _report(cadence: str, now: str | None, database: str | None) -> dict[str, Any]:
    """Each run makes the last complete period's report once per district (the report row's
    unique scheduled_key), so a retry, a late run or a second scheduler duplicates nothing."""
    at = _now(now)
    due = _call(tasks.report_districts, cadence, at, database)
    made: list[int] = []
    existing: list[str] = []
    for region in due["regions"]:
        report_id = _call(tasks.make_report, cadence, due["period"], region, at, database)
        if report_id is None:
            existing.append(region)
        else:
            made.append(report_id)
    return {"cadence": cadence, "period": due["period"], "generated": made, "existing": existing}


@flow(name="report_weekly", log_prints=False)
def report_weekly(now: str | None = None, database: str | None = None) -> dict[str, Any]:
    """周调度报告 / weekly report of the last complete ISO week (run Monday 08:00)."""
    return _as_job("report_weekly", database, lambda: _report("weekly", now, database))


@flow(name="report_monthly", log_prints=False)
def report_monthly(now: str | None = None, database: str | None = None) -> dict[str, Any]:
    """月分析报告 / monthly report of the last complete month (run on the 1st)."""
    return _as_job("report_monthly", database, lambda: _report("monthly", now, database))


@flow(name="report_quarterly", log_prints=False)
def report_quarterly(now: str | None = None, database: str | None = None) -> dict[str, Any]:
    """季小结报告 / quarterly report of the last complete quarter (first day of a quarter)."""
    return _as_job("report_quarterly", database, lambda: _report("quarterly", now, database))


FLOWS: dict[str, Any] = {
    "escalation": escalation,
    "delivery": delivery,
    "report_weekly": report_weekly,
    "report_monthly": report_monthly,
    "report_quarterly": report_quarterly,
}


def orchestrated() -> bool:
    """Whether a Prefect API is configured, so that flow runs are tracked by it."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def flow_of(job: jobs.Job) -> Any:
    return FLOWS[job.flow]


def run_job(
    name: str, *, now: datetime | None = None, engine: Engine | None = None, **parameters: Any
) -> dict[str, Any]:
    """Run the job `name`'s flow once, now, in this process, on `engine` (default: the
    settings' database), with the flow's other `parameters` (delivery's `limit`). Returns the
    flow's summary."""
    job = jobs.get(name)
    fl = flow_of(job)
    at = now.isoformat() if now is not None else None
    database = tasks.register(engine) if engine is not None else None
    runner: Callable[..., dict[str, Any]] = fl if orchestrated() else fl.fn
    return runner(now=at, database=database, **parameters)
