"""Editing a region, unit or category (/admin/{regions|units|categories}/{code}): the edit form
and the deactivate / reactivate button, both through the org service's update_*; a refusal (409
for a change that would break the tree or orphan open cases, 422 for a bad field) redraws the
edit page with the message and what was typed."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import SessionDep
from api.web.admin import PageAdmin, active_flag, parse_patch
from api.web.deps import CsrfForm, PageDep, fields, page_router
from api.web.deps import field as form_field
from api.web.pages import Page, redirect
from api.web.routes_admin_org import LABELS, depth
from api.web.routes_admin_outbox import ROBOT_KINDS, robot_form
from closeloop.errors import DomainError, NotFound
from closeloop.org import service as org
from closeloop.text import Msg
from models.enums import RegionLevel
from models.org import Category, CategoryUpdate, Region, RegionUpdate, Unit, UnitUpdate

router = page_router()


@dataclass
class Field:
    name: str
    label: str
    required: bool = False
    options: list[tuple[str, str]] | None = None
    type: str = "text"
    maxlength: int = 100
    empty: str = "choose"


@dataclass
class Kind:
    """One kind of organisation row as its edit page handles it."""

    path: str  # regions, units, categories
    title: str
    model: type[Any]  # the table
    patch: type[BaseModel]
    update: Callable[..., Any]
    spec: Callable[[Session, Any], list[Field]]
    facts: Callable[[Page, Session, Any], list[str]] = field(default=lambda *_: [])


def _region_spec(session: Session, row: Region) -> list[Field]:
    parents = [
        (r.code, f"{'　' * depth(r.path)}{r.name}（{r.code}）")
        for r in org.list_regions(session)
        if r.level != RegionLevel.grid and r.code != row.code
    ]
    return [
        Field("name", "adm.name", required=True),
        Field("parent_code", "adm.parent", options=parents, empty="adm.no_parent"),
    ]


def _region_facts(page: Page, session: Session, row: Region) -> list[str]:
    node = next((n for n in org.region_tree(session) if n.code == row.code), None)
    t = page.t
    facts = [t(f"level.{row.level}")]
    if node is not None:
        facts += [
            f"{t('regions.children')} {node.children}",
            f"{t('regions.cases')} {node.cases}",
            f"{t('regions.open')} {node.open_cases}",
        ]
    return facts


def _unit_spec(session: Session, row: Unit) -> list[Field]:
    districts = [
        (r.code, r.name) for r in org.list_regions(session) if r.level == RegionLevel.district
    ]
    return [
        Field("name", "adm.name", required=True),
        Field("short_name", "adm.short_name", required=True, maxlength=20),
        Field("region_code", "adm.region", options=districts, empty="units.every_district"),
        Field("email", "adm.email", maxlength=200),
        Field("head_email", "adm.head_email", maxlength=200),
        Field("webhook_url", "adm.webhook_url", maxlength=500),
        Field("webhook_kind", "adm.webhook_kind", options=ROBOT_KINDS, empty="robot.infer"),
        Field("webhook_secret", "adm.webhook_secret", type="password", maxlength=200),
    ]


def _unit_facts(page: Page, session: Session, row: Unit) -> list[str]:
    n = org.unit_usage(session).get(row.code, {})
    return [
        f"{page.t('regions.cases')} {n.get('cases', 0)}",
        f"{page.t('regions.open')} {n.get('open_cases', 0)}",
    ]


def _category_spec(session: Session, row: Category) -> list[Field]:
    rows = org.list_categories(session)
    classes = [
        (c.code, f"{c.name}（{c.code}）")
        for c in rows
        if c.parent_code is None and c.code != row.code
    ]
    units = [
        (u.code, u.name) for u in org.list_units(session) if u.active or u.code == row.unit_code
    ]
    return [
        Field("name", "adm.name", required=True),
        Field("parent_code", "adm.class", options=classes, empty="categories.is_class"),
        Field("unit_code", "adm.unit", options=units),
        Field("limit_days", "adm.limit_days", type="number", maxlength=3),
        Field("sign_hours", "adm.sign_hours", type="number", maxlength=6),
        Field("emergency", "adm.emergency", required=True, options=EMERGENCY_OPTIONS),
    ]


# 紧急类 (cases/emergency.py): the values are what _current writes for the row's bool.
EMERGENCY_OPTIONS = [
    ("False", "否 / No"),
    ("True", "是（立即通知领导）/ Yes (alerts the leadership)"),
]


def _category_facts(page: Page, session: Session, row: Category) -> list[str]:
    n = org.category_usage(session).get(row.code, {})
    return [
        f"{page.t('regions.cases')} {n.get('cases', 0)}",
        f"{page.t('regions.open')} {n.get('open_cases', 0)}",
    ]


KINDS = {
    "regions": Kind(
        "regions",
        "regions.edit",
        Region,
        RegionUpdate,
        org.update_region,
        _region_spec,
        _region_facts,
    ),
    "units": Kind(
        "units", "units.edit", Unit, UnitUpdate, org.update_unit, _unit_spec, _unit_facts
    ),
    "categories": Kind(
        "categories",
        "categories.edit",
        Category,
        CategoryUpdate,
        org.update_category,
        _category_spec,
        _category_facts,
    ),
}


def _row(session: Session, kind: Kind, code: str) -> Any:
    row = session.get(kind.model, code)
    if row is None:
        raise NotFound(Msg(f"{code} 不存在", f"{code!r} does not exist"))
    return row


def _current(row: Any, spec: list[Field]) -> dict[str, str]:
    values = {}
    for f in spec:
        value = getattr(row, f.name)
        if f.type == "password":  # write-only: never drawn into the page
            value = None
        values[f.name] = (
            "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        )
    return values


def edit_page(
    page: Page,
    session: Session,
    kind: Kind,
    code: str,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    row = _row(session, kind, code)
    spec = kind.spec(session, row)
    return page.render(
        "admin/edit.html",
        status=status,
        error=error,
        title=kind.title,
        name=row.name,
        code=row.code,
        active=row.active,
        facts=kind.facts(page, session, row),
        spec=spec,
        values=values if values is not None else _current(row, spec),
        action=f"/admin/{kind.path}/{code}",
        back=f"/admin/{kind.path}",
        extras=[],
    )


def _kind(path: str) -> Kind:
    if path not in KINDS:
        raise NotFound(Msg("没有这个页面", "no such page"))
    return KINDS[path]


@router.get("/admin/{path}/{code}")
def edit_form(page: PageDep, session: SessionDep, _: PageAdmin, path: str, code: str) -> Response:
    return edit_page(page, session, _kind(path), code)


@router.post("/admin/{path}/{code}")
def save(
    page: PageDep, session: SessionDep, _: PageAdmin, form: CsrfForm, path: str, code: str
) -> Response:
    kind = _kind(path)
    row = _row(session, kind, code)
    values = fields(form, tuple(f.name for f in kind.spec(session, row)))
    values = robot_form(values)  # an empty secret keeps it
    try:
        kind.update(session, code=code, data=parse_patch(kind.patch, values, LABELS))
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return edit_page(
            page, session, kind, code, values=values, error=page.message(exc), status=exc.status
        )
    return redirect(f"/admin/{path}?ok=saved")


@router.post("/admin/{path}/{code}/active")
def set_active(
    page: PageDep, session: SessionDep, _: PageAdmin, form: CsrfForm, path: str, code: str
) -> Response:
    """停用 / 重新启用: nothing is deleted; the service refuses (409) what would orphan open
    cases or break the tree, saying what to do first."""
    kind = _kind(path)
    active = active_flag(form_field(form, "active"))
    try:
        kind.update(session, code=code, data=kind.patch(active=active))
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return edit_page(page, session, kind, code, error=page.message(exc), status=exc.status)
    return redirect(f"/admin/{path}?ok={'on' if active else 'off'}")
