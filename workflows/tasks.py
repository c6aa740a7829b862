"""The flows' tasks: each one unit of work in a transaction of its own, over the domain services.

A task takes plain values — ISO times, ids, codes, and `database`, the name of the engine to use —
and returns plain values; never a session or an ORM object. It opens its own transaction, calls
the services (which take that session and never commit) and commits, so a Prefect retry re-runs
that unit only: one unit's escalation, one batch of messages, one district's report. Each is safe
to run again: escalation claims each level once (escalation_fire), a batch sends only what is
still pending under its claim, a report is made once per scheduled key.

`database`: None is the settings' database (CLOSELOOP_DATABASE_URL, one engine per process): a
deployment's run. An in-process caller with an engine of its own (the API, the embedded scheduler,
`closeloop escalate`) registers it and passes the name it got (its URL without the password).
"""

import logging
import time
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

from closeloop.config import get_settings
from closeloop.db import in_transaction, make_engine, transaction

_engines: dict[str, Engine] = {}
_log = logging.getLogger("closeloop.flows")


def logger() -> Any:
    """Prefect's run logger inside a flow or task run (its lines are the run's log on the
    Prefect server), plain logging outside one (a flow called in-process)."""
    from prefect.context import FlowRunContext, TaskRunContext

    if TaskRunContext.get() is None and FlowRunContext.get() is None:
        return _log
    return get_run_logger()


def _name(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def register(engine: Engine) -> str:
    """Make `engine` the one tasks use for its database; the name to pass them."""
    name = _name(engine.url)
    _engines[name] = engine
    return name


def engine(database: str | None) -> Engine:
    """The engine registered as `database`; for None, the settings' database."""
    if database is None:
        url = get_settings().database_url
        database = _name(make_url(url))
        if database not in _engines:
            _engines[database] = make_engine(url)
    try:
        return _engines[database]
    except KeyError:
        raise LookupError(f"no engine registered for {database}") from None


def _at(now: str) -> datetime:
    return datetime.fromisoformat(now)


# --- escalation: the sweep, then one task per unit -----------------------------------------


@task(name="escalation-sweep", retries=2, retry_delay_seconds=[5, 30], cache_policy=NO_CACHE)
def sweep(now: str, database: str | None) -> dict[str, Any]:
    """{"checked", "units": {unit: [case ids]}} due at `now` (reads only)."""
    from closeloop.escalation import service

    with transaction(engine(database)) as session:
        swept = service.units(session, now=_at(now))
    logger().info(
        "checked %d cases at %s: %d due in %d units",
        swept["checked"],
        now,
        sum(len(ids) for ids in swept["units"].values()),
        len(swept["units"]),
    )
    return swept


@task(
    name="escalate-unit",
    task_run_name="escalate-unit-{unit}",
    retries=2,
    retry_delay_seconds=[5, 30],
    cache_policy=NO_CACHE,
)
def escalate_unit(now: str, unit: str, case_ids: list[int], database: str | None) -> dict[str, Any]:
    """One unit's escalation, committed; run again when chosen as a deadlock victim."""
    from closeloop.escalation import service

    def work(session: Session) -> dict[str, Any]:
        return service.escalate_unit(session, now=_at(now), case_ids=case_ids)

    done = in_transaction(engine(database), work)
    logger().info(
        "unit %s: %d cases, letters %s, %d notifications, %d listed",
        unit,
        len(case_ids),
        done.get("letters"),
        done.get("notifications", 0),
        done.get("listed", 0),
    )
    return done


@task(name="escalate-deadlines", retries=2, retry_delay_seconds=[5, 30], cache_policy=NO_CACHE)
def escalate_deadlines(now: str, database: str | None) -> dict[str, int]:
    """Notices and risk reviews late at `now`, escalated and committed."""
    from closeloop.escalation import service

    def work(session: Session) -> dict[str, int]:
        return service.escalate_deadlines(session, now=_at(now))

    late = in_transaction(engine(database), work)
    logger().info("late notices and risk reviews: %s", late)
    return late


# --- delivery: claim, then one task per batch of messages ----------------------------------


@task(name="claim-messages", retries=2, retry_delay_seconds=[5, 15], cache_policy=NO_CACHE)
def claim(now: str, limit: int, database: str | None) -> dict[str, Any]:
    """{"ids", "until"}: the messages this run claimed and when its claim runs out."""
    from notifications import delivery, folding

    settings = get_settings()
    with transaction(engine(database)) as session:
        ids = delivery.claim_due(session, now=_at(now), settings=settings, limit=limit)
        ids = folding.throttle(session, ids=ids, now=_at(now))  # robots' rate limits
    logger().info("claimed %d messages", len(ids))
    return {"ids": ids, "until": delivery.claim_until(_at(now), settings).isoformat()}


@task(name="send-batch", retries=2, retry_delay_seconds=[5, 15], cache_policy=NO_CACHE)
def send_batch(
    now: str, ids: list[int], until: str, stop: float, first: bool, database: str | None
) -> dict[str, int]:
    """Send the batch's messages still pending under this run's claim (`until`), each result
    recorded in its own transaction. Past `stop` (seconds since the epoch: the run's sending
    time is used up) the rest are given back; the run's `first` message is always sent."""
    from notifications import channels, delivery, folding

    settings = get_settings()
    eng, at = engine(database), _at(now)
    with transaction(eng) as session:
        msgs = delivery.claimed(session, ids=ids, until=_at(until))
        robots = folding.prepare(session, msgs)
    counts = {"sent": 0, "retrying": 0, "failed": 0, "released": 0}
    with channels.http_client(settings) as client:
        for index, msg in enumerate(msgs):
            if (index or not first) and time.time() > stop:
                with transaction(eng) as session:
                    delivery.release(session, msgs=msgs[index:])
                counts["released"] = len(msgs) - index
                break
            error = delivery.send_one(msg, settings, client, robots.get(msg.id or 0))
            with transaction(eng) as session:
                outcome = delivery.record(session, msg=msg, now=at, settings=settings, error=error)
            if outcome.status in counts:
                counts[outcome.status] += 1
    logger().info("messages %s: %s", ids, counts)
    return counts


# --- reports: the districts, then one task per report --------------------------------------


@task(name="report-districts", retries=1, retry_delay_seconds=[60], cache_policy=NO_CACHE)
def report_districts(cadence: str, now: str, database: str | None) -> dict[str, Any]:
    """{"cadence", "period", "regions"} of a scheduled run at `now`."""
    from closeloop.reports import service

    with transaction(engine(database)) as session:
        due = service.scheduled(session, cadence=cadence, now=_at(now))
    logger().info("%s report of %s: districts %s", cadence, due["period"], due["regions"])
    return due


@task(
    name="report",
    task_run_name="report-{cadence}-{period}-{region}",
    retries=1,
    retry_delay_seconds=[60],
    cache_policy=NO_CACHE,
)
def make_report(
    cadence: str, period: str, region: str, now: str, database: str | None
) -> int | None:
    """The district's report of `period`, made once: its id, or None when it exists already."""
    from closeloop.reports import service

    with transaction(engine(database)) as session:
        made = service.make_scheduled(
            session, cadence=cadence, period=period, region_code=region, now=_at(now)
        )
    if made is None:
        logger().info("%s report %s of %s exists already", cadence, period, region)
    else:
        logger().info("%s report %s of %s made: report %d", cadence, period, region, made)
    return made
