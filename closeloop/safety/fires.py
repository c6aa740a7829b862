"""Claims for the deadlines that are not a case's (a notice to publish, a risk report to review,
a follow-up to make): each (subject, id, level) fires once, by the unique constraint of
deadline_fire, however often or however concurrently the escalation flow runs."""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.escalation import DeadlineFire


def claim(session: Session, *, subject: str, ids: list[int], level: str, now: datetime) -> set[int]:
    """Insert the claims for `ids`; the ids this transaction won (the others fired before)."""
    return claim_each(session, subject=subject, levels={i: level for i in ids}, now=now)


def claim_each(
    session: Session, *, subject: str, levels: dict[int, str], now: datetime
) -> set[int]:
    """Insert the claim (id, its level) for each of `levels` in one statement; the ids this
    transaction won (the others fired before)."""
    if not levels:
        return set()
    table = DeadlineFire.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["subject", "subject_id", "level"])
        .returning(table.c.subject_id)
    )
    rows = session.execute(
        stmt,
        [
            {"subject": subject, "subject_id": i, "level": level, "fired_at": now}
            for i, level in levels.items()
        ],
    )
    return {subject_id for (subject_id,) in rows}
