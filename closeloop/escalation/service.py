"""The escalation ladder (DESIGN.md): 临期提醒, 催办, 提醒函, 督办函, 警示函 + 挂牌督办, 核查超期.

    run(session, now=…)     one transaction's worth, in the caller's session (the caller commits)
    run_all(engine, now=…)  the job: the flow, `closeloop escalate` and POST /escalations/run
    preview(session, now=…) the dry run: what a run at `now` would fire; writes nothing
    check_now(now, real_now=…) the rule every edge applies first: no run in the future

Both sweep once (escalation_sweep: one indexed query, then the pure rule), then escalate each
unit's candidates (escalation_claims: lock, re-check, claim, act). Each (case, deadline version,
level) fires once, by the unique constraint of escalation_fire: repeating a run, running two at
once, or re-running after a crash fires nothing twice. `run_all` commits each unit on its own, so
a crash keeps the units already done and the next run does the rest. When the database goes
away part-way, the run stops and raises EscalationIncomplete (503): what was done is kept, and
running it again completes it.
"""

import logging
import os
import signal
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from closeloop.cases.deadlines import load_calendar
from closeloop.config import Settings, get_settings
from closeloop.db import transaction
from closeloop.errors import DomainError, Invalid
from closeloop.escalation import preview as escalation_preview
from closeloop.escalation.claims import Counts, UnitRun
from closeloop.escalation.policy import Policy, load_policy
from closeloop.escalation.sweep import SweepContext, by_unit, load_classes, sweep
from closeloop.text import Msg, local_minute

log = logging.getLogger(__name__)

# Fault injection for the crash test only: the job kills its own process (SIGKILL, like kill -9)
# once it has inserted this many claims, before that unit's transaction commits.
CRASH_ENV = "CLOSELOOP_ESCALATION_CRASH_AFTER"
RETRIES = 3  # a unit's transaction chosen as a deadlock victim is run again
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _context(
    session: Session, *, now: datetime, policy: Policy | None, settings: Settings | None
) -> SweepContext:
    if now.tzinfo is None:
        raise Invalid(Msg("now 必须带时区", "now must be timezone-aware"))
    settings = settings or get_settings()
    if policy is None:
        policy = load_policy(settings.escalation_policy or None)
    return SweepContext(
        now=now,
        policy=policy,
        cal=load_calendar(session, settings),
        settings=settings,
        classes=load_classes(session),
    )


def check_now(
    now: datetime, *, real_now: datetime, dry_run: bool = False, settings: Settings | None = None
) -> None:
    """Escalation never fires later than the real clock: a `now` more than the allowed skew
    (settings.escalation_max_skew_minutes) ahead of `real_now` is refused, unless it is a dry
    run, which writes nothing."""
    if dry_run:
        return
    settings = settings or get_settings()
    skew = settings.escalation_max_skew_minutes
    if now <= real_now + timedelta(minutes=skew):
        return

    fmt = local_minute

    raise Invalid(
        Msg(f"升级时间 {fmt(now)} 晚于当前时间 {fmt(real_now)}（允许误差 {skew} 分钟）：不能以未来时间"
        "发函；如需预览请使用试运行（dry run）", f"now {fmt(now)} is later than the current time {fmt(real_now)} (Asia/Shanghai; "
        f"{skew} minutes of clock skew allowed): escalation cannot issue letters dated in the "
        "future; use a dry run to see what would fire then")
    )


def preview(
    session: Session,
    *,
    now: datetime,
    region_path: str | None = None,
    policy: Policy | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The dry run: the summary a run at `now` would give, plus "would_fire" (each claim:
    case, level, what it leads to) and "letters_to_issue" (unit, type, cases). Read-only."""
    ctx = _context(session, now=now, policy=policy, settings=settings)
    return escalation_preview.preview(session, ctx, region_path=region_path)


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
    units = list(by_unit(candidates).items())
    for k, (unit, ids) in enumerate(units):
        try:
            total.add(_unit_with_retry(engine, ctx, ids, on_claims))
        except Exception as exc:  # one unit's failure must not hold back the others
            log.exception("escalation of unit %s failed", unit)
            failed[unit] = exc
            if database_unavailable(exc):  # the others would fail the same way: stop here
                pending = [u for u, _ in units[k + 1 :]]
                raise EscalationIncomplete(total.as_dict(), failed, pending, outage=True) from exc
    if failed:
        raise EscalationIncomplete(total.as_dict(), failed, [], outage=False)
    return total.as_dict()


def database_unavailable(exc: BaseException) -> bool:
    """The database went away or cannot be reached (connection lost or refused, locked past the
    busy timeout), as opposed to a fault of one unit's data; a deadlock is neither."""
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES:
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class EscalationIncomplete(DomainError):
    """The run stopped part-way: the units in `failed` (and `pending`, not tried after the
    database went away) rolled back and the next run does them; every other unit's work is
    committed. `summary` is what was done. One message, for the API (503 when the database was
    unavailable, else 500) and the command line."""

    def __init__(
        self,
        summary: dict[str, Any],
        failed: dict[str, Exception],
        pending: list[str],
        outage: bool = False,
    ) -> None:
        self.status = 503 if outage else 500
        self.title = "Service unavailable" if outage else "Internal server error"
        self.summary = summary
        self.failed = failed
        self.pending = pending
        left = [u or "-" for u in [*failed, *pending]]
        letters = summary["letters"]
        done_zh = (
            f"提醒函 {letters['reminder']} 份、督办函 {letters['supervision']} 份、"
            f"警示函 {letters['warning']} 份，通知 {summary['notifications']} 条，"
            f"挂牌督办 {summary['listed']} 件"
        )
        done_en = (
            f"{letters['reminder']} reminder, {letters['supervision']} supervision and "
            f"{letters['warning']} warning letters, {summary['notifications']} notifications, "
            f"{summary['listed']} cases listed"
        )
        why_zh, why_en = (
            ("数据库不可用", "the database became unavailable")
            if outage
            else ("部分单位处理出错", "some units failed")
        )
        detail = Msg(
            f"升级督办运行中途停止：{why_zh}。此前完成的单位已保存（{done_zh}）；"
            f"未完成的单位：{'、'.join(left)}。再次运行即可补全，已完成的不会重复。",
            f"The escalation run stopped part-way: {why_en}. The units finished before were "
            f"saved ({done_en}); not done: {', '.join(left)}. Running it again completes it; "
            "nothing already done is repeated.",
        )
        super().__init__(detail, summary=summary, units_not_done=left)

    def __reduce__(self) -> Any:
        # Picklable (a Prefect task's failed state keeps its exception): the causes as text.
        causes = {unit: RuntimeError(str(exc)) for unit, exc in self.failed.items()}
        return (type(self), (self.summary, causes, self.pending, self.status == 503))


def _unit_with_retry(engine: Engine, ctx: SweepContext, ids: list[int], on_claims: Any) -> Counts:
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
