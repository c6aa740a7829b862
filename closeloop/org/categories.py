"""The two-level category checklist (大类/小类): create, change, deactivate, list with usage.

A category is deactivated, never removed: open cases keep it, new cases cannot use it. An item's
`unit_code` (where its cases are dispatched by default) must name an active unit.
"""

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.errors import Conflict, Invalid
from closeloop.org.common import Batch, exists, get_or_404, insert
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseState
from models.org import Category, CategoryCreate, CategoryPublic, CategoryUpdate, Unit

CATEGORY = Msg("类别", "category")


def _check_unit(session: Session, unit_code: str | None) -> None:
    if unit_code is None:
        return
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise Invalid(Msg(f"单位 {unit_code} 不存在", "unit_code does not exist"))
    if not unit.active:
        raise Invalid(
            Msg(
                f"单位 {unit_code} 已停用，不能作为默认处置单位",
                f"unit_code {unit_code!r} names an inactive unit; choose an active one",
            )
        )


def _check_parent(session: Session, *, code: str, parent_code: str | None) -> None:
    if parent_code is None:
        return
    parent = session.get(Category, parent_code)
    if parent is None:
        raise Invalid(Msg(f"上级类别 {parent_code} 不存在", "parent_code does not exist"))
    if parent.parent_code is not None or parent.code == code:
        raise Invalid(
            Msg(
                "类别只有两级（大类/小类）",
                "categories have two levels: the parent must be a class",
            )
        )


def _check_item(parent_code: str | None, unit_code: str | None, limit_days: int | None) -> None:
    if parent_code is not None and (unit_code is None or limit_days is None):
        raise Invalid(
            Msg(
                "小类必须指定默认处置单位和整改时限",
                "an item needs unit_code (its default unit) "
                "and limit_days (its rectification limit)",
            )
        )


def create_category(
    session: Session, *, data: CategoryCreate, batch: Batch | None = None
) -> Category:
    """A new class, or an item under a class (`batch`: see common.Batch)."""
    exists(session, Category, data.code, CATEGORY, batch)
    _check_parent(session, code=data.code, parent_code=data.parent_code)
    _check_item(data.parent_code, data.unit_code, data.limit_days)
    _check_unit(session, data.unit_code)
    category = Category(**data.model_dump())
    what = Msg(f"类别 {data.code}", f"category {data.code}")
    insert(session, category, what, batch, data.code)
    return category


def list_categories(session: Session) -> list[CategoryPublic]:
    rows = list(session.exec(select(Category).order_by(Category.code)))
    parents = {r.parent_code for r in rows if r.parent_code}
    return [
        CategoryPublic(**r.model_dump(), is_leaf=r.parent_code is not None or r.code not in parents)
        for r in rows
    ]


def public(session: Session, category: Category) -> CategoryPublic:
    has_items = session.exec(
        select(Category.code).where(Category.parent_code == category.code).limit(1)
    ).first()
    return CategoryPublic(**category.model_dump(), is_leaf=has_items is None)


def update_category(session: Session, *, code: str, data: CategoryUpdate) -> Category:
    category = get_or_404(session, Category, code, CATEGORY)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    parent_code = changes.get("parent_code", category.parent_code)
    if parent_code != category.parent_code:
        _check_parent(session, code=code, parent_code=parent_code)
        if parent_code is not None:
            items = session.exec(
                select(func.count()).select_from(Category).where(Category.parent_code == code)
            ).one()
            if items:
                raise Conflict(
                    Msg(
                        f"类别 {code} 下有 {items} 个小类，不能再归入其他大类；请先移走这些小类",
                        f"category {code} has {items} items, so it cannot become an item "
                        "itself; move its items to another class first",
                    )
                )
    unit_code = changes.get("unit_code", category.unit_code)
    _check_item(parent_code, unit_code, changes.get("limit_days", category.limit_days))
    if "unit_code" in changes:
        _check_unit(session, unit_code)
    for name, value in changes.items():
        setattr(category, name, value)
    session.add(category)
    session.flush()
    return category


def category_usage(session: Session) -> dict[str, dict[str, int]]:
    """Per category code: its cases and its open cases (one GROUP BY)."""
    opened = list(CaseState.open_states())
    usage: dict[str, dict[str, int]] = {}
    for code, state, n in session.exec(
        select(Case.category_code, Case.state, func.count())
        .where(col(Case.category_code).is_not(None))
        .group_by(Case.category_code, Case.state)
    ).all():
        slot = usage.setdefault(code or "", {"cases": 0, "open_cases": 0})
        slot["cases"] += n
        if state in opened:
            slot["open_cases"] += n
    return usage
