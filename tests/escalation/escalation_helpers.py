"""Shared by the escalation tests: late cases built through the real services, and counters."""

from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from closeloop.calendar.days import SHANGHAI
from closeloop.db import new_session
from models.case import Case
from models.enums import CaseKind, Grade
from models.escalation import EscalationFire
from models.letter import Letter, LetterItem
from models.outbox import OutboxMessage
from tests.factories import Org, act, new_case

HANDLER = {"ZJ": "h_zj", "SW": "h_sw"}
CATEGORY = {"ZJ": "0101", "SW": "0102"}


def sh(day: str, hour: int = 10) -> datetime:
    """A Shanghai wall-clock time on `day` (YYYY-MM-DD), as an aware UTC datetime."""
    local = datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=SHANGHAI)
    return local.astimezone(UTC)


def end_of(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=SHANGHAI)


def late_case(
    session: Session,
    o: Org,
    *,
    due: str,
    unit: str = "ZJ",
    dispatched: str = "2025-09-26",
    kind: CaseKind = CaseKind.event,
    grade: Grade | None = None,
    sign: bool = True,
) -> Case:
    """A case dispatched to `unit` on `dispatched` with its deadline at the end of `due`."""
    at = sh(dispatched)
    case = new_case(session, o, kind=kind, grade=grade, category=CATEGORY[unit], now=at)
    act(session, o, case, "dispatch", "disp", at, unit_code=unit, due_at=end_of(due))
    if sign:
        act(session, o, case, "sign", HANDLER[unit], at)
    return case


def levels_of(engine: Engine, case_id: int) -> list[tuple[int, str]]:
    with new_session(engine) as s:
        rows = s.exec(
            select(EscalationFire.deadline_version, EscalationFire.level)
            .where(EscalationFire.case_id == case_id)
            .order_by(col(EscalationFire.id))
        )
        return [(v, lv) for v, lv in rows]


def fires_of(engine: Engine, case_id: int) -> list[EscalationFire]:
    with new_session(engine) as s:
        return list(
            s.exec(
                select(EscalationFire)
                .where(EscalationFire.case_id == case_id)
                .order_by(col(EscalationFire.id))
            )
        )


def letters_of(engine: Engine, letter_type: str | None = None) -> list[tuple[Letter, list[int]]]:
    with new_session(engine) as s:
        stmt = select(Letter).order_by(col(Letter.id))
        if letter_type:
            stmt = stmt.where(Letter.type == letter_type)
        out = []
        for letter in s.exec(stmt):
            ids = s.exec(select(LetterItem.case_id).where(LetterItem.letter_id == letter.id))
            out.append((letter, sorted(ids)))
        return out


def totals(session: Session) -> dict[str, int]:
    """Rows that a run writes: claims, letters (and their items), outbox messages, history,
    letter cases."""

    def count(model: type, *where: object) -> int:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())

    from models.history import CaseHistory

    return {
        "fires": count(EscalationFire),
        "letters": count(Letter),
        "letter_items": count(LetterItem),
        "outbox": count(OutboxMessage),
        "history": count(CaseHistory),
        "letter_cases": count(Case, col(Case.kind) == CaseKind.letter),
        "listed": count(Case, col(Case.listed).is_(True)),
    }


def fire_keys(session: Session) -> list[tuple[int, int, str]]:
    rows = session.exec(
        select(EscalationFire.case_id, EscalationFire.deadline_version, EscalationFire.level)
    )
    return sorted((c, v, lv) for c, v, lv in rows)
