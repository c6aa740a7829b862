"""An enterprise's file (一企一档): the register record with its hazards and events (cases naming
it), inspections, risk points and the letters covering its cases. Plain reads of those tables;
the cases and letters the actor may see by the cases' jurisdiction rule (cases.lookup)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases.deadlines import is_overdue
from closeloop.cases.lookup import jurisdiction
from closeloop.safety.enterprises import get_enterprise
from models.case import Case
from models.enterprise import Enterprise
from models.enums import Role
from models.inspection import Inspection
from models.letter import Letter, LetterItem
from models.risk import RiskPoint
from models.user import User

LIMIT = 100  # rows shown per section; the totals count them all


@dataclass
class Section:
    rows: list[Any] = field(default_factory=list)
    total: int = 0


@dataclass
class Profile:
    enterprise: Enterprise
    cases: Section  # (case, overdue now)
    inspections: Section  # (inspection, the inspector's name)
    risk_points: Section  # RiskPoint
    letters: Section  # Letter


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(select(func.count()).select_from(stmt.subquery())).one())


def enterprise_cases(session: Session, *, actor: Principal, code: str) -> Any:
    """SELECT Case naming the enterprise, within the actor's jurisdiction."""
    return jurisdiction(select(Case), actor).where(Case.enterprise_code == code)


def profile(session: Session, *, actor: Principal, code: str, now: datetime) -> Profile:
    """The file of one enterprise the actor may read (404 / 403 as get_enterprise)."""
    enterprise = get_enterprise(session, actor=actor, code=code)
    return Profile(
        enterprise=enterprise,
        cases=_cases(session, actor, code, now),
        inspections=_inspections(session, code),
        risk_points=_risk_points(session, code),
        letters=_letters(session, actor, code),
    )


def _cases(session: Session, actor: Principal, code: str, now: datetime) -> Section:
    stmt = enterprise_cases(session, actor=actor, code=code)
    rows = session.exec(
        stmt.order_by(col(Case.reported_at).desc(), col(Case.id).desc()).limit(LIMIT)
    )
    return Section([(c, is_overdue(c, now)) for c in rows], _count(session, stmt))


def _inspections(session: Session, code: str) -> Section:
    stmt = select(Inspection).where(Inspection.enterprise_code == code)
    rows = session.exec(
        select(Inspection, User.display_name)
        .join(User, col(User.id) == Inspection.inspector_id)
        .where(Inspection.enterprise_code == code)
        .order_by(col(Inspection.at).desc(), col(Inspection.id).desc())
        .limit(LIMIT)
    )
    return Section([(i, name) for i, name in rows], _count(session, stmt))


def _risk_points(session: Session, code: str) -> Section:
    stmt = select(RiskPoint).where(RiskPoint.enterprise_code == code)
    rows = session.exec(
        stmt.order_by(col(RiskPoint.active).desc(), col(RiskPoint.code)).limit(LIMIT)
    )
    return Section(list(rows), _count(session, stmt))


def _letters(session: Session, actor: Principal, code: str) -> Section:
    """Letters about (or opened as) one of the enterprise's cases the actor may see; a handler
    only their unit's letters, a grid worker none (as the letter list)."""
    if actor.role == Role.reporter:
        return Section()
    own = select(Case.id).where(Case.enterprise_code == code)
    own = jurisdiction(own, actor)
    about = select(LetterItem.letter_id).where(col(LetterItem.case_id).in_(own))
    stmt = select(Letter).where(or_(col(Letter.id).in_(about), col(Letter.case_id).in_(own)))
    if actor.role == Role.handler:
        stmt = stmt.where(Letter.unit_code == (actor.unit_code or "\x00"))
    rows = session.exec(
        stmt.order_by(col(Letter.issued_at).desc(), col(Letter.id).desc()).limit(LIMIT)
    )
    return Section(list(rows), _count(session, stmt))
