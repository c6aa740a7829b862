"""The escalation ladder (DESIGN.md): 临期提醒, 催办, 提醒函, 督办函, 警示函 + 挂牌督办, 核查超期.

Every function takes the caller's session and never commits; the caller owns the transaction.

    units(session, now=…)                 the sweep: rows checked and the candidate cases per unit
    escalate_unit(session, now=…, case_ids=…)  one unit's share: lock, re-check, claim, act
    run(session, now=…)                   both at once, in one transaction (tests, the demo)
    preview(session, now=…)               the dry run: what a run at `now` would fire; writes nothing
    check_now(now, real_now=…)            the rule every edge applies first: no run in the future
    total(checked, parts)                 the run's summary from the units' summaries

The job itself — one transaction per unit, what to do when one fails or the database goes away —
is the escalation flow's (workflows/flows.py), which `closeloop escalate`, POST
/escalations/run, the embedded scheduler and the Prefect deployments all run. Each (case,
deadline version, level) fires once, by the unique constraint of escalation_fire: repeating a
run, running two at once, or re-running a unit after a crash or a retry fires nothing twice.
When a run stops part-way the flow raises EscalationIncomplete (503 when the database went
away): what was done is kept, and running it again completes it.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from closeloop.calendar.service import load_calendar
from closeloop.config import Settings, get_settings
from closeloop.errors import DomainError, Invalid
from closeloop.escalation import deadlines
from closeloop.escalation import preview as escalation_preview
from closeloop.escalation.claims import Counts, UnitRun
from closeloop.escalation.policy import Policy, load_policy
from closeloop.escalation.sweep import SweepContext, by_unit, load_classes, sweep
from closeloop.text import Msg, local_minute

log = logging.getLogger(__name__)


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
        Msg(
            f"升级时间 {fmt(now)} 晚于当前时间 {fmt(real_now)}（允许误差 {skew} 分钟）：不能以未来时间"
            "发函；如需预览请使用试运行（dry run）",
            f"now {fmt(now)} is later than the current time {fmt(real_now)} (Asia/Shanghai; "
            f"{skew} minutes of clock skew allowed): escalation cannot issue letters dated in the "
            "future; use a dry run to see what would fire then",
        )
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
    out = escalation_preview.preview(session, ctx, region_path=region_path)
    if region_path is None:  # the deadlines beyond cases are the whole district's
        return with_deadlines(out, deadlines.preview(session, now=now, settings=ctx.settings))
    return out


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
    out = Counts(checked=checked)
    for ids in by_unit(candidates).values():
        out.add(UnitRun(session, ctx).run(ids))
    late = deadlines.run(session, now=now, settings=ctx.settings)
    session.flush()
    return with_deadlines(out.as_dict(), late)


def escalate_deadlines(
    session: Session, *, now: datetime, settings: Settings | None = None
) -> dict[str, int]:
    """The deadlines that are not a case's (notices to publish, risk reports to review) late at
    `now`, escalated in the caller's session: the notices sent per kind."""
    return deadlines.run(session, now=now, settings=settings)


def with_deadlines(summary: dict[str, Any], late: dict[str, int]) -> dict[str, Any]:
    """The summary with the deadline notices counted in "notifications" (the summary keeps the
    contract's shape; the count per kind goes to the log)."""
    if any(late.values()):
        log.info("deadline notices sent: %s", late)
    return {**summary, "notifications": summary["notifications"] + sum(late.values())}


def units(
    session: Session,
    *,
    now: datetime,
    policy: Policy | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The sweep of a run at `now`: {"checked": rows checked, "units": {unit code: [case ids]}},
    units in code order (every process takes the same order). Reads only; a bad policy file
    stops the run here, before anything is written."""
    ctx = _context(session, now=now, policy=policy, settings=settings)
    checked, candidates = sweep(session, ctx)
    return {"checked": checked, "units": by_unit(candidates)}


def escalate_unit(
    session: Session,
    *,
    now: datetime,
    case_ids: list[int],
    policy: Policy | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Escalate these cases (one unit's, from `units`) as due at `now`, in the caller's session:
    they are locked and judged again, so cases handled since the sweep, or claimed by another
    run, fire nothing. Returns the unit's summary (its "checked" is 0: the sweep counts)."""
    ctx = _context(session, now=now, policy=policy, settings=settings)
    counts = UnitRun(session, ctx).run(case_ids)
    session.flush()
    return counts.as_dict()


def total(checked: int, parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A run's summary, {"checked", "notifications", "letters": {"reminder", "supervision",
    "warning"}, "listed"}, from the sweep's count and the units' summaries."""
    out = Counts(checked=checked)
    for part in parts:
        out.add(Counts(**part))
    return out.as_dict()


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
