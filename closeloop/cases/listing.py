"""挂牌督办 (listing a case for supervision): the one place `Case.listed` is decided and written.

A major hazard is listed for itself from its dispatch until it is returned; any other case is
listed by a 警示函 (by hand or by the escalation ladder) and unlisted when the last warning that
kept it listed is withdrawn. Listing and unlisting go through the ORM, so the version
compare-and-swap applies, and leave a history entry; a dispatch or a return records the change in
its own entry.
"""

from datetime import datetime
from typing import Any

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
    """`list_for_supervision` for many cases at once (the escalation ladder's 警示函 of a unit):
    the flags set through the ORM (the version compare-and-swap applies at the flush), then
    their history entries in one batch. Returns the cases that were not listed before."""
    changed = [case for case in cases if set_listed(case, True, now=now)]
    history.append_many(
        session,
        cases=changed,
        action=HistoryAction.list_,
        actor=actor,
        at=now,
        note="挂牌督办",
        data=data,
    )
    return changed
