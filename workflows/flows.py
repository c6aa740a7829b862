"""The Prefect flows over the domain services: `escalation`, `delivery` and the reports.

Thin on purpose: a flow turns its plain parameters (ISO strings) into a `now`, and its one task
calls the service, which owns its transactions (closeloop.escalation.service.run_all,
notifications.delivery.deliver_due). Nothing but plain values goes in or out.

Every way of running a job ends in `run_job`, and so in these flows: `closeloop escalate`,
`POST /api/v1/escalations/run`, `closeloop run-job`, the embedded scheduler of `closeloop serve`,
and the Prefect deployments (`closeloop deploy`, prefect.yaml + workers), which call the flows
themselves.

Where they run: with a Prefect API configured (PREFECT_API_URL, in the environment or the active
Prefect profile) a call is a tracked Prefect flow run, with task retries. Without one, `run_job`
runs the same flow function in-process, untracked (`flow.fn`, and each task's `.fn`): Prefect's
ephemeral mode would start a temporary Prefect server in a subprocess on first use — measured
here at 9–22 s before the first run (5 s of it importing the server) and about a second per run
after that, with a SQLite database under PREFECT_HOME — which is too slow for a command-line
call or an API request. Without Prefect the embedded scheduler's next firing is the retry.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.context import FlowRunContext
from sqlalchemy import Engine

from closeloop.clock import SystemClock, parse_now
from closeloop.config import get_settings
from workflows import jobs

_engine_override: ContextVar[Engine | None] = ContextVar("closeloop_engine", default=None)
_engines: dict[str, Engine] = {}


def _engine() -> Engine:
    """The caller's engine (the API's, the scheduler's), else one built from the settings —
    a deployment's run gets CLOSELOOP_DATABASE_URL from its environment."""
    engine = _engine_override.get()
    if engine is not None:
        return engine
    from closeloop.db import make_engine

    url = get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


@contextmanager
def using_engine(engine: Engine | None) -> Iterator[None]:
    token = _engine_override.set(engine)
    try:
        yield
    finally:
        _engine_override.reset(token)


def _call(t: Any, *args: Any) -> Any:
    """A task inside a Prefect flow run is a task run (retries, tracking); outside one (the flow
    called in-process as a function) it is its plain function."""
    if FlowRunContext.get() is None:
        return t.fn(*args)
    return t(*args)


def _now(value: str | None) -> str:
    return parse_now(value, default=SystemClock().now()).isoformat()


# Retries wrap the database: both services are idempotent (escalation claims each level once,
# delivery claims each message), so running a task again after a failure duplicates nothing.
@task(name="escalate", retries=2, retry_delay_seconds=[5, 30])
def escalate_task(now: str) -> dict[str, Any]:
    from closeloop.escalation import service

    return service.run_all(_engine(), now=datetime.fromisoformat(now))


@task(name="deliver", retries=2, retry_delay_seconds=[5, 15])
def deliver_task(now: str, limit: int) -> dict[str, Any]:
    from notifications import delivery as service

    return service.deliver_due(_engine(), now=datetime.fromisoformat(now), limit=limit)


@flow(name="escalation", log_prints=False)
def escalation(now: str | None = None) -> dict[str, Any]:
    """升级督办 / escalation: remind, chase and issue letters for what is due at `now`
    (ISO 8601, Asia/Shanghai without an offset; default: the current time)."""
    at = _now(now)
    from closeloop.escalation import service

    # The rule (service.check_now) against this process's clock: no letters dated in the future.
    service.check_now(datetime.fromisoformat(at), real_now=SystemClock().now())
    result: dict[str, Any] = _call(escalate_task, at)
    return result


@flow(name="delivery", log_prints=False)
def delivery(now: str | None = None, limit: int = 200) -> dict[str, Any]:
    """通知投递 / delivery: send the notifications due at `now`, with retries and back-off."""
    result: dict[str, Any] = _call(deliver_task, _now(now), limit)
    return result


# Reports: each run makes the last complete period's report once per district (the report row's
# unique scheduled_key), so a retry, a late run or a second scheduler duplicates nothing.
@task(name="report", retries=1, retry_delay_seconds=[60])
def report_task(cadence: str, now: str) -> dict[str, Any]:
    from closeloop.reports import service

    return service.run_scheduled(_engine(), cadence=cadence, now=datetime.fromisoformat(now))


@flow(name="report_weekly", log_prints=False)
def report_weekly(now: str | None = None) -> dict[str, Any]:
    """周调度报告 / weekly report of the last complete ISO week (run Monday 08:00)."""
    result: dict[str, Any] = _call(report_task, "weekly", _now(now))
    return result


@flow(name="report_monthly", log_prints=False)
def report_monthly(now: str | None = None) -> dict[str, Any]:
    """月分析报告 / monthly report of the last complete month (run on the 1st)."""
    result: dict[str, Any] = _call(report_task, "monthly", _now(now))
    return result


@flow(name="report_quarterly", log_prints=False)
def report_quarterly(now: str | None = None) -> dict[str, Any]:
    """季小结报告 / quarterly report of the last complete quarter (first day of a quarter)."""
    result: dict[str, Any] = _call(report_task, "quarterly", _now(now))
    return result


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
    name: str, *, now: datetime | None = None, engine: Engine | None = None
) -> dict[str, Any]:
    """Run the job `name`'s flow once, now, in this process, on `engine` (default: the
    settings' database). Returns the flow's summary."""
    job = jobs.get(name)
    fl = flow_of(job)
    at = now.isoformat() if now is not None else None
    runner: Callable[..., dict[str, Any]] = fl if orchestrated() else fl.fn
    with using_engine(engine):
        return runner(now=at)
