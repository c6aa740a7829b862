"""挂牌督办 (listing a case for supervision): the one place `Case.listed` is decided and written.

A major hazard is listed for itself from its dispatch until it is returned; any other case is
listed by a 警示函 (by hand or by the escalation ladder) and unlisted when the last warning that
kept it listed is withdrawn. Listing and unlisting go through the ORM, so the version
compare-and-swap applies (the ladder's batch writes the same compare-and-swap as one executemany),
and leave a history entry; a dispatch or a return records the change in its own entry.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases import history
from models.case import Case
from models.enums import CaseKind, Grade, HistoryAction


def listed_for_itself(kind: str, grade: str | None) -> bool:
    """Whether a case is listed for itself once dispatched: a major hazard (重大隐患)."""
    return kind == CaseKind.hazard and grade == Grade.major


def set_listed(case: Case, listed: bool, *, now: datetime) -> bool:
    """The one write of the flag; returns whether it changed (and the case with it)."""
    if bool(case.listed) == listed:
        return False
    case.listed = listed
    case.updated_at = now
    return True


def list_for_supervision(
    session: Session,
    case: Case,
    *,
    actor: Principal,
    now: datetime,
    data: dict[str, Any],
) -> bool:
    """List `case` (a 警示函 covers it) with its history entry; False if it already was."""
    if not set_listed(case, True, now=now):
        return False
    history.append(
        session,
        case=case,
        action=HistoryAction.list_,
        actor=actor,
        at=now,
        from_state=case.state,
        to_state=case.state,
        note="挂牌督办",
        data=data,
    )
    return True


def unlist(
    session: Session,
    case: Case,
    *,
    actor: Principal,
    now: datetime,
    note: str,
    data: dict[str, Any],
) -> bool:
    """Unlist `case` (its last warning was withdrawn) with its history entry; a major hazard
    stays listed for itself. False if nothing changed."""
    if listed_for_itself(case.kind, case.grade) or not set_listed(case, False, now=now):
        return False
    session.flush()
    history.append(
        session,
        case=case,
        action=HistoryAction.unlist,
        actor=actor,
        at=now,
        from_state=case.state,
        to_state=case.state,
        note=note,
        data=data,
    )
    return True


def list_many_for_supervision(
    session: Session,
    cases: list[Case],
    *,
    actor: Principal,
    now: datetime,
    data: dict[str, Any],
) -> list[Case]:
    """`list_for_supervision` for many cases at once (the escalation ladder's 警示函 of a unit),
    in three statements whatever their number: the flags set by one executemany of the ORM's own
    compare-and-swap (`UPDATE case … WHERE id = :id AND version = :v`, the version bumped), then
    their history entries in one batch. Returns the cases that were not listed before.

    As with the ORM's flush, a case whose version moved meanwhile makes the whole batch raise
    StaleDataError (the caller's savepoint undoes the rows already updated); the cases in the
    session are changed only once every row matched."""
    changed = sorted((c for c in cases if not c.listed), key=lambda c: c.id or 0)
    if not changed:
        return []
    session.flush()  # pending changes first: the versions compared are the ones written
    table = Case.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
        .values(listed=True, updated_at=now, version=bindparam("b_version") + 1)
    )
    params = [{"b_id": c.id, "b_version": c.version} for c in changed]
    matched = session.connection().execute(stmt, params).rowcount
    if matched != len(changed):
        raise StaleDataError(
            f"UPDATE statement on table 'case' expected to update {len(changed)} row(s); "
            f"{matched} were matched."
        )
    for case in changed:  # the session's copies as written (set_listed's change, version + 1)
        set_committed_value(case, "listed", True)
        set_committed_value(case, "updated_at", now)
        set_committed_value(case, "version", case.version + 1)
    try:
        history.append_many(
            session,
            cases=changed,
            action=HistoryAction.list_,
            actor=actor,
            at=now,
            note="挂牌督办",
            data=data,
        )
    except BaseException:
        for case in changed:  # the rows may go back with a savepoint: read them again
            session.expire(case)
        raise
    return changed
