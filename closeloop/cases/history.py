"""The one function that writes a case's history. Rows are appended, never changed."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
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


def append_many(
    session: Session,
    *,
    cases: list[Case],
    action: str,
    actor: Principal,
    at: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """One entry each for many cases (a letter's, a listing's), as `append` writes it — the
    case's own state as from and to, its snapshot after the change — in three statements
    whatever their number: pending changes flushed, the cases' last seqs read at once, the
    entries inserted at once. A case may appear once. Returns how many were written."""
    if not cases:
        return 0
    ids = [c.id for c in cases]
    assert None not in ids and len(set(ids)) == len(ids)
    session.flush()  # the entries already added count in max(seq)
    table = CaseHistory.__table__  # type: ignore[attr-defined]
    last: dict[int, int] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = session.execute(
            select(table.c.case_id, func.max(table.c.seq))
            .where(table.c.case_id.in_(chunk))
            .group_by(table.c.case_id)
        )
        last.update({case_id: seq for case_id, seq in rows})
    entries = [
        {
            "case_id": case.id,
            "seq": last.get(case.id or 0, 0) + 1,
            "action": action,
            "from_state": case.state,
            "to_state": case.state,
            "actor_id": actor.id,
            "actor": actor.display_name,
            "at": at,
            "note": note,
            "data": data or {},
            "due_at": case.due_at,
            "dispatched_at": case.dispatched_at,
            "closed_at": case.closed_at,
            "listed": case.listed,
            "unit_code": case.unit_code,
        }
        for case in cases
    ]
    session.execute(insert(table), entries)
    return len(entries)
