"""A recorded run of a job: its lease, its job_run row, its heartbeat — the same for the embedded
scheduler (`closeloop serve`, `closeloop run-job`) and for the runs of the Prefect deployments.

A run first takes the job's lease (workflows.lease): at most one run of a job at a time, whatever
started it. Holding the lease, it marks the job's runs still "running" under another holder as
`crashed`: a live run renews its lease every third of its term, so another holder could only
take the lease once that run's heartbeat had stopped (its process killed, its machine lost).
Then it records itself in job_run (running → ok or failed, with its summary or error), renews the
lease while it runs and gives it back when it ends.

`holder` says where a run ran: `prefect:<flow run id>` for a deployment's run (a worker or a
`closeloop deploy` process), `host:pid:tag` for the embedded scheduler and `closeloop run-job`.

Processes that run flows outside `closeloop serve` must write their files (evidence, letters,
reports) where the API reads them: `require_shared_settings` checks, at their start, that
CLOSELOOP_DATA_DIR and CLOSELOOP_DATABASE_URL name the shared places, not a relative path that
would land in the process's working directory (a Prefect process worker runs each flow in a
temporary directory, deleted afterwards).
"""

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from closeloop.clock import Clock
from closeloop.db import transaction
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.enums import JobStatus
from models.jobs import JobRun
from workflows import lease
from workflows.jobs import Job

log = logging.getLogger("closeloop.scheduler")
PREFECT = "prefect:"
LOST = "心跳停止，运行已丢失（进程被终止或机器失联）/ lost: its heartbeat stopped (process killed?)"


def where(holder: str) -> str:
    """Where a run ran, for people: "prefect <flow run id>" or "embedded <host:pid>"."""
    if holder.startswith(PREFECT):
        return f"prefect {holder.removeprefix(PREFECT)}"
    return "embedded " + ":".join(holder.split(":")[:2])


def flow_run_of(holder: str) -> str | None:
    """The Prefect flow run id of a deployment's run, None for an embedded one."""
    return holder.removeprefix(PREFECT) if holder.startswith(PREFECT) else None


# --- settings a process needs to run flows outside `closeloop serve` -----------------------


def require_shared_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """CLOSELOOP_DATA_DIR, which must be set, absolute and an existing directory (the shared
    mount every API process and worker reads)."""
    env = os.environ if environ is None else environ
    raw = env.get("CLOSELOOP_DATA_DIR", "").strip()
    if not raw:
        raise Invalid(
            Msg(
                "未设置 CLOSELOOP_DATA_DIR：在 closeloop serve 之外运行的流程（Prefect worker、"
                "closeloop deploy）必须把证据、函件和报告写到所有进程共享的绝对路径",
                "CLOSELOOP_DATA_DIR is not set: flows run outside `closeloop serve` (a Prefect "
                "worker, `closeloop deploy`) must write evidence, letters and reports to the "
                "absolute directory every API process reads (e.g. /srv/closeloop/data)",
            )
        )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise Invalid(
            Msg(
                f"CLOSELOOP_DATA_DIR 必须是绝对路径，而不是 {raw!r}",
                f"CLOSELOOP_DATA_DIR must be an absolute path, not {raw!r}: a relative one "
                "depends on each process's working directory",
            )
        )
    if not path.is_dir():
        raise Invalid(
            Msg(
                f"CLOSELOOP_DATA_DIR 目录 {raw} 不存在：请先挂载共享目录",
                f"CLOSELOOP_DATA_DIR {raw} is not a directory: mount the shared directory "
                "the API processes use first",
            )
        )
    return path


def require_shared_database(environ: Mapping[str, str] | None = None) -> str:
    """CLOSELOOP_DATABASE_URL, which must be set (and, for SQLite, an absolute file)."""
    env = os.environ if environ is None else environ
    url = env.get("CLOSELOOP_DATABASE_URL", "").strip()
    if not url:
        raise Invalid(
            Msg(
                "未设置 CLOSELOOP_DATABASE_URL：worker 必须连接 API 使用的同一个数据库",
                "CLOSELOOP_DATABASE_URL is not set: a worker must use the API's database "
                "(postgresql+psycopg://USER:PASSWORD@HOST:5432/closeloop)",
            )
        )
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_absolute():
        raise Invalid(
            Msg(
                "CLOSELOOP_DATABASE_URL 的 SQLite 文件必须是绝对路径",
                "CLOSELOOP_DATABASE_URL names a SQLite file by a relative path: use an "
                "absolute one (sqlite:////srv/closeloop/closeloop.db) or PostgreSQL",
            )
        )
    return url


def require_shared_settings(environ: Mapping[str, str] | None = None) -> None:
    require_shared_database(environ)
    require_shared_data_dir(environ)


# --- the recorded run ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What `run` did: `record` None when another holder had the lease (nothing ran);
    `error` the exception the run raised (recorded as failed); `crashed` the holders of the
    earlier runs it found lost and marked crashed."""

    record: JobRun | None
    error: BaseException | None = None
    crashed: list[str] = field(default_factory=list)


def reap(session: Session, *, name: str, holder: str, now: datetime) -> list[str]:
    """Mark the runs of `name` still "running" under another holder as crashed (the caller
    holds the job's lease, so their heartbeat has stopped). Their holders."""
    rows = session.exec(
        select(JobRun.id, JobRun.holder).where(
            col(JobRun.name) == name,
            col(JobRun.status) == JobStatus.running,
            col(JobRun.holder) != holder,
        )
    ).all()
    if rows:
        summary = json.dumps({"error": LOST}, ensure_ascii=False)
        session.connection().execute(
            update(JobRun)
            .where(col(JobRun.id).in_([r[0] for r in rows]), col(JobRun.status) == "running")
            .values(status=JobStatus.crashed, finished_at=now, summary=summary)
        )
        for run_id, who in rows:
            log.warning("job %s: run %s of %s was lost; marked crashed", name, run_id, who)
    return [r[1] for r in rows]


def run(
    engine: Engine,
    job: Job,
    body: Callable[[datetime], dict[str, Any]],
    *,
    holder: str,
    clock: Clock,
    keep_lease: bool,
) -> Outcome:
    """Run `body(started)` as a recorded run of `job` if `holder` gets its lease. With
    `keep_lease` the lease stays `holder`'s until started + grace after the run, so a second
    scheduler firing the same slot a moment later skips it."""
    with transaction(engine) as s:
        got = lease.acquire(s, name=job.name, holder=holder, now=clock.now(), ttl=job.lease)
        crashed = reap(s, name=job.name, holder=holder, now=clock.now()) if got else []
    if not got:
        log.info("job %s: held by another process, skipped", job.name)
        return Outcome(None)
    started = clock.now()  # read once the lease is ours: runs never overlap in job_run
    try:
        record, error = _recorded(engine, job, body, holder=holder, clock=clock, started=started)
    finally:
        with transaction(engine) as s:
            lease.release(
                s,
                name=job.name,
                holder=holder,
                now=clock.now(),
                keep_until=started + job.grace if keep_lease else None,
            )
    return Outcome(record, error, crashed)


def _recorded(
    engine: Engine,
    job: Job,
    body: Callable[[datetime], dict[str, Any]],
    *,
    holder: str,
    clock: Clock,
    started: datetime,
) -> tuple[JobRun, BaseException | None]:
    record = JobRun(name=job.name, holder=holder, started_at=started)
    with transaction(engine) as s:
        s.add(record)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(engine, job, holder, clock, stop),
        daemon=True,
        name=f"lease-{job.name}",
    )
    beat.start()
    error: BaseException | None = None
    try:
        summary: dict[str, Any] = body(started)
        status = JobStatus.ok
    except Exception as exc:  # recorded for the operator; the next firing tries again
        log.exception("job %s failed", job.name)
        summary, status, error = {"error": f"{type(exc).__name__}: {exc}"}, JobStatus.failed, exc
    finally:
        stop.set()
        beat.join()
    record.finished_at = clock.now()
    record.status = status
    record.summary = json.dumps(summary, ensure_ascii=False, default=str)[:4000]
    with transaction(engine) as s:
        s.connection().execute(
            update(JobRun)
            .where(col(JobRun.id) == record.id)
            .values(finished_at=record.finished_at, status=status, summary=record.summary)
        )
    return record, error


def _heartbeat(engine: Engine, job: Job, holder: str, clock: Clock, stop: threading.Event) -> None:
    every = job.lease_seconds / 3
    while not stop.wait(every):
        try:
            with transaction(engine) as s:
                mine = lease.renew(s, name=job.name, holder=holder, now=clock.now(), ttl=job.lease)
            if not mine:
                log.warning("job %s: lease lost while running", job.name)
        except Exception:
            log.exception("job %s: renewing the lease failed", job.name)


def recent(session: Session, *, limit: int = 20) -> list[JobRun]:
    """The latest runs of every job, newest first."""
    query = select(JobRun).order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
    return list(session.exec(query.limit(limit)))
