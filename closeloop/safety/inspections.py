"""Recording an inspection (检查) of an enterprise or place against a checklist set: every item
answered once, and each failed item filed as a hazard case (隐患) with the enterprise, its grid
and the item's category, in the same transaction — one hazard that cannot be filed and nothing
is written. Reading them (a list, one with its items) is in inspection_reads.py."""

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal, in_region
from closeloop.cases import attachments
from closeloop.cases import service as cases
from closeloop.errors import Forbidden, Invalid
from closeloop.safety import checklists
from closeloop.text import Msg
from models.attachment import Attachment
from models.case import CaseCreate
from models.enterprise import Enterprise
from models.enums import CaseKind, EnterpriseKind, Grade, ItemResult, Role
from models.inspection import ChecklistItem, Inspection, InspectionCreate, InspectionItem

# How far ahead of the clock an inspection's time may be (a phone's clock runs a little fast).
FUTURE_SLACK = timedelta(minutes=5)
INSPECTORS = (Role.dispatcher, Role.supervisor, Role.reporter)
Upload = tuple[str, BinaryIO]  # a photo chosen on the page: its file name and bytes


def enterprise_for(session: Session, code: str) -> Enterprise:
    enterprise = session.get(Enterprise, code)
    if enterprise is None:
        raise Invalid(
            Msg(f"企业/场所：{code} 不存在", f"enterprise_code {code!r} is no enterprise or place")
        )
    return enterprise


def may_inspect(actor: Principal, enterprise: Enterprise) -> bool:
    """Whether `require_inspector` lets this actor record an inspection of this enterprise."""
    try:
        require_inspector(actor, enterprise)
    except Forbidden:
        return False
    return True


def require_inspector(actor: Principal, enterprise: Enterprise) -> None:
    """Dispatchers and supervisors inspect what lies in their region; a grid worker inspects
    places (场所, not enterprises) in their own grid; nobody else records inspections."""
    if actor.role not in INSPECTORS:
        raise Forbidden(
            Msg(
                "只有受理派遣员、督办人员或网格员（限本网格场所）可以记录检查",
                "inspections are recorded by a dispatcher, a supervisor, or a grid worker "
                f"(places in their grid); you are {actor.role}",
            )
        )
    if actor.role == Role.reporter and enterprise.kind != EnterpriseKind.place:
        raise Forbidden(
            Msg(
                f"网格员只检查场所；{enterprise.name} 是企业，请由受理派遣员或督办人员检查",
                f"a grid worker inspects places only; {enterprise.name} is an enterprise, "
                "inspected by a dispatcher or supervisor",
            )
        )
    if not in_region(actor, enterprise.region_path):
        raise Forbidden(
            Msg(
                f"{enterprise.name} 不在您的管辖范围内",
                f"{enterprise.name} is outside your jurisdiction",
            )
        )


def _check_answers(data: InspectionCreate, items: list[ChecklistItem]) -> None:
    """Every item of the set answered exactly once; nothing answered that is not in the set."""
    known = {i.code for i in items}
    seen: set[str] = set()
    for answer in data.items:
        code = answer.item_code
        if code not in known:
            raise Invalid(
                Msg(
                    f"检查项 {code} 不在检查表 {data.checklist_code} 中",
                    f"items: {code!r} is not an item of checklist {data.checklist_code}",
                )
            )
        if code in seen:
            raise Invalid(Msg(f"检查项 {code} 填写了两次", f"items: {code!r} is answered twice"))
        seen.add(code)
        if answer.result != ItemResult.fail and (answer.grade or answer.attachment_ids):
            raise Invalid(
                Msg(
                    f"检查项 {code}：只有不合格项有隐患等级和照片",
                    f"item {code}: only a failed item takes a grade and photos (its hazard's)",
                )
            )
    missing = [i.code for i in items if i.code not in seen]
    if missing:
        raise Invalid(
            Msg(
                f"检查项未填写：{'、'.join(missing)}（每项须填合格、不合格或不适用）",
                f"items not answered: {', '.join(missing)} (each is pass, fail or na)",
            )
        )


def _linked_photos(
    session: Session, actor: Principal, ids: list[int], case_id: int, now: datetime
) -> list[int]:
    """Photos the inspector uploaded earlier, linked to the hazard: a new attachment row of the
    case over the same stored file (files are kept by their SHA-256, so nothing is copied)."""
    linked = []
    for attachment_id in ids:
        source = session.get(Attachment, attachment_id)
        if source is None or source.uploaded_by != actor.id:
            raise Invalid(
                Msg(
                    f"照片 {attachment_id} 不存在或不是您上传的",
                    f"attachment_ids: {attachment_id} is no attachment you uploaded",
                )
            )
        row = Attachment(
            case_id=case_id,
            sha256=source.sha256,
            filename=source.filename,
            content_type=source.content_type,
            size=source.size,
            uploaded_by=source.uploaded_by,
            uploaded_at=now,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        linked.append(row.id)
    return linked


def _hazard(
    enterprise: Enterprise, item: ChecklistItem, note: str, grade: Grade, checklist_name: str
) -> CaseCreate:
    assert item.category_code is not None
    lines = [
        f"检查依据：{item.basis or '—'}",
        f"检查记录：{note or '—'}",
        f"检查表：{checklist_name}（{item.checklist_code}）第 {item.seq} 项（{item.code}）",
    ]
    return CaseCreate(
        kind=CaseKind.hazard,
        title=f"{enterprise.name}：{item.text}"[:200],
        description="\n".join(lines)[:4000],
        category_code=item.category_code,
        enterprise_code=enterprise.code,
        address=enterprise.address,
        grade=grade,
    )


def record_inspection(
    session: Session,
    *,
    actor: Principal,
    data: InspectionCreate,
    now: datetime,
    photos: Mapping[str, Sequence[Upload]] | None = None,
) -> Inspection:
    """The inspection and a hazard case per failed item, in a savepoint: a refusal anywhere
    (a deactivated category, a refused photo) leaves nothing written. `photos` (the page's
    uploads, by item code) are attached to the item's hazard."""
    enterprise = enterprise_for(session, data.enterprise_code)
    require_inspector(actor, enterprise)
    if not enterprise.active:
        raise Invalid(
            Msg(f"企业/场所：{enterprise.name} 已停用", f"{enterprise.name} is deactivated")
        )
    checklist = checklists.usable(session, data.checklist_code)
    items = checklists.items_of(session, checklist.code)
    _check_answers(data, items)
    for code, chosen in (photos or {}).items():
        answer = next((a for a in data.items if a.item_code == code), None)
        if chosen and (answer is None or answer.result != ItemResult.fail):
            raise Invalid(
                Msg(
                    f"检查项 {code}：只有不合格项可以附照片",
                    f"item {code}: only a failed item takes photos",
                )
            )
    if data.at > now + FUTURE_SLACK:
        raise Invalid(
            Msg("检查时间不能晚于当前时间", "at: the inspection's time is later than now")
        )
    by_code = {i.code: i for i in items}
    failed = [a for a in data.items if a.result == ItemResult.fail]
    # The inspection rule above decides who may file its hazards (a grid worker included), so
    # they are filed with the dispatcher's filing right, in the inspector's name.
    filer = dataclasses.replace(actor, role=Role.dispatcher)
    assert actor.id is not None
    with session.begin_nested():
        inspection = Inspection(
            enterprise_code=enterprise.code,
            checklist_code=checklist.code,
            at=data.at,
            inspector_id=actor.id,
            unannounced=data.unannounced,
            note=data.note.strip(),
            grid_code=enterprise.grid_code,
            street_code=enterprise.street_code,
            region_path=enterprise.region_path,
            industry=enterprise.industry,
            hazards_found=len(failed),
            created_at=now,
        )
        session.add(inspection)
        session.flush()
        for answer in sorted(data.items, key=lambda a: by_code[a.item_code].seq):
            row = InspectionItem(
                inspection_id=inspection.id,  # type: ignore[arg-type]
                item_code=answer.item_code,
                result=answer.result,
                note=answer.note.strip(),
            )
            if answer.result == ItemResult.fail:
                item = by_code[answer.item_code]
                grade = answer.grade or Grade.general
                case = cases.file_case(
                    session,
                    actor=filer,
                    data=_hazard(enterprise, item, row.note, grade, checklist.name),
                    now=now,
                )
                assert case.id is not None
                case.inspection_id = inspection.id
                session.add(case)
                ids = _linked_photos(session, actor, answer.attachment_ids, case.id, now)
                for name, stream in (photos or {}).get(answer.item_code, ()):
                    photo = attachments.add_attachment(
                        session, actor=actor, case_id=case.id, filename=name, stream=stream, now=now
                    )
                    assert photo.id is not None
                    ids.append(photo.id)
                row.case_id = case.id
                row.attachment_ids = ids
            session.add(row)
        session.flush()
    return inspection


def inspectable(session: Session, *, actor: Principal) -> list[Enterprise]:
    """The active enterprises and places `actor` may inspect (the form's choices)."""
    if actor.role not in INSPECTORS:
        return []
    stmt = select(Enterprise).where(
        col(Enterprise.active).is_(True),
        col(Enterprise.region_path).startswith(actor.region_path or "\x00", autoescape=True),
    )
    if actor.role == Role.reporter:
        stmt = stmt.where(Enterprise.kind == EnterpriseKind.place)
    return list(session.exec(stmt.order_by(col(Enterprise.code))))
