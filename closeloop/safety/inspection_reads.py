"""Reading inspections: who sees which (the inspection's region, like a case's), the list with
its filters and one inspection with its items and the hazards they became."""

from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal, in_region
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.text import Msg
from models.case import Case
from models.enterprise import Enterprise
from models.enums import Role
from models.inspection import (
    Checklist,
    ChecklistItem,
    Inspection,
    InspectionItem,
    InspectionItemPublic,
    InspectionPublic,
)
from models.types import SHANGHAI
from models.user import User

LIST_LIMIT = 500  # the newest first; narrow by enterprise, street or period for older ones
READERS = (Role.admin, Role.dispatcher, Role.supervisor, Role.reporter)


def require_reader(actor: Principal) -> None:
    if actor.role not in READERS:
        raise Forbidden(
            Msg(
                "检查记录由受理派遣员、督办人员、网格员和管理员查看",
                "inspections are seen by dispatchers, supervisors, grid workers and the admin",
            )
        )


def may_see(actor: Principal, row: Inspection) -> bool:
    return actor.role == Role.admin or (actor.role in READERS and in_region(actor, row.region_path))


def day_bounds(date_from: date | None, date_to: date | None) -> tuple[datetime | None, ...]:
    """[start, end) of whole Shanghai days, either side open when not given."""
    if date_from and date_to and date_to < date_from:
        raise Invalid(Msg(f"结束日期 {date_to} 早于开始日期 {date_from}", "'to' is before 'from'"))
    start = datetime.combine(date_from, time(0), tzinfo=SHANGHAI) if date_from else None
    end = (
        datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=SHANGHAI) if date_to else None
    )
    return start, end


def _public(
    session: Session, row: Inspection, *, detail: bool, names: dict[str, str] | None = None
) -> InspectionPublic:
    assert row.id is not None
    enterprise = session.get(Enterprise, row.enterprise_code)
    checklist = session.get(Checklist, row.checklist_code)
    inspector = session.get(User, row.inspector_id)
    answers = list(
        session.exec(
            select(InspectionItem)
            .where(InspectionItem.inspection_id == row.id)
            .order_by(col(InspectionItem.id))
        )
    )
    items = None
    if detail:
        texts = {
            i.code: i
            for i in session.exec(
                select(ChecklistItem).where(ChecklistItem.checklist_code == row.checklist_code)
            )
        }
        numbers = {
            c.id: c.number
            for c in session.exec(
                select(Case).where(col(Case.id).in_([a.case_id for a in answers if a.case_id]))
            )
        }
        items = [
            InspectionItemPublic(
                item_code=a.item_code,
                text=texts[a.item_code].text if a.item_code in texts else "",
                basis=texts[a.item_code].basis if a.item_code in texts else "",
                result=a.result,
                note=a.note,
                attachment_ids=list(a.attachment_ids or []),
                case_id=a.case_id,
                case_number=numbers.get(a.case_id) if a.case_id else None,
            )
            for a in answers
        ]
    return InspectionPublic(
        id=row.id,
        enterprise_code=row.enterprise_code,
        enterprise_name=enterprise.name if enterprise else row.enterprise_code,
        checklist_code=row.checklist_code,
        checklist_name=checklist.name if checklist else row.checklist_code,
        at=row.at,
        inspector_id=row.inspector_id,
        inspector=inspector.display_name if inspector else str(row.inspector_id),
        unannounced=row.unannounced,
        note=row.note,
        grid_code=row.grid_code,
        street_code=row.street_code,
        industry=row.industry,
        hazards_found=row.hazards_found,
        hazard_case_ids=[a.case_id for a in answers if a.case_id is not None],
        items=items,
    )


def get_inspection(session: Session, *, actor: Principal, inspection_id: int) -> InspectionPublic:
    require_reader(actor)
    row = session.get(Inspection, inspection_id)
    if row is None:
        raise NotFound(
            Msg(f"检查记录 {inspection_id} 不存在", f"inspection {inspection_id} does not exist")
        )
    if not may_see(actor, row):
        raise Forbidden(
            Msg(
                f"检查记录 {inspection_id} 不在您的管辖范围内",
                f"inspection {inspection_id} is outside your jurisdiction",
            )
        )
    return _public(session, row, detail=True)


def public_of(session: Session, row: Inspection) -> InspectionPublic:
    """An inspection just recorded, with its items (the API's 201 answer)."""
    return _public(session, row, detail=True)


def list_inspections(
    session: Session,
    *,
    actor: Principal,
    enterprise_code: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    street_code: str | None = None,
) -> list[InspectionPublic]:
    """The inspections `actor` may see, newest first (at most LIST_LIMIT)."""
    require_reader(actor)
    start, end = day_bounds(date_from, date_to)
    stmt = select(Inspection)
    if actor.role != Role.admin:
        stmt = stmt.where(
            col(Inspection.region_path).startswith(actor.region_path or "\x00", autoescape=True)
        )
    if enterprise_code:
        stmt = stmt.where(Inspection.enterprise_code == enterprise_code)
    if street_code:
        stmt = stmt.where(Inspection.street_code == street_code)
    if start is not None:
        stmt = stmt.where(Inspection.at >= start)
    if end is not None:
        stmt = stmt.where(Inspection.at < end)
    stmt = stmt.order_by(col(Inspection.at).desc(), col(Inspection.id).desc()).limit(LIST_LIMIT)
    return [_public(session, row, detail=False) for row in session.exec(stmt)]
