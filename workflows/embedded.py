"""The embedded scheduler of `closeloop serve`: APScheduler in-process, the job table's crons.

One APScheduler BackgroundScheduler (Asia/Shanghai; per job coalesce=True so missed runs fold
into one, max_instances=1, a misfire grace). Several `serve` processes may share one database:
each firing first takes the job's lease in the database (workflows.lease), so at most one process
runs a job at a time; the others skip that firing. A run is recorded in job_run (running → ok or
failed, with its summary), its lease is renewed while it runs and released when it ends
(workflows.runs, shared with the Prefect deployments' runs).
"""

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from closeloop.clock import Clock, SystemClock
from closeloop.config import Settings
from models.jobs import JobRun
from workflows import runs
from workflows.jobs import JOBS, TIMEZONE, Job

log = logging.getLogger("closeloop.scheduler")
Runner = Callable[[Job, datetime], dict[str, Any]]
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def cron_trigger(expr: str, timezone: str = TIMEZONE) -> CronTrigger:
    """A standard crontab expression as APScheduler 3 must be told it: its day_of_week counts
    0 as Monday, crontab 0 as Sunday, so weekday numbers become names."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron needs 5 fields, got {expr!r}")
    dow = fields[4]
    for digit in "76543210":  # 7 first: both 0 and 7 are Sunday
        dow = dow.replace(digit, DAYS[int(digit)])
    return CronTrigger(
        minute=fields[0],
        hour=fields[1],
        day=fields[2],
        month=fields[3],
        day_of_week=dow,
        timezone=ZoneInfo(timezone),
    )


def run_flow(engine: Engine) -> Runner:
    def run(job: Job, now: datetime) -> dict[str, Any]:
        from workflows.flows import run_job

        return run_job(job.name, now=now, engine=engine)

    return run


class EmbeddedScheduler:
    def __init__(
        self,
        engine: Engine,
        *,
        jobs: Iterable[Job] = JOBS,
        run: Runner | None = None,
        triggers: dict[str, BaseTrigger] | None = None,
        clock: Clock | None = None,
        holder: str | None = None,
        timezone: str = TIMEZONE,
    ) -> None:
        self.engine = engine
        self.jobs = tuple(jobs)
        self.run = run or run_flow(engine)
        self.triggers = triggers or {}
        self.clock = clock or SystemClock()
        self.holder = holder or new_holder()
        self.timezone = timezone
        self.scheduler = BackgroundScheduler(timezone=ZoneInfo(timezone))

    def start(self) -> None:
        for job in self.jobs:
            trigger = self.triggers.get(job.name) or cron_trigger(job.cron, self.timezone)
            self.scheduler.add_job(
                self.fire,
                trigger,
                args=[job],
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(job.grace_seconds)),
                replace_existing=True,
            )
        self.scheduler.start()
        log.info(
            "scheduler started as %s: %s",
            self.holder,
            ", ".join(f"{j.name} [{j.cron}]" for j in self.jobs),
        )

    def shutdown(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def fire(self, job: Job, *, keep_lease: bool = True) -> JobRun | None:
        """Run `job` once if this holder gets its lease: the JobRun, or None when another
        holder has the job now. The lease is kept until started + grace (unless keep_lease is
        False: a run by hand), so another scheduler firing the same slot skips it."""
        outcome = runs.run(
            self.engine,
            job,
            lambda started: self.run(job, started),
            holder=self.holder,
            clock=self.clock,
            keep_lease=keep_lease,
        )
        return outcome.record


def start_embedded(engine: Engine, settings: Settings) -> EmbeddedScheduler | None:
    """`closeloop serve`'s scheduler, started; None when CLOSELOOP_SCHEDULER=off."""
    if settings.scheduler.strip().lower() in ("off", "false", "0", "no"):
        log.info("in-process scheduler off (CLOSELOOP_SCHEDULER=off)")
        return None
    scheduler = EmbeddedScheduler(engine, timezone=settings.timezone)
    scheduler.start()
    return scheduler
