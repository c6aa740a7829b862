"""The enterprise and place register's pages (一企一档): /enterprises (search, filters, pages and,
for those who may, the registration form) and /enterprises/{code} (the file: the record, its
hazards, inspections, risk points and letters; edit and deactivate for those who may). Every
change goes through closeloop.safety.enterprises; a refusal redraws the form with the message
and what was typed."""

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web.admin import active_flag, parse, parse_patch
from api.web.deps import CsrfForm, PageDep, PageUser, field, fields, page_router
from api.web.pages import Page, PageNo, page_number, redirect
from api.web.views import Names
from closeloop.auth.policy import Principal
from closeloop.errors import DomainError
from closeloop.safety import enterprises, inspections, profile, risk_reports
from closeloop.safety.enterprises import EnterpriseFilter
from models.enterprise import Enterprise, EnterpriseCreate, EnterpriseUpdate
from models.enums import EnterpriseKind, RegionLevel, RiskLevel

router = page_router()
PAGE_SIZE = 50
FORM = (
    "code",
    "name",
    "kind",
    "credit_code",
    "address",
    "grid_code",
    "industry",
    "scale",
    "risk_level",
    "contact_name",
    "contact_phone",
    "lat",
    "lon",
)
LABELS = {name: f"ent.f.{name}" for name in (*FORM, "active")}
FILTERS = ("q", "kind", "industry", "street_code", "grid_code", "risk_level", "active")


def _filter(values: dict[str, str]) -> EnterpriseFilter:
    """The query string as the core's filter; a value the form cannot produce reads as "any"."""
    kind, level = values["kind"], values["risk_level"]
    return EnterpriseFilter(
        q=values["q"] or None,
        kind=EnterpriseKind(kind) if kind in EnterpriseKind._value2member_map_ else None,
        industry=values["industry"] or None,
        street_code=values["street_code"] or None,
        grid_code=values["grid_code"] or None,
        risk_level=RiskLevel(level) if level in RiskLevel._value2member_map_ else None,
        active={"1": True, "0": False}.get(values["active"]),
    )


def _choices(session: Session, user: Principal) -> dict[str, Any]:
    return {
        "streets": enterprises.regions_for(session, actor=user, level=RegionLevel.street),
        "grids": enterprises.regions_for(session, actor=user, level=RegionLevel.grid),
        "industries": enterprises.industries(session, actor=user),
        "kinds": list(EnterpriseKind),
        "levels": list(RiskLevel),
    }


def _list_page(
    page: Page,
    session: Session,
    user: Principal,
    *,
    page_no: int = 1,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    params = page.request.query_params
    filters = {name: params.get(name, "").strip()[:100] for name in FILTERS}
    rows, total = enterprises.find_page(
        session, actor=user, filters=_filter(filters), page=page_no, page_size=PAGE_SIZE
    )
    query = urlencode([(k, v) for k, v in filters.items() if v])
    return page.render(
        "enterprises.html",
        status=status,
        rows=rows,
        listing={"total": total, "page": page_no, "page_size": PAGE_SIZE},
        pager_q=f"&{query}" if query else "",
        filters=filters,
        choices=_choices(session, user),
        may_edit=enterprises.may_edit(user),
        values=values if values is not None else {"kind": "enterprise"},
        error=error,
    )


@router.get("/enterprises")
def enterprise_list(
    page: PageDep, session: SessionDep, user: PageUser, page_no: PageNo = "1"
) -> Response:
    return _list_page(page, session, user, page_no=page_number(page_no))


@router.post("/enterprises")
def create_enterprise(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm
) -> Response:
    values = fields(form, FORM)
    try:
        data = parse(EnterpriseCreate, values, LABELS)
        row = enterprises.create_enterprise(session, actor=user, data=data, now=now)
    except DomainError as exc:
        session.rollback()
        return _list_page(
            page, session, user, values=values, error=page.message(exc), status=exc.status
        )
    return redirect(f"/enterprises/{row.code}?ok=created")


def _form_values(row: Enterprise) -> dict[str, str]:
    values = {name: getattr(row, name) for name in FORM}
    return {k: "" if v is None else str(v) for k, v in values.items()}


def _profile_page(
    page: Page,
    session: Session,
    user: Principal,
    now: Any,
    code: str,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    file = profile.profile(session, actor=user, code=code, now=now)
    ok = page.request.query_params.get("ok", "")
    flash = {"created": "ent.created", "saved": "ent.saved"}.get(ok)
    return page.render(
        "enterprise.html",
        status=status,
        file=file,
        e=file.enterprise,
        names=Names.load(session),
        may_edit=enterprises.may_edit(user),
        may_inspect=inspections.may_inspect(user, file.enterprise),
        may_report_risk=risk_reports.may_report(user),
        choices=_choices(session, user),
        values=values if values is not None else _form_values(file.enterprise),
        flash=page.t(flash) if flash else "",
        error=error,
    )


@router.get("/enterprises/{code}")
def enterprise_file(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, code: str
) -> Response:
    return _profile_page(page, session, user, now, code)


def _save(
    page: Page,
    session: Session,
    user: Principal,
    now: Any,
    code: str,
    data: dict[str, Any],
    values: dict[str, str] | None,
) -> Response:
    try:
        body = parse_patch(EnterpriseUpdate, data, LABELS) if values is not None else None
        update = body or EnterpriseUpdate(**data)
        enterprises.update_enterprise(session, actor=user, code=code, data=update, now=now)
    except DomainError as exc:
        session.rollback()
        return _profile_page(
            page, session, user, now, code, values=values, error=page.message(exc),
            status=exc.status,
        )  # fmt: skip
    return redirect(f"/enterprises/{code}?ok=saved")


@router.post("/enterprises/{code}")
def edit_enterprise(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm, code: str
) -> Response:
    values = fields(form, FORM)
    data = {k: v for k, v in values.items() if k != "code"}
    return _save(page, session, user, now, code, data, values)


@router.post("/enterprises/{code}/active")
def toggle_active(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm, code: str
) -> Response:
    return _save(
        page, session, user, now, code, {"active": active_flag(field(form, "active"))}, None
    )
