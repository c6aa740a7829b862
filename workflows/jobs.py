"""THE job table: the only place schedules live.

The embedded scheduler (`closeloop serve`, workflows/embedded.py) and the Prefect deployments
(`closeloop deploy` or the generated prefect.yaml, workflows/deploy.py) both read it, so the two
modes run the same flows on the same crons. Crons are standard five-field crontab expressions in
Asia/Shanghai; weekdays are written as names (mon…sun) because APScheduler 3 counts 0 as Monday
where crontab (and Prefect) count 0 as Sunday — names mean the same day to both.

This module imports nothing heavy (no Prefect), so `closeloop jobs` answers at once.
"""

from dataclasses import dataclass
from datetime import timedelta

from closeloop.errors import NotFound
from closeloop.text import Msg

TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Job:
    name: str  # also the Prefect deployment's name: <flow>/<name>
    flow: str  # the flow function's name in workflows.flows
    cron: str  # five-field crontab, Asia/Shanghai
    description: str
    # A run later than this after its time is skipped (the next one covers it); and after a run
    # the lease is kept until started + grace, so a second `serve` whose scheduler fired the
    # same slot a moment later does not run it again. Must stay below the cron's interval.
    grace_seconds: float = 30.0
    # How long a lease lasts without renewal; a running job renews it every third of this, so
    # only a crashed holder's lease runs out — and a killed run holds the job back this long at
    # most (its next run then marks it crashed in job_run).
    lease_seconds: float = 90.0

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.grace_seconds)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


JOBS: tuple[Job, ...] = (
    Job(
        name="escalation",
        flow="escalation",
        cron="*/10 * * * *",
        description="升级督办：临期提醒、催办、提醒函、督办函、警示函 / escalation ladder, every 10 minutes",
        grace_seconds=300,
    ),
    Job(
        name="delivery",
        flow="delivery",
        cron="* * * * *",
        description="通知投递：邮件、Webhook、站内信 / deliver due notifications, every minute",
        grace_seconds=30,
    ),
    # Reports: each (cadence, period, district) is made once however often these run.
    Job(
        name="report-weekly",
        flow="report_weekly",
        cron="0 8 * * mon",
        description="周调度报告 / weekly report, Monday 08:00",
        grace_seconds=3600,
    ),
    Job(
        name="report-monthly",
        flow="report_monthly",
        cron="0 8 1 * *",
        description="月分析报告 / monthly report, the 1st at 08:00",
        grace_seconds=3600,
    ),
    Job(
        name="report-quarterly",
        flow="report_quarterly",
        cron="0 8 1 jan,apr,jul,oct *",
        description="季小结报告 / quarterly report, first day of the quarter at 08:00",
        grace_seconds=3600,
    ),
)


def get(name: str, jobs: tuple[Job, ...] = JOBS) -> Job:
    for job in jobs:
        if job.name == name:
            return job
    names = ", ".join(j.name for j in jobs)
    raise NotFound(Msg(f"没有名为 {name!r} 的任务", f"there is no job {name!r}; jobs: {names}"))
