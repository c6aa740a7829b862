"""The one function that writes a case's history. Rows are appended, never changed."""

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.errors import NotFound
from closeloop.text import Msg
from models.case import Case
from models.history import CaseHistory, HistoryPublic


def append(
    session: Session,
    *,
    case: Case,
    action: str,
    actor: Principal,
    at: datetime,
    from_state: str | None,
    to_state: str | None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> CaseHistory:
    assert case.id is not None
    last = session.exec(
        select(func.max(CaseHistory.seq)).where(CaseHistory.case_id == case.id)
    ).one()
    entry = CaseHistory(
        case_id=case.id,
        seq=(last or 0) + 1,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.id,
        actor=actor.display_name,
        at=at,
        note=note,
        data=data or {},
        # The snapshot: `case` as it stands after this entry (callers change it first).
        due_at=case.due_at,
        dispatched_at=case.dispatched_at,
        closed_at=case.closed_at,
        listed=case.listed,
        unit_code=case.unit_code,
    )
    session.add(entry)
    return entry


def history_of(session: Session, *, case_id: int) -> list[HistoryPublic]:
    if session.get(Case, case_id) is None:
        raise NotFound(Msg(f"案件 {case_id} 不存在", f"case {case_id} does not exist"))
    rows = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(col(CaseHistory.seq))
    )
    return [HistoryPublic.model_validate(row, from_attributes=True) for row in rows]
