"""Follow-up (回访) of a closed event, and the rework (重办) an unsatisfied answer causes.

`follow_up` is a record on a closed event (the action table, actions.py): the grid worker who
filed it asks on site, or the desk (dispatcher, supervisor) by telephone. It writes a FollowUp
row, keeps the latest answer on the case and clears the follow-up deadline. An unsatisfied answer
makes perform take `rework` next, in the same transaction (Definition.then): the case goes back to
rectifying with its original unit, rework +1 and a fresh rectification limit from now — also past
the reopen window, since the reporter's word decides. Nobody takes `rework` by hand.

The desk's 待回访 list (`due`) and a case's follow-ups (`of_case`) are read here too; the overdue
follow-ups escalate in closeloop/escalation/followups.py.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases import deadlines
from closeloop.cases.effects import ActionContext
from closeloop.cases.lookup import jurisdiction, leaf_category, load_case
from closeloop.config import Settings
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.case import Case
from models.enums import Action, CaseKind, CaseState, FollowUpChannel, Role, Satisfaction
from models.followup import FollowUp
from models.user import User

DESK_ROLES = (Role.dispatcher, Role.supervisor)
SATISFIED = (Satisfaction.satisfied, Satisfaction.basically_satisfied)
DUE_LIST_SIZE = 200


def check_satisfaction(value: str | None, name: Msg) -> Satisfaction:
    """The answer of a follow-up, required and one of the three (422 naming them)."""
    if value in Satisfaction._value2member_map_:
        return Satisfaction(str(value))
    allowed = Msg.join((labels.SATISFACTION[s] for s in Satisfaction), "、", ", ")
    codes = "|".join(s.value for s in Satisfaction)
    told = f"（收到 {value!r}）" if value else ""
    raise Invalid(
        Msg(
            f"{name:zh}需要填写满意度：{allowed.zh}{told}",
            f"{name:en} needs satisfaction: one of {codes}" + (f", not {value!r}" if value else ""),
        )
    )


def closed_known(case: Case, pending: object, now: datetime, settings: Settings) -> Msg | None:
    """A precondition of follow_up: the closure it follows up is known (an imported closed case
    without a close time cannot be followed up)."""
    if case.closed_at is None:
        return Msg("案件没有办结时间，不能回访", "the case has no close time to follow up")
    return None


def channel_of(actor: Principal) -> FollowUpChannel:
    return FollowUpChannel.on_site if actor.role == Role.reporter else FollowUpChannel.desk


def follow_up(ctx: ActionContext) -> None:
    """The effect of `follow_up`: the FollowUp row and the case's latest answer."""
    case = ctx.case
    answer = Satisfaction(str(ctx.data.satisfaction))  # checked by Needs.satisfaction
    assert case.id is not None and case.closed_at is not None and ctx.actor.id is not None
    row = FollowUp(
        case_id=case.id,
        satisfaction=answer,
        channel=channel_of(ctx.actor),
        note=(ctx.data.note or "").strip(),
        by_id=ctx.actor.id,
        at=ctx.now,
        closed_at=case.closed_at,
    )
    ctx.session.add(row)
    ctx.session.flush()
    case.followed_up_at = ctx.now
    case.satisfaction = answer.value
    case.follow_up_due_at = None
    ctx.record = {
        "follow_up_id": row.id,
        "satisfaction": answer.value,
        "channel": row.channel.value if hasattr(row.channel, "value") else row.channel,
    }


def then_rework(ctx: ActionContext) -> Action | None:
    """What follows a follow-up: rework (重办) when the answer is unsatisfied."""
    return Action.rework if ctx.data.satisfaction == Satisfaction.unsatisfied else None


def rework(ctx: ActionContext) -> None:
    """The effect of `rework`: the original unit again, rework +1, a fresh rectification limit
    from now (the category's, as a dispatch computes it)."""
    case = ctx.case
    category = leaf_category(ctx.session, case.category_code) if case.category_code else None
    days = deadlines.rectification_limit(category, ctx.settings)
    ctx.record.update({"closed_at": case.closed_at.isoformat() if case.closed_at else None})
    case.closed_at = None
    case.follow_up_due_at = None
    case.verify_due_at = None
    case.rework_count += 1
    ctx.record.update({"unit_code": case.unit_code, "rework_count": case.rework_count})
    ctx.record.update(deadlines.set_reopen_deadline(case, now=ctx.now, cal=ctx.cal, days=days))


# --- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    case: Case
    due_at: datetime
    overdue: bool


def pending_clause() -> object:
    """A closed event waiting for its follow-up (the index (state, follow_up_due_at))."""
    return (
        (col(Case.state) == CaseState.closed.value)
        & col(Case.follow_up_due_at).is_not(None)
        & (col(Case.kind) == CaseKind.event.value)
    )


def due(session: Session, *, actor: Principal, now: datetime) -> list[Due]:
    """The desk's 待回访 list: closed events of its region not yet followed up, the most urgent
    (overdue first, by deadline) first."""
    policy.require_role(actor, *DESK_ROLES)
    stmt = (
        select(Case)
        .where(pending_clause())  # type: ignore[arg-type]
        .order_by(col(Case.follow_up_due_at), col(Case.id))
        .limit(DUE_LIST_SIZE)
    )
    rows = session.exec(jurisdiction(stmt, actor))
    return [
        Due(c, c.follow_up_due_at, c.follow_up_due_at < now)
        for c in rows
        if c.follow_up_due_at is not None
    ]


@dataclass(frozen=True)
class Entry:
    follow_up: FollowUp
    by: str  # the display name of who followed up


def of_case(session: Session, *, actor: Principal, case_id: int) -> list[Entry]:
    """A case's follow-ups, oldest first, for whoever may see the case."""
    load_case(session, actor=actor, case_id=case_id)
    rows = list(
        session.exec(select(FollowUp).where(FollowUp.case_id == case_id).order_by(col(FollowUp.at)))
    )
    ids = {r.by_id for r in rows}
    names = (
        dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all())
        if ids
        else {}
    )
    return [Entry(r, names.get(r.by_id, "")) for r in rows]
