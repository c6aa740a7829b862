"""The embedded scheduler of `closeloop serve`: APScheduler in-process, the job table's crons.

One APScheduler BackgroundScheduler (Asia/Shanghai; per job coalesce=True so missed runs fold
into one, max_instances=1, a misfire grace). Several `serve` processes may share one database:
each firing first takes the job's lease in the database (workflows.lease), so at most one process
runs a job at a time; the others skip that firing. A run is recorded in job_run (running → ok or
failed, with its summary), its lease is renewed while it runs and released when it ends.
"""

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, update
from sqlmodel import col

from closeloop.clock import Clock, SystemClock
from closeloop.config import Settings
from closeloop.db import transaction
from models.enums import JobStatus
from models.jobs import JobRun
from workflows import lease
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
        with transaction(self.engine) as s:
            got = lease.acquire(
                s, name=job.name, holder=self.holder, now=self.clock.now(), ttl=job.lease
            )
        if not got:
            log.info("job %s: held by another process, skipped", job.name)
            return None
        started = self.clock.now()  # read once the lease is ours: runs never overlap in job_run
        try:
            return self._run_recorded(job, started)
        finally:
            with transaction(self.engine) as s:
                lease.release(
                    s,
                    name=job.name,
                    holder=self.holder,
                    now=self.clock.now(),
                    keep_until=started + job.grace if keep_lease else None,
                )

    def _run_recorded(self, job: Job, started: datetime) -> JobRun:
        record = JobRun(name=job.name, holder=self.holder, started_at=started)
        with transaction(self.engine) as s:
            s.add(record)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(job, stop), daemon=True, name=f"lease-{job.name}"
        )
        beat.start()
        try:
            summary: dict[str, Any] = self.run(job, started)
            status = JobStatus.ok
        except Exception as exc:  # recorded for the operator; the next firing tries again
            log.exception("job %s failed", job.name)
            summary, status = {"error": f"{type(exc).__name__}: {exc}"}, JobStatus.failed
        finally:
            stop.set()
            beat.join()
        record.finished_at = self.clock.now()
        record.status = status
        record.summary = json.dumps(summary, ensure_ascii=False, default=str)[:4000]
        with transaction(self.engine) as s:
            s.connection().execute(
                update(JobRun)
                .where(col(JobRun.id) == record.id)
                .values(finished_at=record.finished_at, status=status, summary=record.summary)
            )
        return record

    def _heartbeat(self, job: Job, stop: threading.Event) -> None:
        every = job.lease_seconds / 3
        while not stop.wait(every):
            try:
                with transaction(self.engine) as s:
                    mine = lease.renew(
                        s, name=job.name, holder=self.holder, now=self.clock.now(), ttl=job.lease
                    )
                if not mine:
                    log.warning("job %s: lease lost while running", job.name)
            except Exception:
                log.exception("job %s: renewing the lease failed", job.name)


def start_embedded(engine: Engine, settings: Settings) -> EmbeddedScheduler | None:
    """`closeloop serve`'s scheduler, started; None when CLOSELOOP_SCHEDULER=off."""
    if settings.scheduler.strip().lower() in ("off", "false", "0", "no"):
        log.info("in-process scheduler off (CLOSELOOP_SCHEDULER=off)")
        return None
    scheduler = EmbeddedScheduler(engine, timezone=settings.timezone)
    scheduler.start()
    return scheduler
