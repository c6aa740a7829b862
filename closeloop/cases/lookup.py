"""Finding a case by its number (SJ2025000001), as people quote it, within what the actor may
see."""

from sqlmodel import Session, select

from closeloop.auth.policy import Principal
from closeloop.cases.service import jurisdiction
from models.case import Case


def case_by_number(session: Session, *, actor: Principal, number: str) -> Case | None:
    """The case with exactly this number, when the actor may see it; otherwise None (a case
    outside the actor's jurisdiction is not told apart from one that does not exist)."""
    stmt = jurisdiction(select(Case), actor).where(Case.number == number.strip())
    return session.exec(stmt).first()
