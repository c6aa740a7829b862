"""The letter's own case (督办件): opened when a 督办函 or 警示函 is issued, in the region the
covered cases share, with the reply deadline as its deadline."""

from datetime import datetime

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.calendar.days import WorkCalendar
from closeloop.cases import deadlines, history
from closeloop.cases import service as case_service
from closeloop.config import Settings
from closeloop.letters.wording import Wording
from models.case import Case
from models.enums import CaseKind, CaseState, HistoryAction
from models.letter import Letter


def open_letter_case(
    session: Session,
    letter: Letter,
    cases: list[Case],
    wording: Wording,
    *,
    now: datetime,
    due_at: datetime,
    by: Principal,
    cal: WorkCalendar,
    settings: Settings,
) -> Case:
    path = common_region_path([c.region_path for c in cases])
    own = case_service.new_case(
        session,
        kind=CaseKind.letter,
        state=CaseState.dispatched,
        region_path=path,
        by=by,
        now=now,
        title=wording.title[:200],
        description="\n".join(wording.body + [wording.requirement])[:4000],
        unit_code=letter.unit_code,
        dispatched_at=now,
    )
    # The reply deadline and the signing deadline, by the same rule as any dispatch.
    deadlines.set_dispatch_deadlines(
        own, now=now, cal=cal, category=None, settings=settings, due_at=due_at, limit_days=None
    )
    session.flush()
    history.append(
        session,
        case=own,
        action=HistoryAction.issue,
        actor=by,
        at=now,
        from_state=None,
        to_state=CaseState.dispatched,
        data={
            "letter_id": letter.id,
            "number": letter.number,
            "type": str(letter.type),
            "case_ids": [c.id for c in cases],
            "due_at": due_at.isoformat(),
        },
    )
    return own


def common_region_path(paths: list[str]) -> str:
    """The longest common region path: /D1/S1/C1/G1/ and /D1/S1/C1/G2/ → /D1/S1/C1/."""
    split = [[p for p in path.split("/") if p] for path in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if any(p != parts[0] for p in parts):
            break
        common.append(parts[0])
    return "/" + "".join(f"{p}/" for p in common)
