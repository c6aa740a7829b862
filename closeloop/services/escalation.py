"""The escalation ladder (DESIGN.md): 临期提醒, 催办, 提醒函, 督办函, 警示函 + 挂牌督办, 核查超期.

    run(session, now=…)   one transaction's worth, in the caller's session (the caller commits)
    run_all(engine, now=…) the job: the flow, `closeloop escalate` and POST /escalations/run

Both sweep once (escalation_sweep: one indexed query, then the pure rule), then escalate each
unit's candidates (escalation_claims: lock, re-check, claim, act). Each (case, deadline version,
level) fires once, by the unique constraint of escalation_fire: repeating a run, running two at
once, or re-running after a crash fires nothing twice. `run_all` commits each unit on its own, so
a crash keeps the units already done and the next run does the rest.
"""

import logging
import os
import signal
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from closeloop.config import Settings, get_settings
from closeloop.db import transaction
from closeloop.errors import Invalid
from closeloop.services.deadlines import load_calendar
from closeloop.services.escalation_claims import Counts, UnitRun
from closeloop.services.escalation_policy import Policy, load_policy
from closeloop.services.escalation_sweep import Ctx, by_unit, load_classes, sweep

log = logging.getLogger(__name__)

# Fault injection for the crash test only: the job kills its own process (SIGKILL, like kill -9)
# once it has inserted this many claims, before that unit's transaction commits.
CRASH_ENV = "CLOSELOOP_ESCALATION_CRASH_AFTER"
RETRIES = 3  # a unit's transaction chosen as a deadlock victim is run again
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _context(
    session: Session, *, now: datetime, policy: Policy | None, settings: Settings | None
) -> Ctx:
    if now.tzinfo is None:
        raise Invalid("now 必须带时区 / now must be timezone-aware")
    settings = settings or get_settings()
    if policy is None:
        policy = load_policy(settings.escalation_policy or None)
    return Ctx(
        now=now,
        policy=policy,
        cal=load_calendar(session, settings),
        settings=settings,
        classes=load_classes(session),
    )


def run(
    session: Session,
    *,
    now: datetime,
    policy: Policy | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Escalate everything due at `now` in this session; the caller commits."""
    ctx = _context(session, now=now, policy=policy, settings=settings)
    checked, candidates = sweep(session, ctx)
    total = Counts(checked=checked)
    for ids in by_unit(candidates).values():
        total.add(UnitRun(session, ctx).run(ids))
    session.flush()
    return total.as_dict()


def run_all(
    engine: Engine, *, now: datetime, settings: Settings | None = None, policy: Policy | None = None
) -> dict[str, Any]:
    """The job: sweep, then one transaction per unit. Returns the run's summary:
    {"checked", "notifications", "letters": {"reminder", "supervision", "warning"}, "listed"}."""
    settings = settings or get_settings()
    if policy is None:
        policy = load_policy(settings.escalation_policy or None)  # a bad file stops the job here
    with transaction(engine) as session:
        ctx = _context(session, now=now, policy=policy, settings=settings)
        checked, candidates = sweep(session, ctx)
    total = Counts(checked=checked)
    on_claims = _crash_hook()
    failed: dict[str, Exception] = {}
    for unit, ids in by_unit(candidates).items():
        try:
            total.add(_unit_with_retry(engine, ctx, ids, on_claims))
        except Exception as exc:  # one unit's failure must not hold back the others
            log.exception("escalation of unit %s failed", unit)
            failed[unit] = exc
    if failed:
        raise EscalationIncomplete(total.as_dict(), failed)
    return total.as_dict()


class EscalationIncomplete(Exception):
    """Some units could not be escalated (their transactions rolled back; the next run retries
    them); every other unit's work is committed. `summary` is what was done."""

    def __init__(self, summary: dict[str, Any], failed: dict[str, Exception]) -> None:
        names = ", ".join(f"{unit or '-'}: {exc}" for unit, exc in failed.items())
        super().__init__(f"升级未完成的单位 / escalation failed for units: {names}")
        self.summary = summary
        self.failed = failed


def _unit_with_retry(engine: Engine, ctx: Ctx, ids: list[int], on_claims: Any) -> Counts:
    for attempt in range(1, RETRIES + 1):
        try:
            with transaction(engine) as session:
                return UnitRun(session, ctx).run(ids, on_claims)
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in RETRY_SQLSTATES or attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


def _crash_hook() -> Any:
    raw = os.environ.get(CRASH_ENV, "").strip()
    if not raw:
        return None
    limit = int(raw)
    claimed = 0

    def hook(n: int) -> None:
        nonlocal claimed
        claimed += n
        if claimed >= limit:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook
