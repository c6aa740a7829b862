"""Claims for the deadlines that are not a case's (a notice to publish, a risk report to review,
a follow-up to make): each (subject, id, level) fires once, by the unique constraint of
deadline_fire, however often or however concurrently the escalation flow runs."""

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from closeloop.db import connection
from models.escalation import DeadlineFire


def with_claims(
    session: Session, query: Any, *, subject: str, id_column: Any
) -> tuple[dict[int, Any], set[tuple[int, str]]]:
    """Run `query` — (id, one value) of what is late — with each id's claims under `subject`
    joined on (the unique index: one statement however many were told before): (id → value,
    the (id, level) claims already made). A run claims only what is not in the second: what
    stays late for good (a follow-up never made, a review never done) is not claimed again
    every run."""
    fire = DeadlineFire
    rows = connection(session).execute(
        query.add_columns(col(fire.level)).outerjoin(
            fire, (col(fire.subject) == subject) & (col(fire.subject_id) == id_column)
        )
    )
    late: dict[int, Any] = {}
    claimed: set[tuple[int, str]] = set()
    for row_id, value, level in rows:  # a row per claim of the id (or one with no claim)
        late[row_id] = value
        if level is not None:
            claimed.add((row_id, level))
    return late, claimed


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
