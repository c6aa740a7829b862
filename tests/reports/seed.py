"""A small September 2025 in the test district, walked through the real services: closed cases
in both streets, overdue open ones in S1 (one listed under a warning letter), a cancelled one."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session

from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseKind, Grade, LetterType
from tests.factories import Org, act, evidence, new_case

T0 = datetime(2025, 9, 2, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Shanghai
T1 = datetime(2025, 9, 4, 2, 0, tzinfo=UTC)
LATE = datetime(2025, 9, 26, 2, 0, tzinfo=UTC)
MONTH_END = datetime(2025, 10, 1, 0, 30, tzinfo=UTC)  # 1 October 08:30 Shanghai


@dataclass
class Seeded:
    closed: list[Case] = field(default_factory=list)
    overdue: list[Case] = field(default_factory=list)
    cancelled: list[Case] = field(default_factory=list)
    letter_number: str = ""


def _close(session: Session, o: Org, case: Case, by: str = "h_zj") -> Case:
    act(session, o, case, "sign", by, T0)
    ids = [evidence(session, o, case, by=by, now=T1)]
    act(session, o, case, "submit", by, T1, note="已整改", attachment_ids=ids)
    verifier = "disp" if case.kind == CaseKind.event else "sup"
    return act(session, o, case, "approve", verifier, T1, note="核查通过")


def seed(session: Session, o: Org) -> Seeded:
    s = Seeded()
    for _ in range(3):  # S1 (grid G1), unit ZJ, closed on time
        case = new_case(session, o, now=T0)
        act(session, o, case, "dispatch", "disp", T0, unit_code="ZJ")
        s.closed.append(_close(session, o, case))
    case = new_case(session, o, now=T0, grid="G3", by="rep3", category="0102")  # S2, unit SW
    act(session, o, case, "dispatch", "disp", T0, unit_code="SW")
    s.closed.append(_close(session, o, case, by="h_sw"))
    for grid in ("G1", "G2"):  # S1, unit ZJ, left in rectification: overdue by the month end
        case = new_case(session, o, now=T0, grid=grid, by="disp")
        act(session, o, case, "dispatch", "disp", T0, unit_code="ZJ")
        act(session, o, case, "sign", "h_zj", T0)
        s.overdue.append(case)
    hazard = new_case(session, o, kind=CaseKind.hazard, grade=Grade.major, now=T0, grid="G2")
    act(session, o, hazard, "dispatch", "sup", T0, unit_code="ZJ")
    s.overdue.append(hazard)
    case = new_case(session, o, now=T0)
    s.cancelled.append(act(session, o, case, "cancel", "disp", T0, reason="不属于受理范围"))
    letter = letters.issue_letter(
        session,
        letter_type=LetterType.warning,
        unit_code="ZJ",
        case_ids=[c.id for c in s.overdue[:1] if c.id is not None],
        now=LATE,
        actor=o["sup"],
        reason="严重超期",
    )
    s.letter_number = letter.number
    return s
