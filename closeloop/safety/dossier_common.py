"""What the dossier's services share: loading a major hazard for a dossier step (locked, visible to
the caller, a major hazard, in a state the step allows) and writing its history entry."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.cases import history, listing
from closeloop.cases import service as cases
from closeloop.errors import Conflict
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseState


def major_hazard(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    states: tuple[CaseState, ...],
    step: Msg,
) -> Case:
    """The case, locked until the transaction ends (one plan or recheck at a time, so the first
    plan opens exactly one listing notice); 404 / 403 as for any case; 409 unless it is a major
    hazard in one of `states`."""
    case = cases.load_case(session, actor=actor, case_id=case_id, lock=True)
    if not listing.listed_for_itself(case.kind, case.grade):
        raise Conflict(
            Msg(
                f"案件 {case.number} 不是重大隐患，没有{step:zh}",
                f"case {case.number} is not a major hazard: {step:en} is for major hazards only",
            )
        )
    if case.state not in states:
        state = labels.STATE[CaseState(case.state)]
        allowed = Msg.join((labels.STATE[s] for s in states), "、", ", ")
        raise Conflict(
            Msg(
                f"案件{state:zh}，不能{step:zh}（仅限{allowed.zh}）",
                f"{step:en} is not possible while the case is {state.en.lower()} "
                f"(only while {allowed.en.lower()})",
            ),
            state=case.state,
        )
    return case


def record(
    session: Session,
    case: Case,
    *,
    action: str,
    actor: Principal,
    now: datetime,
    note: str | None,
    data: dict[str, Any],
) -> None:
    """The case's history entry for a dossier step (the state stays)."""
    history.append(
        session,
        case=case,
        action=action,
        actor=actor,
        at=now,
        from_state=case.state,
        to_state=case.state,
        note=note,
        data=data,
    )
