"""The embedded scheduler: it really fires on schedule, records each run, and two schedulers on
one database never run the same job at once."""

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.config import Settings
from closeloop.db import new_session
from models.jobs import JobRun
from workflows.embedded import EmbeddedScheduler, cron_trigger, start_embedded
from workflows.jobs import JOBS, TIMEZONE, Job
from workflows.lease import holder_of

SHANGHAI_UTC = timedelta(hours=8)
TICK = Job(
    name="tick",
    flow="none",
    cron="* * * * *",
    description="test job",
    grace_seconds=0.2,
    lease_seconds=30,
)


def _runs(engine: Engine, name: str = "tick") -> list[JobRun]:
    with new_session(engine) as s:
        return list(s.exec(select(JobRun).where(JobRun.name == name).order_by(col(JobRun.id))))


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)


class Work:
    """The test job's body: takes `seconds`, counts how many bodies run at once."""

    def __init__(self, seconds: float, fail_first: bool = False) -> None:
        self.seconds = seconds
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def __call__(self, job: Job, now: datetime) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
            call = self.calls
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.seconds)
            if self.fail_first and call == 1:
                raise RuntimeError("boom")
            return {"call": call, "now": now.isoformat()}
        finally:
            with self.lock:
                self.running -= 1


def test_it_fires_on_schedule_and_records_each_run(engine: Engine) -> None:
    work = Work(0.05, fail_first=True)
    runner = EmbeddedScheduler(
        engine, jobs=(TICK,), run=work, triggers={"tick": IntervalTrigger(seconds=1)}
    )
    runner.start()
    try:
        _wait_for(lambda: len([r for r in _runs(engine) if r.finished_at]) >= 2, timeout=10)
    finally:
        runner.shutdown()
    runs = _runs(engine)
    assert len(runs) >= 2
    assert runs[0].status == "failed" and "boom" in runs[0].summary  # recorded, not lost
    assert runs[1].status == "ok" and json.loads(runs[1].summary)["call"] == 2
    assert {r.holder for r in runs} == {runner.holder}
    assert runs[1].started_at - runs[0].started_at >= timedelta(seconds=0.8)  # the 1 s trigger
    with new_session(engine) as s:  # released: free once the last run's grace has passed
        assert holder_of(s, name="tick", now=datetime.now(UTC) + TICK.grace) is None


def test_two_schedulers_never_run_a_job_at_once(engine: Engine) -> None:
    # Each firing's body takes 0.7 s and both schedulers fire every second, half a second
    # apart: without the lease they would overlap on every firing.
    work = Work(0.7)
    a = EmbeddedScheduler(
        engine, jobs=(TICK,), run=work, triggers={"tick": IntervalTrigger(seconds=1)}
    )
    b = EmbeddedScheduler(
        engine, jobs=(TICK,), run=work, triggers={"tick": IntervalTrigger(seconds=1)}
    )
    a.start()
    time.sleep(0.5)
    b.start()
    try:
        time.sleep(4.2)
    finally:
        a.shutdown()
        b.shutdown()
    runs = [r for r in _runs(engine) if r.finished_at is not None]
    assert len(runs) >= 3
    assert work.most == 1
    assert len(runs) == work.calls
    ordered = sorted(runs, key=lambda r: r.started_at)
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert before.finished_at is not None
        assert after.started_at >= before.finished_at, (before, after)


def _prefect_next(expr: str, start: datetime) -> datetime:
    from prefect.server.schemas.schedules import CronSchedule  # what the Prefect server runs

    dates = asyncio.run(CronSchedule(cron=expr, timezone=TIMEZONE).get_dates(1, start=start))
    return datetime.fromisoformat(dates[0].isoformat())


def test_cron_weekdays_mean_the_same_day_to_apscheduler_and_prefect() -> None:
    # APScheduler 3 counts day_of_week 0 as Monday, crontab and Prefect 0 as Sunday.
    start = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Shanghai
    exprs = [
        "0 8 * * 1",
        "0 8 * * mon",
        "0 8 * * 0",
        "0 8 * * 7",
        "0 8 * * 1-5",
        "0 8 1 jan,apr,jul,oct *",
        *(j.cron for j in JOBS),
    ]
    for expr in exprs:
        ours = cron_trigger(expr).get_next_fire_time(None, start)
        assert ours == _prefect_next(expr, start), expr
    monday = cron_trigger("0 8 * * 1").get_next_fire_time(None, start)
    assert (monday.weekday(), monday.hour, str(monday.tzinfo)) == (0, 8, TIMEZONE)


def test_the_job_table() -> None:
    names = [j.name for j in JOBS]
    assert names[:2] == ["escalation", "delivery"] and len(set(names)) == len(names)
    start = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)
    for job in JOBS:
        trigger = cron_trigger(job.cron)
        first = trigger.get_next_fire_time(None, start)
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        assert timedelta(seconds=job.grace_seconds) < second - first  # never skips a slot
    esc = cron_trigger(JOBS[0].cron).get_next_fire_time(None, start)
    assert esc - start <= timedelta(minutes=10)


@pytest.mark.parametrize("value", ["off", "OFF", " off "])
def test_scheduler_off_starts_nothing(engine: Engine, value: str) -> None:
    assert start_embedded(engine, Settings(scheduler=value)) is None


def test_scheduler_on_registers_the_job_table(engine: Engine) -> None:
    runner = start_embedded(engine, Settings(scheduler="on"))
    assert runner is not None
    try:
        jobs = {j.id: j for j in runner.scheduler.get_jobs()}
        assert set(jobs) == {j.name for j in JOBS}
        esc = jobs["escalation"]
        assert (esc.coalesce, esc.max_instances, esc.misfire_grace_time) == (True, 1, 300)
        assert str(esc.trigger.timezone) == TIMEZONE
    finally:
        runner.shutdown(wait=False)
