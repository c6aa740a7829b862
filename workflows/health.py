"""The health summary: one computation behind `GET /metrics` and `closeloop status`.

What an operator needs to know at a glance: is the database reachable and at the schema's head
revision; how many notifications wait in the outbox (by channel) and how old the oldest is; when
each scheduled job (workflows.jobs.JOBS) last succeeded and whether it is overdue against its
cron; how far escalation lags behind now, and how many open cases went past their rectification
deadline since escalation last ran (the ladder has not seen them yet).

Every query is small and indexed: the outbox's pending rows through ix_outbox_due (status, …),
each job's newest runs through job_run's index on name, the cases through ix_case_state_due
(state, due_at). A scrape therefore costs about a dozen point look-ups, however large the tables.

A job is overdue when its next cron slot after its last success (or, for a job that never
succeeded, after the first run any job recorded in this database: the scheduler's start) is more
than the job's grace in the past, unless a run that started at or after that slot is still
running within its lease. A job never run in a database where no job ever ran is "never run",
not overdue: a new installation is not unhealthy.
"""

import functools
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from closeloop.config import Settings, get_settings
from closeloop.db import alembic_config, new_session
from models.case import Case
from models.enums import CaseState, DeliveryStatus, JobStatus
from models.jobs import JobRun
from models.outbox import OutboxMessage
from workflows import lease
from workflows.jobs import JOBS, TIMEZONE, Job


@dataclass
class ChannelDepth:
    channel: str
    pending: int
    oldest_created_at: datetime | None


@dataclass
class JobHealth:
    name: str
    cron: str
    last_run_at: datetime | None = None  # the newest run of any outcome (its start)
    last_status: str | None = None
    last_success_at: datetime | None = None  # start of the newest run that ended ok
    next_due_at: datetime | None = None  # the slot the next success is expected for
    overdue: bool = False
    never_run: bool = False


@dataclass
class Health:
    checked_at: datetime
    database_ok: bool = False
    database_error: str | None = None
    schema_revision: list[str] = field(default_factory=list)
    schema_head: list[str] = field(default_factory=list)
    outbox: list[ChannelDepth] = field(default_factory=list)
    jobs: list[JobHealth] = field(default_factory=list)
    # Open cases whose rectification deadline passed since the last successful escalation run.
    escalation_unseen_overdue: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def schema_current(self) -> bool:
        return self.database_ok and sorted(self.schema_revision) == sorted(self.schema_head)

    @property
    def outbox_pending(self) -> int:
        return sum(c.pending for c in self.outbox)

    @property
    def outbox_oldest_age_seconds(self) -> float | None:
        oldest = [c.oldest_created_at for c in self.outbox if c.oldest_created_at is not None]
        return (self.checked_at - min(oldest)).total_seconds() if oldest else None

    def job(self, name: str) -> JobHealth | None:
        return next((j for j in self.jobs if j.name == name), None)

    @property
    def escalation_lag_seconds(self) -> float | None:
        """How far the last successful escalation run is behind now (None: never succeeded)."""
        job = self.job("escalation")
        if job is None or job.last_success_at is None:
            return None
        return (self.checked_at - job.last_success_at).total_seconds()

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            healthy=self.healthy,
            schema_current=self.schema_current,
            outbox_pending=self.outbox_pending,
            outbox_oldest_age_seconds=self.outbox_oldest_age_seconds,
            escalation_lag_seconds=self.escalation_lag_seconds,
        )
        return _jsonable(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@functools.lru_cache(maxsize=1)
def schema_head() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with this code (read once per process)."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def summary(
    engine: Engine,
    now: datetime | None = None,
    *,
    jobs: tuple[Job, ...] = JOBS,
    settings: Settings | None = None,
) -> Health:
    """The health of the installation behind `engine` at `now` (read only)."""
    settings = settings or get_settings()
    health = Health(checked_at=now or datetime.now(UTC))
    health.schema_head = list(schema_head())
    try:
        with new_session(engine) as session:
            _read(session, health, jobs)
            session.rollback()
        health.database_ok = True
    except SQLAlchemyError as exc:
        health.database_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        health.problems.append(f"database unreachable: {health.database_error}")
        return health
    if not health.schema_current:
        health.problems.append(
            f"schema at {','.join(health.schema_revision) or 'nothing'}, "
            f"code expects {','.join(health.schema_head)}: run `closeloop init` or `serve`"
        )
    for job in health.jobs:
        if job.overdue:
            health.problems.append(
                f"job {job.name} overdue: expected a successful run for "
                f"{job.next_due_at.isoformat() if job.next_due_at else '?'}"
            )
    age = health.outbox_oldest_age_seconds
    limit = settings.health_outbox_max_age_minutes * 60
    if age is not None and limit > 0 and age > limit:
        health.problems.append(
            f"outbox: the oldest undelivered message is {age / 60:.0f} min old "
            f"(limit {settings.health_outbox_max_age_minutes} min)"
        )
    return health


def _read(session: Any, health: Health, jobs: tuple[Job, ...]) -> None:
    conn = session.connection()
    try:
        health.schema_revision = sorted(
            r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))
        )
    except SQLAlchemyError:  # no schema at all: reachable, but not migrated
        session.rollback()
        conn = session.connection()
        health.schema_revision = []
        return
    rows = session.exec(
        select(
            col(OutboxMessage.channel),
            func.count(),
            func.min(OutboxMessage.created_at),
        )
        .where(col(OutboxMessage.status) == DeliveryStatus.pending)
        .group_by(col(OutboxMessage.channel))
    ).all()
    health.outbox = sorted(
        (ChannelDepth(str(ch), int(n), oldest) for ch, n, oldest in rows), key=lambda c: c.channel
    )
    first = session.exec(select(JobRun.started_at).order_by(col(JobRun.id)).limit(1)).first()
    for job in jobs:
        health.jobs.append(_job_health(session, job, health.checked_at, first))
    esc = health.job("escalation")
    since = esc.last_success_at if esc is not None else None
    running = [s.value for s in CaseState.clock_running_states()]
    query = select(func.count()).where(
        col(Case.state).in_(running), col(Case.due_at) <= health.checked_at
    )
    if since is not None:
        query = query.where(col(Case.due_at) > since)
    health.escalation_unseen_overdue = int(session.exec(query).one())


def _job_health(session: Any, job: Job, now: datetime, first_run: datetime | None) -> JobHealth:
    out = JobHealth(name=job.name, cron=job.cron)
    newest = select(JobRun).where(col(JobRun.name) == job.name).order_by(col(JobRun.id).desc())
    last = session.exec(newest.limit(1)).first()
    ok = session.exec(newest.where(col(JobRun.status) == JobStatus.ok).limit(1)).first()
    if last is not None:
        out.last_run_at, out.last_status = last.started_at, str(last.status)
    if ok is not None:
        out.last_success_at = ok.started_at
    since = out.last_success_at or first_run
    if since is None:
        out.never_run = True
        return out
    out.never_run = last is None
    out.next_due_at = next_slot(job.cron, since)
    if out.next_due_at is None or now <= out.next_due_at + job.grace:
        return out
    still_running = (
        last is not None
        and last.status == JobStatus.running
        and last.started_at >= out.next_due_at - job.grace
        # a live run renews its lease (workflows/lease.py) as long as it runs
        and (
            now < last.started_at + job.lease
            or lease.holder_of(session, name=job.name, now=now) == last.holder
        )
    )
    out.overdue = not still_running
    return out


def next_slot(cron: str, after: datetime, timezone: str = TIMEZONE) -> datetime | None:
    """The first time `cron` fires strictly after `after` (UTC)."""
    from datetime import timedelta

    from workflows.embedded import cron_trigger

    trigger = cron_trigger(cron, timezone)
    fire = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return fire.astimezone(UTC) if fire is not None else None


def render_text(health: Health) -> str:
    """What `closeloop status` prints: one fact a line, problems last."""

    def when(at: datetime | None) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if at else "never"

    def ago(seconds: float | None) -> str:
        if seconds is None:
            return "-"
        if seconds < 120:
            return f"{seconds:.0f}s"
        if seconds < 7200:
            return f"{seconds / 60:.0f}min"
        return f"{seconds / 3600:.1f}h"

    lines = [f"状态 status: {'健康 healthy' if health.healthy else '异常 UNHEALTHY'}"]
    if not health.database_ok:
        lines.append(f"database: UNREACHABLE ({health.database_error})")
    else:
        mark = "ok" if health.schema_current else "BEHIND"
        lines.append(
            f"database: reachable; schema {','.join(health.schema_revision) or '-'} "
            f"(head {','.join(health.schema_head)}) {mark}"
        )
        by_channel = ", ".join(f"{c.channel} {c.pending}" for c in health.outbox) or "empty"
        lines.append(
            f"outbox: {health.outbox_pending} undelivered ({by_channel}); "
            f"oldest {ago(health.outbox_oldest_age_seconds)}"
        )
        lines.append(
            f"escalation: lag {ago(health.escalation_lag_seconds)}; "
            f"{health.escalation_unseen_overdue} open case(s) past deadline since the last run"
        )
        for j in health.jobs:
            state = "OVERDUE" if j.overdue else ("never run" if j.never_run else "ok")
            lines.append(
                f"job {j.name:<17} last ok {when(j.last_success_at)}  "
                f"last run {when(j.last_run_at)} {j.last_status or ''}  "
                f"next due {when(j.next_due_at)}  {state}"
            )
    lines += [f"problem: {p}" for p in health.problems]
    return "\n".join(lines) + "\n"
