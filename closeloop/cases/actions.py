"""`perform`: every lifecycle action on a case goes through this one function.

load (404) → jurisdiction (403) → role (403) → version (409) → state (409) → preconditions and
input (409/422) → the machine moves the state → deadlines → history → flush, where the UPDATE is
`… WHERE id = :id AND version = :v` (a lost race is a 409). The caller's boundary commits.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases import deadlines, history, lifecycle
from closeloop.cases import notices as action_notices
from closeloop.cases.service import (
    Pending,
    leaf_category,
    load_case,
    pending_requests,
    precondition_failure,
    require_unit,
)
from closeloop.config import Settings, get_settings
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.text import Msg
from models.attachment import Attachment
from models.case import ActionInput, Case, CaseRequest
from models.enums import Action, CaseKind, CaseState, Grade, RequestStatus, RequestType
from models.org import Category

NEEDS_REASON = {
    Action.cancel,
    Action.return_,
    Action.suspend,
    Action.reject,
    Action.reopen,
    Action.request_extension,
    Action.request_suspension,
    Action.reject_extension,
    Action.reject_suspension,
}


class ActionContext:
    """What one action works with."""

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
        self.cal = deadlines.load_calendar(session, settings)
        self.record: dict[str, Any] = {}

    @property
    def text(self) -> str | None:
        return self.data.reason or self.data.note


def perform(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    action: str,
    data: ActionInput,
    now: datetime,
    settings: Settings | None = None,
) -> Case:
    settings = settings or get_settings()
    if action not in Action._value2member_map_:
        names = ", ".join(a.value for a in Action)
        raise NotFound(Msg(f"没有动作 {action}", f"there is no action {action!r}; actions: {names}"))
    case = load_case(session, actor=actor, case_id=case_id)
    if action == Action.withdraw:
        raise Forbidden(
            Msg("督办件随其函件作废而撤销，请作废函件", "a letter case ends only when its letter is "
            "withdrawn: POST /api/v1/letters/{id}/withdraw")
        )
    if not policy.role_may(actor, action, kind=case.kind, reporter_id=case.reporter_id):
        raise Forbidden(
            Msg(f"角色 {actor.role} 不能对{case.kind}执行 {action}", f"role {actor.role} may not "
            f"{action} a {case.kind}")
        )
    if data.version is not None and data.version != case.version:
        raise Conflict(
            Msg(f"案件已被他人修改（版本 {case.version}），请刷新后重试", "the case changed: it is at "
            f"version {case.version}, you sent {data.version}; reload and try again"),
            current_version=case.version,
        )
    assert case.id is not None
    pending = pending_requests(session, [case.id])[case.id]
    ctx = ActionContext(session, case, actor, data, now, settings, pending)
    allowed = lifecycle.actions_in(case.state, case.kind)
    if action not in allowed:
        # What this caller may do now: the same list as the case's allowed_actions.
        mine = [
            a
            for a in allowed
            if policy.role_may(actor, a, kind=case.kind, reporter_id=case.reporter_id)
            and not precondition_failure(case, a, pending=pending, now=now, settings=settings)
        ]
        never = case.kind == CaseKind.letter and action in lifecycle.LETTER_NEVER
        raise Conflict(
            Msg(
                ("督办件不能退单、撤销或合并；" if never else "")
                + f"案件处于 {case.state} 状态，不能 {action}；可执行：{', '.join(mine) or '无'}",
                ("a letter case can never be returned, cancelled or merged; " if never else "")
                + f"{action} is not allowed in state {case.state}; allowed now: "
                f"{', '.join(mine) or 'none'}",
            ),
            state=case.state,
            allowed_actions=mine,
        )
    why = precondition_failure(case, action, pending=pending, now=now, settings=settings)
    if why:
        raise Conflict(why)
    if action in NEEDS_REASON and not (ctx.text or "").strip():
        raise Invalid(Msg(f"{action} 需要填写原因", f"{action} needs a reason"))
    return _apply(ctx, action)


def _apply(ctx: "ActionContext", action: str) -> Case:
    """The effect, the machine's move, the version compare-and-swap, history and notices."""
    session, case, actor, now = ctx.session, ctx.case, ctx.actor, ctx.now
    before = case.state
    try:
        EFFECTS[Action(action)](ctx)
        _, after = lifecycle.fire(case, action)
        case.updated_at = now
        flag_modified(case, "updated_at")  # every action bumps the version, even a request
        session.flush()  # the version compare-and-swap happens here
        history.append(
            session,
            case=case,
            action=action,
            actor=actor,
            at=now,
            from_state=before,
            to_state=after,
            note=ctx.text,
            data=ctx.record,
        )
        action_notices.after_action(
            session, case=case, action=action, actor=actor, now=now, note=ctx.text
        )
        session.flush()
    except StaleDataError:
        raise Conflict(
            Msg("案件已被他人修改，请刷新后重试", "the case changed while you acted; reload and try again")
        ) from None
    return case


def withdraw_letter_case(
    session: Session,
    *,
    case: Case,
    actor: Principal,
    reason: str,
    now: datetime,
    letter: dict[str, Any],
    settings: Settings | None = None,
) -> Case:
    """The letters service's path for a withdrawn letter (作废): its letter case, if still open,
    is cancelled through the same machine, version check and history as any action. Nobody
    takes `withdraw` by hand (perform refuses it)."""
    if Action.withdraw not in lifecycle.actions_in(case.state, case.kind):
        raise Conflict(
            Msg(f"案件 {case.number} 处于 {case.state} 状态，不能随函件撤销", f"case {case.number} "
            f"({case.kind}, {case.state}) cannot be withdrawn: only an open letter case can"),
            state=case.state,
        )
    assert case.id is not None
    pending = pending_requests(session, [case.id])[case.id]
    data = ActionInput(reason=reason)
    ctx = ActionContext(session, case, actor, data, now, settings or get_settings(), pending)
    ctx.record = dict(letter)
    return _apply(ctx, Action.withdraw)


def _dispatch(ctx: ActionContext) -> None:
    case = ctx.case
    category = ctx.session.get(Category, case.category_code) if case.category_code else None
    unit_code = ctx.data.unit_code or (category.unit_code if category else None)
    if not unit_code:
        raise Invalid(
            Msg("请指定处置单位", "dispatch needs unit_code: the category names no default unit")
        )
    require_unit(ctx.session, unit_code)
    # Deadlines first: a refused due_at must leave the case untouched.
    decided = deadlines.set_dispatch_deadlines(
        case,
        now=ctx.now,
        cal=ctx.cal,
        category=category,
        settings=ctx.settings,
        due_at=ctx.data.due_at,
        limit_days=ctx.data.limit_days,
    )
    case.unit_code = unit_code
    case.dispatched_at = ctx.now
    case.signed_at = None
    ctx.record = {"unit_code": unit_code, **decided}
    if case.kind == CaseKind.hazard and case.grade == Grade.major:
        case.listed = True
        ctx.record["listed"] = True


def _cancel(ctx: ActionContext) -> None:
    ctx.case.cancelled_at = ctx.now


def _withdraw(ctx: ActionContext) -> None:
    ctx.case.cancelled_at = ctx.now
    ctx.case.verify_due_at = None
    for req in (ctx.pending.extension, ctx.pending.suspension):
        if req is not None:
            _decide(ctx, req, RequestStatus.withdrawn)


def _merge(ctx: ActionContext) -> None:
    target_id = ctx.data.target_case_id
    if target_id is None:
        raise Invalid(Msg("合并需要指定目标案件", "merge needs target_case_id: the case this duplicates"))
    if target_id == ctx.case.id:
        raise Invalid(Msg("不能与自身合并", "a case cannot be merged into itself"))
    try:
        target = load_case(ctx.session, actor=ctx.actor, case_id=target_id)
    except NotFound:
        raise Invalid(
            Msg(f"目标案件 {target_id} 不存在", f"target_case_id {target_id} does not exist")
        ) from None
    if target.state == CaseState.cancelled:
        raise Invalid(Msg(f"目标案件 {target.number} 已撤销", f"target case {target.number} is cancelled"))
    ctx.case.merged_into_id = target.id
    ctx.case.cancelled_at = ctx.now
    ctx.record = {"target_case_id": target.id, "target_number": target.number}


def _return(ctx: ActionContext) -> None:
    case = ctx.case
    ctx.record = {"unit_code": case.unit_code, "due_at": _iso(case.due_at)}
    case.unit_code = None
    case.dispatched_at = None
    case.sign_due_at = None
    case.due_at = None
    case.listed = False


def _sign(ctx: ActionContext) -> None:
    case = ctx.case
    case.signed_at = ctx.now
    on_time = case.sign_due_at is None or ctx.now <= case.sign_due_at
    ctx.record = {"on_time": on_time}


def _request_suspension(ctx: ActionContext) -> None:
    _new_request(ctx, RequestType.suspension, None)


def _suspend(ctx: ActionContext) -> None:
    ctx.case.suspended_at = ctx.now
    if ctx.pending.suspension is not None:
        _decide(ctx, ctx.pending.suspension, RequestStatus.approved)


def _reject_suspension(ctx: ActionContext) -> None:
    assert ctx.pending.suspension is not None
    _decide(ctx, ctx.pending.suspension, RequestStatus.rejected)


def _resume(ctx: ActionContext) -> None:
    ctx.record = deadlines.resume_after_suspension(ctx.case, now=ctx.now, cal=ctx.cal)
    ctx.case.suspended_at = None


def _submit(ctx: ActionContext) -> None:
    case = ctx.case
    ids = list(dict.fromkeys(ctx.data.attachment_ids or []))
    if case.kind in (CaseKind.hazard, CaseKind.letter) and not ids:
        raise Invalid(
            Msg("隐患和督办件提交整改需附证明材料", "submitting a hazard or letter needs evidence: "
            "upload after-photos or a document and pass their attachment_ids")
        )
    if ids:
        found = set(
            ctx.session.exec(
                select(Attachment.id).where(
                    col(Attachment.id).in_(ids), Attachment.case_id == case.id
                )
            )
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise Invalid(
                Msg(f"附件 {missing} 不属于本案件", f"attachment_ids {missing} are not "
                f"attachments of case {case.number}")
            )
    case.submitted_at = ctx.now
    deadlines.set_verification_deadline(case, now=ctx.now, cal=ctx.cal, settings=ctx.settings)
    ctx.record = {"attachment_ids": ids, "verify_due_at": _iso(case.verify_due_at)}


def _approve(ctx: ActionContext) -> None:
    case = ctx.case
    case.closed_at = ctx.now
    case.verify_due_at = None
    on_time = case.due_at is None or ctx.now <= case.due_at
    ctx.record = {"on_time": on_time}
    for req in (ctx.pending.extension, ctx.pending.suspension):
        if req is not None:
            _decide(ctx, req, RequestStatus.withdrawn)


def _reject(ctx: ActionContext) -> None:
    ctx.case.rework_count += 1
    ctx.case.verify_due_at = None
    ctx.record = {"rework_count": ctx.case.rework_count, "due_at": _iso(ctx.case.due_at)}


def _reopen(ctx: ActionContext) -> None:
    case = ctx.case
    category = leaf_category(ctx.session, case.category_code) if case.category_code else None
    days = ctx.data.limit_days or deadlines.rectification_limit(category, ctx.settings)
    ctx.record = {"closed_at": _iso(case.closed_at)}
    case.closed_at = None
    ctx.record.update(deadlines.set_reopen_deadline(case, now=ctx.now, cal=ctx.cal, days=days))


def _request_extension(ctx: ActionContext) -> None:
    if not ctx.data.days:
        raise Invalid(Msg("延期申请需填写天数", "request_extension needs days: working days asked for"))
    _new_request(ctx, RequestType.extension, ctx.data.days)


def _approve_extension(ctx: ActionContext) -> None:
    req = ctx.pending.extension
    assert req is not None and ctx.case.due_at is not None
    days = ctx.data.days or req.days or 0
    _decide(ctx, req, RequestStatus.approved)
    ctx.record.update(deadlines.extend(ctx.case, cal=ctx.cal, days=days))


def _reject_extension(ctx: ActionContext) -> None:
    assert ctx.pending.extension is not None
    _decide(ctx, ctx.pending.extension, RequestStatus.rejected)


def _new_request(ctx: ActionContext, kind: RequestType, days: int | None) -> None:
    req = CaseRequest(
        case_id=ctx.case.id or 0,
        type=kind,
        status=RequestStatus.pending,
        days=days,
        reason=(ctx.text or "").strip(),
        requested_by=ctx.actor.id or 0,
        requested_at=ctx.now,
    )
    ctx.session.add(req)
    ctx.session.flush()
    ctx.record = {"request_id": req.id, "days": days}


def _decide(ctx: ActionContext, req: CaseRequest, status: RequestStatus) -> None:
    req.status = status
    req.decided_by = ctx.actor.id
    req.decided_at = ctx.now
    req.decision_note = ctx.text
    ctx.record.update({"request_id": req.id, "request": req.type, "decision": status})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


EFFECTS: dict[Action, Callable[[ActionContext], None]] = {
    Action.dispatch: _dispatch,
    Action.cancel: _cancel,
    Action.merge: _merge,
    Action.return_: _return,
    Action.sign: _sign,
    Action.request_suspension: _request_suspension,
    Action.suspend: _suspend,
    Action.reject_suspension: _reject_suspension,
    Action.resume: _resume,
    Action.submit: _submit,
    Action.approve: _approve,
    Action.reject: _reject,
    Action.reopen: _reopen,
    Action.request_extension: _request_extension,
    Action.approve_extension: _approve_extension,
    Action.reject_extension: _reject_extension,
    Action.withdraw: _withdraw,
}
