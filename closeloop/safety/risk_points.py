"""Risk points (风险点位) of the risk register (风险分级管控): each at an enterprise or place,
graded 重大 / 较大 / 一般 / 低, with its control measures and the unit responsible.

Admins, dispatchers and supervisors keep them (dispatchers and supervisors within their region);
everyone reads those within their jurisdiction: a region's users (reporters, dispatchers,
supervisors) the points inside it, a unit's handlers the points their unit is responsible for, the
admin all. A point's street and region path are copied from its enterprise.
A ledger of points is imported by closeloop/safety/risk_import.py.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import case, or_
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal, in_region, require_role
from closeloop.cases import numbering
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.text import Msg
from models.enterprise import Enterprise
from models.enums import RiskLevel, Role
from models.org import Unit
from models.risk import RiskPoint, RiskPointCreate, RiskPointUpdate

KEEPERS = (Role.admin, Role.dispatcher, Role.supervisor)
MAX_LIST = 500


def scope(stmt: Any, actor: Principal, table: Any = RiskPoint) -> Any:
    """Narrow a query over RiskPoint (or another table with region_path) to what `actor` sees."""
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.handler:
        if table is not RiskPoint:
            return stmt.where(False)
        return stmt.where(col(RiskPoint.unit_code) == (actor.unit_code or "\x00"))
    return stmt.where(
        col(table.region_path).startswith(actor.region_path or "\x00", autoescape=True)
    )


def enterprise_for(session: Session, actor: Principal, code: str | None) -> Enterprise:
    """The active enterprise `code` within the actor's region (an admin's: any)."""
    row = session.get(Enterprise, code) if code else None
    if row is None:
        raise Invalid(
            Msg(f"企业/场所 {code} 不存在", f"enterprise_code {code!r} is not a registered one")
        )
    if not row.active:
        raise Invalid(Msg(f"企业/场所 {code} 已停用", f"enterprise_code {code!r} is inactive"))
    if actor.role != Role.admin and not in_region(actor, row.region_path):
        raise Forbidden(
            Msg(f"企业/场所 {code} 不在您的管辖范围内", f"enterprise {code} is outside your region")
        )
    return row


def _check_unit(session: Session, code: str | None) -> None:
    if code is None:
        return
    unit = session.get(Unit, code)
    if unit is None or not unit.active:
        raise Invalid(
            Msg(f"责任单位 {code} 不存在或已停用", f"unit_code {code!r} is not an active unit")
        )


def create_point(
    session: Session, *, actor: Principal, data: RiskPointCreate, now: datetime
) -> RiskPoint:
    require_role(actor, *KEEPERS)
    if session.get(RiskPoint, data.code) is not None:
        raise Conflict(Msg(f"风险点位编码 {data.code} 已存在", f"risk point {data.code} exists"))
    ent = enterprise_for(session, actor, data.enterprise_code)
    _check_unit(session, data.unit_code)
    point = RiskPoint(
        **data.model_dump(),
        street_code=ent.street_code,
        region_path=ent.region_path,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(point)
    session.flush()
    return point


def new_code(session: Session) -> str:
    """A code for a point created by an approved report: FXD000001, skipping codes in use."""
    while True:
        code = f"FXD{numbering.next_value(session, 'risk_point'):06d}"
        if session.get(RiskPoint, code) is None:
            return code


def get_point(session: Session, *, actor: Principal, code: str) -> RiskPoint:
    stmt = scope(select(RiskPoint).where(RiskPoint.code == code), actor)
    point = session.exec(stmt).first()
    if point is None:
        if session.get(RiskPoint, code) is not None:
            raise Forbidden(
                Msg(f"风险点位 {code} 不在您的管辖范围内", f"risk point {code} is outside yours")
            )
        raise NotFound(Msg(f"风险点位 {code} 不存在", f"risk point {code} does not exist"))
    return point


def update_point(
    session: Session, *, actor: Principal, code: str, data: RiskPointUpdate, now: datetime
) -> RiskPoint:
    require_role(actor, *KEEPERS)
    point = get_point(session, actor=actor, code=code)
    changes = data.model_dump(exclude_unset=True)
    if "unit_code" in changes:
        _check_unit(session, changes["unit_code"])
    for name, value in changes.items():
        setattr(point, name, value)
    point.updated_at = now
    session.add(point)
    session.flush()
    return point


def list_points(
    session: Session,
    *,
    actor: Principal,
    enterprise_code: str | None = None,
    level: RiskLevel | None = None,
    street_code: str | None = None,
    region: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    limit: int = MAX_LIST,
) -> list[RiskPoint]:
    """Most severe first, then by code."""
    stmt = scope(select(RiskPoint), actor)
    if enterprise_code:
        stmt = stmt.where(RiskPoint.enterprise_code == enterprise_code)
    if level is not None:
        stmt = stmt.where(RiskPoint.level == level)
    if street_code:
        stmt = stmt.where(RiskPoint.street_code == street_code)
    if region:
        stmt = stmt.where(col(RiskPoint.region_path).contains(f"/{region}/", autoescape=True))
    if active is not None:
        stmt = stmt.where(col(RiskPoint.active).is_(active))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(col(RiskPoint.name).ilike(like), col(RiskPoint.code).ilike(like)))
    severity = case({lv.value: i for i, lv in enumerate(RiskLevel)}, value=col(RiskPoint.level))
    stmt = stmt.order_by(severity, col(RiskPoint.code)).limit(limit)
    return list(session.exec(stmt))
