"""Whom return review (派单异议审核) and re-dispatch (改派) tell, named by their definitions in the
action table (actions.py): a return request goes to the supervisors (notices.to_roles); its
decision to the unit (and, when granted, to the dispatchers, who dispatch it again); a
re-dispatch to the new unit (as a dispatch) and to the old unit (the case was taken away).

A granted request and a re-dispatch leave the case with another unit (or none): the unit to tell
is the one the action's history entry records (written just before the notices)."""

from sqlmodel import col, select

from closeloop.cases import notices
from closeloop.cases.notices import Notice
from closeloop.text import Msg
from models.enums import Role
from models.history import CaseHistory
from models.outbox import OutboxMessage
from notifications import outbox


def return_granted(n: Notice, note: str | None) -> list[OutboxMessage]:
    unit = _recorded(n, "unit_code")
    granted = Msg("退单申请已批准，案件已退回", "return request granted: the case is returned")
    sent = _tell_unit(n, unit, "return", granted, note)
    again = Msg("退单申请已批准，请重新派遣", "return granted: dispatch again")
    return sent + n.roles((Role.dispatcher,), "returned", again, _note(note))


def redispatched(n: Notice, note: str | None) -> list[OutboxMessage]:
    sent = notices.dispatched(n, note)
    old = _recorded(n, "from_unit_code")
    away = Msg(
        "案件已改派其他单位，无需继续办理", "case re-dispatched to another unit: no further work"
    )
    return sent + _tell_unit(n, old, "redispatched", away, note)


def _tell_unit(
    n: Notice, unit_code: str | None, event: str, what: Msg, note: str | None
) -> list[OutboxMessage]:
    if not unit_code:
        return []
    return outbox.notify_unit(
        n.session,
        unit_code=unit_code,
        event=event,
        subject=n.subject(what),
        body=n.body(what, _note(note)),
        now=n.now,
        key=n.key,
        case_id=n.case.id,
        payload=n.payload,
    )


def _recorded(n: Notice, name: str) -> str | None:
    """A value the action's own history entry (the case's latest) records."""
    row = n.session.exec(
        select(CaseHistory)
        .where(CaseHistory.case_id == n.case.id, CaseHistory.action == n.action)
        .order_by(col(CaseHistory.seq).desc())
        .limit(1)
    ).first()
    value = (row.data or {}).get(name) if row is not None else None
    return value if isinstance(value, str) else None


def _note(note: str | None) -> Msg | None:
    return Msg.same(note) if note else None
