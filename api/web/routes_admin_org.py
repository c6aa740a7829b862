"""The organisation's admin pages: regions (the tree, with counts), units and categories (the
two-level checklist). Each has a list with a create form, an edit page and a deactivate button;
every change goes through closeloop.org.service, and a refusal redraws the form with the message
and what was typed."""

from collections.abc import Callable
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import SessionDep
from api.web.admin import PageAdmin, parse
from api.web.deps import CsrfForm, PageDep, fields, page_router
from api.web.pages import Page, redirect
from closeloop.errors import DomainError
from closeloop.org import service as org
from models.enums import RegionLevel
from models.org import CategoryCreate, Region, RegionCreate, UnitCreate

router = page_router()

REGION_FIELDS = ("code", "name", "level", "parent_code")
UNIT_FIELDS = (
    "code",
    "name",
    "short_name",
    "region_code",
    "email",
    "head_email",
    "webhook_url",
    "webhook_kind",
    "webhook_secret",
)
CATEGORY_FIELDS = ("code", "name", "parent_code", "unit_code", "limit_days", "sign_hours")
CATEGORY_FIELDS += ("emergency",)  # type: ignore[assignment]  # 紧急类 (cases/emergency.py)
LABELS = {
    "code": "adm.code",
    "name": "adm.name",
    "level": "adm.level",
    "parent_code": "adm.parent",
    "short_name": "adm.short_name",
    "region_code": "adm.region",
    "email": "adm.email",
    "head_email": "adm.head_email",
    "webhook_url": "adm.webhook_url",
    "webhook_kind": "adm.webhook_kind",
    "webhook_secret": "adm.webhook_secret",
    "unit_code": "adm.unit",
    "limit_days": "adm.limit_days",
    "sign_hours": "adm.sign_hours",
    "active": "adm.active",
    "emergency": "adm.emergency",
}


def depth(path: str) -> int:
    """A region's level in the tree from its path ("/D/" is 0, "/D/S/" is 1, ...)."""
    return max(path.count("/") - 2, 0)


def regions_page(
    page: Page, session: Session, *, values: dict[str, str] | None = None, **kw: Any
) -> Response:
    regions = org.list_regions(session)
    return page.render(
        "admin/regions.html",
        regions=org.region_tree(session),
        depth=depth,
        editable=True,
        level_options=[(lv.value, page.t(f"level.{lv}")) for lv in RegionLevel],
        parent_options=parent_options(regions),
        values=values or {},
        **kw,
    )


def parent_options(regions: list[Region]) -> list[tuple[str, str]]:
    """Every region that can be a parent (not a grid), indented by its level."""
    return [
        (r.code, f"{'　' * depth(r.path)}{r.name}（{r.code}）")
        for r in regions
        if r.level != RegionLevel.grid
    ]


def units_page(
    page: Page, session: Session, *, values: dict[str, str] | None = None, **kw: Any
) -> Response:
    regions = org.list_regions(session)
    return page.render(
        "admin/units.html",
        units=org.list_units(session),
        district_options=[(r.code, r.name) for r in regions if r.level == RegionLevel.district],
        region_names={r.code: r.name for r in regions},
        usage=org.unit_usage(session),
        editable=True,
        values=values or {},
        **kw,
    )


def categories_page(
    page: Page, session: Session, *, values: dict[str, str] | None = None, **kw: Any
) -> Response:
    rows = org.list_categories(session)
    classes = [c for c in rows if c.parent_code is None]
    items = {c.code: [i for i in rows if i.parent_code == c.code] for c in classes}
    units = org.list_units(session)
    return page.render(
        "admin/categories.html",
        classes=classes,
        items=items,
        class_options=[(c.code, f"{c.name}（{c.code}）") for c in classes],
        unit_options=[(u.code, u.name) for u in units if u.active],
        unit_names={u.code: u.name for u in units},
        usage=org.category_usage(session),
        editable=True,
        values=values or {},
        **kw,
    )


def _flash(page: Page) -> str:
    ok = page.request.query_params.get("ok", "")
    return page.t(f"adm.ok.{ok}") if ok in ("created", "saved", "off", "on") else ""


@router.get("/admin/regions")
def region_list(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    return regions_page(page, session, flash=_flash(page))


@router.get("/admin/units")
def unit_list(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    return units_page(page, session, flash=_flash(page))


@router.get("/admin/categories")
def category_list(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    return categories_page(page, session, flash=_flash(page))


Drawer = Callable[..., Response]


def _create(
    page: Page,
    session: Session,
    form: CsrfForm,
    names: tuple[str, ...],
    model: type[BaseModel],
    make: Callable[[Any], object],
    draw: Drawer,
    back: str,
) -> Response:
    values = fields(form, names)
    try:
        make(parse(model, values, LABELS))
    except DomainError as exc:
        session.rollback()
        return draw(page, session, values=values, error=page.message(exc), status=exc.status)
    return redirect(f"{back}?ok=created")


@router.post("/admin/regions")
def create_region(page: PageDep, session: SessionDep, _: PageAdmin, form: CsrfForm) -> Response:
    return _create(
        page,
        session,
        form,
        REGION_FIELDS,
        RegionCreate,
        lambda data: org.create_region(session, data=data),
        regions_page,
        "/admin/regions",
    )


@router.post("/admin/units")
def create_unit(page: PageDep, session: SessionDep, _: PageAdmin, form: CsrfForm) -> Response:
    return _create(
        page,
        session,
        form,
        UNIT_FIELDS,
        UnitCreate,
        lambda data: org.create_unit(session, data=data),
        units_page,
        "/admin/units",
    )


@router.post("/admin/categories")
def create_category(page: PageDep, session: SessionDep, _: PageAdmin, form: CsrfForm) -> Response:
    return _create(
        page,
        session,
        form,
        CATEGORY_FIELDS,
        CategoryCreate,
        lambda data: org.create_category(session, data=data),
        categories_page,
        "/admin/categories",
    )
