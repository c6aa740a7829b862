"""Return review (派单异议审核) and re-dispatch (改派): the effects and preconditions of `return`,
`request_return`, `approve_return`, `reject_return` and `redispatch`, named by their definitions
in the action table (actions.py).

- `return` (退单) records the reason chosen from the admin's list (reasons.py; `other` when none
  is given) and adds the unit to the case's `returned_units`.
- A unit in `returned_units` that has the case again may not `return` it: it asks
  (`request_return`), a supervisor grants (`approve_return`: back to `reported`, as a return) or
  refuses (`reject_return`: the case stays with the unit, its clock running). After signing for a
  case (rectifying) any unit must ask: a direct return is for a case not yet signed for.
- `redispatch` (改派) moves a dispatched or rectifying case to another unit with fresh signing and
  rectification deadlines (the dispatch effect: one place computes them); the old unit's pending
  requests are withdrawn.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from closeloop.cases import effects
from closeloop.cases.effects import ActionContext
from closeloop.cases.reasons import Chosen
from closeloop.cases.request_decisions import decide, none_pending, open_request
from closeloop.cases.requests import Pending
from closeloop.config import Settings
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.case import Case, CaseRequest
from models.enums import Action, CaseKind, CaseState, RequestStatus, RequestType
from models.history import CaseHistory

_ASK_INSTEAD = Msg(
    "本单位已退回过此案件，不能再次退单；如确非本单位职责，请提交退单申请（派单异议），由督办审核",
    "this unit has returned this case before and cannot return it again: ask for a return "
    "review instead (request_return), which a supervisor grants or refuses",
)
_LETTER_NEVER_RETURNED = Msg(
    "督办件不能退单：督办件随函件发给受函单位",
    "a letter case is never returned: it goes to the unit its letter is addressed to",
)
_LETTER_NEVER_REDISPATCHED = Msg(
    "督办件不能改派：督办件随函件发给受函单位",
    "a letter case is never re-dispatched: it goes to the unit its letter is addressed to",
)
_RETURN_DIRECTLY = Msg(
    "尚未签收且本单位未曾退回的案件可直接退单，无需申请",
    "a case not yet signed for, which this unit has never returned, is returned directly "
    "(return), without a request",
)
_one_at_a_time = none_pending(RequestType.return_)


def has_returned(case: Case) -> bool:
    """The unit holding the case has returned it before (it is in returned_units)."""
    return bool(case.unit_code) and case.unit_code in (case.returned_units or [])


# --- preconditions ---------------------------------------------------------------------------


def first_return(case: Case, pending: Pending, now: datetime, settings: Settings) -> Msg | None:
    """`return`: only a unit that has not returned this case before returns it directly."""
    return _ASK_INSTEAD if has_returned(case) else None


def may_request_return(
    case: Case, pending: Pending, now: datetime, settings: Settings
) -> Msg | None:
    """`request_return`: never for a letter case; before signing only for a unit that may not
    return it directly; one request at a time."""
    if case.kind == CaseKind.letter:
        return _LETTER_NEVER_RETURNED
    if case.state == CaseState.dispatched and not has_returned(case):
        return _RETURN_DIRECTLY
    return _one_at_a_time(case, pending, now, settings)


def may_redispatch(case: Case, pending: Pending, now: datetime, settings: Settings) -> Msg | None:
    return _LETTER_NEVER_REDISPATCHED if case.kind == CaseKind.letter else None


# --- effects ---------------------------------------------------------------------------------


def return_(ctx: ActionContext) -> None:
    """退单: the unit leaves the case (effects.return_), the reason and the unit are kept."""
    effects.return_(ctx)
    _returned_by(ctx.case, ctx.record.get("unit_code"))
    ctx.record.update(_chosen(ctx).record())


def request_return(ctx: ActionContext) -> None:
    req = open_request(
        ctx.session,
        ctx.pending,
        case_id=ctx.case.id or 0,
        kind=RequestType.return_,
        days=None,
        reason=(ctx.text or "").strip(),
        actor=ctx.actor,
        now=ctx.now,
    )
    ctx.record = {"request_id": req.id, "unit_code": ctx.case.unit_code, **_chosen(ctx).record()}


def approve_return(ctx: ActionContext) -> None:
    """Granted: the case goes back to `reported` as after a return, with the reason asked for;
    the unit's other pending requests end with it."""
    req = ctx.pending.return_
    assert req is not None
    asked = requested_reason(ctx.session, req)
    withdrawn = _withdraw(ctx, (ctx.pending.extension, ctx.pending.suspension))
    effects.return_(ctx)
    _returned_by(ctx.case, ctx.record.get("unit_code"))
    ctx.case.signed_at = None
    ctx.case.suspended_at = None
    ctx.record.update(_decide(ctx, req, RequestStatus.approved))
    ctx.record.update(asked)
    if withdrawn:
        ctx.record["withdrawn_request_ids"] = withdrawn


def reject_return(ctx: ActionContext) -> None:
    req = ctx.pending.return_
    assert req is not None
    ctx.record = {"unit_code": ctx.case.unit_code, **_decide(ctx, req, RequestStatus.rejected)}


def redispatch(ctx: ActionContext) -> None:
    """改派: to another unit, with the deadlines of a dispatch now (effects.dispatch)."""
    old = ctx.case.unit_code
    if ctx.unit_code == old:
        raise Invalid(
            Msg(
                f"unit_code：案件已由 {old} 办理，改派需选择其他单位",
                f"unit_code: the case is already with {old}; re-dispatch it to another unit",
            )
        )
    effects.dispatch(ctx)  # refuses a bad due_at before changing anything
    # The new lead unit's own assisting task, if it had one, ends: it leads the case now.
    effects.end_tasks(ctx, "该单位改为主办，协办任务随之结束", only_unit=ctx.unit_code)
    pending = ctx.pending
    withdrawn = _withdraw(ctx, (pending.extension, pending.suspension, pending.return_))
    ctx.record = {"from_unit_code": old, **ctx.record}
    if withdrawn:
        ctx.record["withdrawn_request_ids"] = withdrawn


# --- helpers ---------------------------------------------------------------------------------


def requested_reason(session: Session, req: CaseRequest) -> dict[str, str]:
    """The reason code and name a return request asked with (its history entry keeps them)."""
    rows = session.exec(
        select(CaseHistory)
        .where(
            CaseHistory.case_id == req.case_id,
            CaseHistory.action == Action.request_return,
        )
        .order_by(col(CaseHistory.seq).desc())
    )
    for row in rows:
        data = row.data or {}
        if data.get("request_id") == req.id and data.get("reason_code"):
            return {"reason_code": data["reason_code"], "reason_name": data.get("reason_name", "")}
    return {}


def _chosen(ctx: ActionContext) -> Chosen:
    assert ctx.return_reason is not None, "Needs.reason_code resolves the reason first"
    return ctx.return_reason


def _returned_by(case: Case, unit_code: object) -> None:
    """Add the unit to returned_units (a new list, so the JSON column is seen as changed)."""
    if isinstance(unit_code, str) and unit_code not in (case.returned_units or []):
        case.returned_units = [*(case.returned_units or []), unit_code]


def _withdraw(ctx: ActionContext, requests: tuple[CaseRequest | None, ...]) -> list[int]:
    ids = []
    for req in requests:
        if req is not None:
            _decide(ctx, req, RequestStatus.withdrawn)
            ids.append(req.id or 0)
    return ids


def _decide(ctx: ActionContext, req: CaseRequest, status: RequestStatus) -> dict[str, object]:
    return decide(ctx.pending, req, status, actor=ctx.actor, now=ctx.now, note=ctx.text)
