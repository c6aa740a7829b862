"""Checklist sets (检查表) kept by the admin: each item names the rule it checks (依据) and the
leaf category a failed item's hazard is filed under. A set used by an inspection keeps its items
(the inspection's record refers to them); to change them, make a new set."""

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.cases.service import leaf_category
from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.text import Msg
from models.inspection import (
    Checklist,
    ChecklistCreate,
    ChecklistItem,
    ChecklistItemIn,
    ChecklistItemPublic,
    ChecklistPublic,
    ChecklistUpdate,
    Inspection,
)


def _category(session: Session, code: str, where: Msg) -> str:
    try:
        category = leaf_category(session, code)
    except Invalid as exc:
        raise Invalid(Msg(f"{where:zh}：{exc.msg:zh}", f"{where:en}: {exc.msg:en}")) from None
    if not category.active:
        raise Invalid(
            Msg(
                f"{where:zh}：类别 {code} 已停用",
                f"{where:en}: category {code} is deactivated; choose another one",
            )
        )
    return category.code


def _items(
    session: Session, code: str, items: list[ChecklistItemIn], default_category: str | None
) -> list[ChecklistItem]:
    """The set's item rows, in the order given; every item must end up with a leaf category
    (its own, else the set's): each failed item becomes a hazard filed under a category."""
    seen: set[str] = set()
    rows = []
    for seq, item in enumerate(items, start=1):
        where = Msg(f"检查项 {item.code}", f"item {item.code}")
        if item.code in seen:
            raise Invalid(
                Msg(
                    f"检查项编号 {item.code} 重复：同一检查表内编号须唯一",
                    f"items: code {item.code!r} appears twice; item codes are unique in a set",
                )
            )
        seen.add(item.code)
        category = item.category_code or default_category
        if category is None:
            raise Invalid(
                Msg(
                    f"检查项 {item.code}：请填写隐患类别（category_code，小类）——"
                    "每个不合格项都会作为该类别的隐患立案",
                    f"item {item.code}: category_code is required (on the item or the set): "
                    "each failed item becomes a hazard filed under a category",
                )
            )
        rows.append(
            ChecklistItem(
                checklist_code=code,
                code=item.code,
                seq=seq,
                text=item.text.strip(),
                basis=item.basis.strip(),
                category_code=_category(session, category, where),
            )
        )
    return rows


def create_checklist(session: Session, *, data: ChecklistCreate, now: datetime) -> Checklist:
    if session.get(Checklist, data.code) is not None:
        raise Conflict(Msg(f"检查表 {data.code} 已存在", f"checklist {data.code!r} already exists"))
    items = _items(session, data.code, data.items, data.category_code)
    row = Checklist(
        code=data.code,
        name=data.name.strip(),
        industry=data.industry.strip(),
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.add_all(items)
    session.flush()
    return row


def get_or_404(session: Session, code: str) -> Checklist:
    row = session.get(Checklist, code)
    if row is None:
        raise NotFound(Msg(f"检查表 {code} 不存在", f"checklist {code!r} does not exist"))
    return row


def usable(session: Session, code: str) -> Checklist:
    """The set an inspection names: it must exist and be active (a body field: 422)."""
    row = session.get(Checklist, code)
    if row is None:
        raise Invalid(Msg(f"检查表 {code} 不存在", f"checklist_code {code!r} does not exist"))
    if not row.active:
        raise Invalid(
            Msg(
                f"检查表 {row.name}（{code}）已停用，请选择其他检查表",
                f"checklist {code} is deactivated; choose another one",
            )
        )
    return row


def is_used(session: Session, code: str) -> bool:
    stmt = select(func.count()).select_from(Inspection).where(Inspection.checklist_code == code)
    return bool(session.exec(stmt).one())


def update_checklist(session: Session, *, code: str, data: ChecklistUpdate) -> Checklist:
    """Name, industry and active at any time; the items only while no inspection used the set."""
    row = get_or_404(session, code)
    if data.items is not None:
        if is_used(session, code):
            raise Conflict(
                Msg(
                    f"检查表 {code} 已用于检查，检查项不能再修改；请新建一个检查表",
                    f"checklist {code} has been used by an inspection, so its items cannot "
                    "change; make a new set",
                )
            )
        items = _items(session, code, data.items, data.category_code)
        for old in items_of(session, code):
            session.delete(old)
        session.flush()
        session.add_all(items)
    elif data.category_code is not None:
        raise Invalid(
            Msg(
                "category_code 只在同时替换检查项（items）时使用",
                "category_code applies only together with items (the items it fills in)",
            )
        )
    if data.name is not None:
        row.name = data.name.strip()
    if data.industry is not None:
        row.industry = data.industry.strip()
    if data.active is not None:
        row.active = data.active
    session.add(row)
    session.flush()
    return row


def items_of(session: Session, code: str) -> list[ChecklistItem]:
    stmt = (
        select(ChecklistItem)
        .where(ChecklistItem.checklist_code == code)
        .order_by(col(ChecklistItem.seq), col(ChecklistItem.id))
    )
    return list(session.exec(stmt))


def public(session: Session, row: Checklist) -> ChecklistPublic:
    return ChecklistPublic(
        code=row.code,
        name=row.name,
        industry=row.industry,
        active=row.active,
        used=is_used(session, row.code),
        items=[
            ChecklistItemPublic(
                code=i.code, seq=i.seq, text=i.text, basis=i.basis, category_code=i.category_code
            )
            for i in items_of(session, row.code)
        ],
    )


def list_checklists(
    session: Session, *, active: bool | None = None, industry: str | None = None
) -> list[ChecklistPublic]:
    """The sets, by code; `industry` keeps those for that industry and those for every one."""
    stmt = select(Checklist).order_by(col(Checklist.code))
    if active is not None:
        stmt = stmt.where(Checklist.active == active)
    if industry:
        stmt = stmt.where(col(Checklist.industry).in_((industry, "")))
    return [public(session, row) for row in session.exec(stmt)]
