"""The one function that writes a case's history. Rows are appended, never changed.

Each entry's `seq` is the case's previous one + 1 ((case_id, seq) is unique). The previous one is
read once per case and transaction (`max(seq)`, by its first entry's own `INSERT … SELECT`),
then counted here: the session remembers, per
case, the last entry it appended in its current transaction. A case inserted in this transaction
starts at 0 without a read. The memory is dropped when the transaction ends, and not trusted when
its last entry is no longer in the session (a savepoint rolled back): then `max(seq)` is read
again. An entry is written at once, by a Core INSERT (`_insert`), not by the unit of work.
Concurrent appenders to one case are ordered as before: the read happens where it did (after the
action's UPDATE of the case, under its row lock or SQLite's write lock), and a later entry of the
same transaction follows the writer's own entries, which nobody else can interleave without
colliding on the version or on (case_id, seq).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, insert, inspect
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from closeloop import core_writes
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
    row = _entry_row(case, action, actor, at, from_state, to_state, note, data)
    entry = _insert(session, row)
    _last_entries(session)[case.id] = entry
    return entry


def _entry_row(
    case: Case,
    action: str,
    actor: Principal,
    at: datetime,
    from_state: str | None,
    to_state: str | None,
    note: str | None,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    """An entry's columns but its id and seq, the case's snapshot taken as it stands now (its
    callers change the case first)."""
    return {
        "case_id": case.id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
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


def _insert(session: Session, row: dict[str, Any]) -> CaseHistory:
    """The entry's row, written now with one Core INSERT (the unit of work for one row costs
    several times the statement in Python), and its entry left in the session as the flush would
    have left it (core_writes). The session's pending changes are flushed first, so the case's
    own UPDATE or INSERT still comes before its entry. Its seq: counted on from the entry this
    transaction appended last, or else the case's `max(seq)` + 1, read by the INSERT itself
    (`INSERT … SELECT`), where the read was, after the case's UPDATE."""
    session.flush()
    seq = _known_seq(session, row["case_id"])
    if seq is None:
        new_id, seq = session.connection().execute(_INSERT_NEXT, row).one()
    else:
        new_id = session.connection().execute(_INSERT, {**row, "seq": seq}).scalar_one()
    return core_writes.inserted(session, CaseHistory, {**row, "id": new_id, "seq": seq})


_TABLE = CaseHistory.__table__  # type: ignore[attr-defined]
_COLUMNS = [c.key for c in _TABLE.columns if c.key not in ("id", "seq")]
# Built once: building a statement costs more than running it.
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_INSERT_NEXT = (  # the entry after the case's last one: seq = max(seq) + 1, read in the INSERT
    insert(_TABLE)
    .from_select(
        ["seq", *_COLUMNS],
        sa_select(
            func.coalesce(func.max(_TABLE.c.seq), 0) + 1,
            *(bindparam(name, type_=_TABLE.c[name].type) for name in _COLUMNS),
        ).where(_TABLE.c.case_id == bindparam("case_id")),
    )
    .returning(_TABLE.c.id, _TABLE.c.seq)
)

_LAST = "closeloop.history.last"  # in Session.info: (transaction, {case_id: last entry or None})


def _last_entries(session: Session) -> dict[int, CaseHistory | None]:
    transaction = session.get_transaction()
    known = session.info.get(_LAST)
    if known is None or known[0] is not transaction:
        known = session.info[_LAST] = (transaction, {})
    return known[1]


def _known_seq(session: Session, case_id: int) -> int | None:
    """The case's next seq, when this transaction knows it without a read: 1 for a case it
    inserted and has appended nothing to, else its last entry's + 1 while that entry is still
    in the session (not rolled back with a savepoint)."""
    last_entries = _last_entries(session)
    if case_id in last_entries:
        last = last_entries[case_id]
        if last is None:
            return 1  # the case was inserted in this transaction and has no entry yet
        state = inspect(last)
        if (state.pending or state.persistent) and state.session_id == session.hash_key:
            return last.seq + 1
    return None


@event.listens_for(Session, "pending_to_persistent")
def _case_inserted(session: Session, instance: object) -> None:
    """A case inserted by this session's transaction: its history starts at 1 (no read)."""
    if isinstance(instance, Case) and instance.id is not None:
        _last_entries(session).setdefault(instance.id, None)


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
            **_entry_row(case, action, actor, at, case.state, case.state, note, data),
            "seq": last.get(case.id or 0, 0) + 1,
        }
        for case in cases
    ]
    session.execute(insert(table), entries)
    # Written past the ORM: what `append` remembers of these cases' last entries is out of date,
    # so their next entry reads max(seq) again.
    remembered = _last_entries(session)
    for case_id in ids:
        remembered.pop(case_id, None)  # type: ignore[arg-type]
    return len(entries)
