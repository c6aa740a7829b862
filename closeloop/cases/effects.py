"""What each action changes besides the state: deadlines, the unit, listing, requests. Each effect
is named by its definition in the action table (actions.py) and runs after the table's checks,
on values they already resolved (the unit, the target case, the evidence)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.calendar.service import load_calendar
from closeloop.cases import deadlines, listing, major, tasks
from closeloop.cases.lookup import leaf_category
from closeloop.cases.reasons import Chosen
from closeloop.cases.request_decisions import decide, open_request
from closeloop.cases.requests import Pending
from closeloop.config import Settings
from models.case import ActionInput, Case
from models.enums import CaseKind, NoticeType, RequestStatus, RequestType
from models.org import Category


class ActionContext:
    """What one action works with, and what its checks resolved."""

    def __init__(
        self,
        session: Session,
        case: Case,
        actor: Principal,
        data: ActionInput,
        now: datetime,
        settings: Settings,
        pending: Pending,
    ) -> None:
        self.session = session
        self.case = case
        self.actor = actor
        self.data = data
        self.now = now
        self.settings = settings
        self.pending = pending
        self.cal = load_calendar(session, settings)
        self.record: dict[str, Any] = {}
        self.unit_code: str | None = None  # resolved by Needs.unit
        self.category: Category | None = None
        self.target: Case | None = None  # resolved by Needs.target
        self.attachment_ids: list[int] = []  # checked by Needs.evidence
        self.return_reason: Chosen | None = None  # resolved by Needs.reason_code

    @property
    def text(self) -> str | None:
        return self.data.reason or self.data.note


Effect = Callable[[ActionContext], None]


def dispatch(ctx: ActionContext) -> None:
    case = ctx.case
    assist = tasks.check_assisting(
        ctx.session, case=case, codes=ctx.data.assist_unit_codes or [], lead=ctx.unit_code
    )
    # Deadlines first: a refused due_at must leave the case untouched.
    decided = deadlines.set_dispatch_deadlines(
        case,
        now=ctx.now,
        cal=ctx.cal,
        category=ctx.category,
        settings=ctx.settings,
        due_at=ctx.data.due_at,
        limit_days=ctx.data.limit_days,
    )
    case.unit_code = ctx.unit_code
    case.dispatched_at = ctx.now
    case.signed_at = None
    ctx.record = {"unit_code": ctx.unit_code, **decided}
    if listing.listed_for_itself(case.kind, case.grade):
        listing.set_listed(case, True, now=ctx.now)
        ctx.record["listed"] = True
    if assist:  # 主办/协办: a task per assisting unit, in this transaction
        ctx.record["assist_unit_codes"] = assist
        tasks.open_tasks(
            ctx.session,
            case=case,
            codes=assist,
            actor=ctx.actor,
            now=ctx.now,
            cal=ctx.cal,
            category=ctx.category,
            settings=ctx.settings,
        )


def cancel(ctx: ActionContext) -> None:
    ctx.case.cancelled_at = ctx.now


def withdraw(ctx: ActionContext) -> None:
    ctx.case.cancelled_at = ctx.now
    end_tasks(ctx, "督办件已撤销，协办任务随之结束")
    ctx.case.verify_due_at = None
    _withdraw_requests(ctx)


def merge(ctx: ActionContext) -> None:
    target = ctx.target
    assert target is not None
    ctx.case.merged_into_id = target.id
    ctx.case.cancelled_at = ctx.now
    ctx.record = {"target_case_id": target.id, "target_number": target.number}


def return_(ctx: ActionContext) -> None:
    case = ctx.case
    ctx.record = {"unit_code": case.unit_code, "due_at": _iso(case.due_at)}
    end_tasks(ctx, "案件已退回，协办任务随之结束")
    case.unit_code = None
    case.dispatched_at = None
    case.sign_due_at = None
    case.due_at = None
    listing.set_listed(case, False, now=ctx.now)


def sign(ctx: ActionContext) -> None:
    case = ctx.case
    case.signed_at = ctx.now
    on_time = case.sign_due_at is None or ctx.now <= case.sign_due_at
    ctx.record = {"on_time": on_time}


def request_suspension(ctx: ActionContext) -> None:
    _new_request(ctx, RequestType.suspension, None)


def suspend(ctx: ActionContext) -> None:
    ctx.case.suspended_at = ctx.now
    if ctx.pending.suspension is not None:
        _decide(ctx, ctx.pending.suspension, RequestStatus.approved)


def reject_suspension(ctx: ActionContext) -> None:
    assert ctx.pending.suspension is not None
    _decide(ctx, ctx.pending.suspension, RequestStatus.rejected)


def resume(ctx: ActionContext) -> None:
    ctx.record = deadlines.resume_after_suspension(ctx.case, now=ctx.now, cal=ctx.cal)
    ctx.case.suspended_at = None


def submit(ctx: ActionContext) -> None:
    case = ctx.case
    case.submitted_at = ctx.now
    deadlines.set_verification_deadline(case, now=ctx.now, cal=ctx.cal, settings=ctx.settings)
    ctx.record = {"attachment_ids": ctx.attachment_ids, "verify_due_at": _iso(case.verify_due_at)}


def approve(ctx: ActionContext) -> None:
    case = ctx.case
    case.closed_at = ctx.now
    case.verify_due_at = None
    on_time = case.due_at is None or ctx.now <= case.due_at
    ctx.record = {"on_time": on_time}
    if case.kind == CaseKind.event:  # 回访: an event is followed up within the working days set
        case.follow_up_due_at = deadlines.follow_up_due(ctx.now, cal=ctx.cal, settings=ctx.settings)
    _withdraw_requests(ctx)
    if listing.listed_for_itself(case.kind, case.grade):  # 摘牌: its delisting notice falls due
        major.open_notice(ctx.session, case, NoticeType.delisting, now=ctx.now, cal=ctx.cal)


def reject(ctx: ActionContext) -> None:
    ctx.case.rework_count += 1
    ctx.case.verify_due_at = None
    ctx.record = {"rework_count": ctx.case.rework_count, "due_at": _iso(ctx.case.due_at)}


def reopen(ctx: ActionContext) -> None:
    case = ctx.case
    category = leaf_category(ctx.session, case.category_code) if case.category_code else None
    days = ctx.data.limit_days or deadlines.rectification_limit(category, ctx.settings)
    ctx.record = {"closed_at": _iso(case.closed_at)}
    case.closed_at = None
    case.follow_up_due_at = None  # reopened: nothing to follow up until it closes again
    ctx.record.update(deadlines.set_reopen_deadline(case, now=ctx.now, cal=ctx.cal, days=days))


def request_extension(ctx: ActionContext) -> None:
    _new_request(ctx, RequestType.extension, ctx.data.days)


def approve_extension(ctx: ActionContext) -> None:
    req = ctx.pending.extension
    assert req is not None and ctx.case.due_at is not None
    days = ctx.data.days or req.days or 0
    _decide(ctx, req, RequestStatus.approved)
    ctx.record.update(deadlines.extend(ctx.case, cal=ctx.cal, days=days))


def reject_extension(ctx: ActionContext) -> None:
    assert ctx.pending.extension is not None
    _decide(ctx, ctx.pending.extension, RequestStatus.rejected)


def _withdraw_requests(ctx: ActionContext) -> None:
    for req in (ctx.pending.extension, ctx.pending.suspension):
        if req is not None:
            _decide(ctx, req, RequestStatus.withdrawn)
    if ctx.pending.return_ is not None:  # a return request ends with the case too
        _decide(ctx, ctx.pending.return_, RequestStatus.withdrawn)


def _new_request(ctx: ActionContext, kind: RequestType, days: int | None) -> None:
    req = open_request(
        ctx.session,
        ctx.pending,
        case_id=ctx.case.id or 0,
        kind=kind,
        days=days,
        reason=(ctx.text or "").strip(),
        actor=ctx.actor,
        now=ctx.now,
    )
    ctx.record = {"request_id": req.id, "days": days}


def _decide(ctx: ActionContext, req: Any, status: RequestStatus) -> None:
    ctx.record.update(decide(ctx.pending, req, status, actor=ctx.actor, now=ctx.now, note=ctx.text))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def end_tasks(ctx: ActionContext, reason: str, *, only_unit: str | None = None) -> None:
    """Co-handling: unfinished assisting tasks end with the lead unit's dispatch (tasks.py)."""
    ended = tasks.end_unfinished(
        ctx.session, case=ctx.case, actor=ctx.actor, now=ctx.now, reason=reason, only_unit=only_unit
    )
    if ended:
        ctx.record["ended_task_ids"] = ended
