"""What the letter tests share: the day they issue on and one way to issue a letter."""

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseKind, CaseState, LetterType
from models.letter import Letter
from tests.factories import NOW, Org, case_in

LATER = NOW + timedelta(days=20)  # 2025-10-20 10:00 Shanghai: 4 working days past 2025-10-14


def open_hazards(session: Session, org: Org, n: int) -> list[Case]:
    return [case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard) for _ in range(n)]


def letter_about(
    session: Session,
    org: Org,
    cases: list[Case],
    kind: LetterType = LetterType.supervision,
    **kw: Any,
) -> Letter:
    """A letter about `cases` to their unit (ZJ if they have none), by the supervisor at LATER
    unless `kw` says otherwise."""
    kw.setdefault("now", LATER)
    kw.setdefault("actor", org["sup"])
    unit = kw.pop("unit_code", None) or (cases[0].unit_code if cases else None) or "ZJ"
    return letters.issue_letter(
        session, letter_type=kind, unit_code=unit, case_ids=[c.id or 0 for c in cases], **kw
    )
