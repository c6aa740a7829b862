"""The admin's page of return reasons (/admin/return-reasons): the list with a form per reason
(name, English name, order), deactivate / reactivate, and a create form. Every change goes
through closeloop.cases.reasons; a refusal redraws the page with the message and what was typed."""

from typing import Any

from fastapi.responses import Response
from sqlmodel import Session

from api.deps import SessionDep
from api.web.admin import PageAdmin, active_flag, parse, parse_patch
from api.web.deps import CsrfForm, PageDep, fields, page_router
from api.web.pages import Page, redirect
from closeloop.auth.policy import Principal
from closeloop.cases import reasons
from closeloop.errors import DomainError
from models.reason import ReturnReasonCreate, ReturnReasonUpdate

router = page_router()
FIELDS = ("code", "name", "name_en", "seq")
LABELS = {"code": "adm.code", "name": "adm.name", "name_en": "rr.name_en", "seq": "rr.seq"}
URL = "/admin/return-reasons"


def reasons_page(
    page: Page, session: Session, *, values: dict[str, str] | None = None, **kw: Any
) -> Response:
    return page.render(
        "admin/return_reasons.html",
        reasons=reasons.list_reasons(session, include_inactive=True),
        values=values or {},
        **kw,
    )


def _refused(page: Page, session: Session, exc: DomainError, values: dict[str, str]) -> Response:
    session.rollback()
    return reasons_page(page, session, values=values, error=page.message(exc), status=exc.status)


@router.get(URL)
def reason_list(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    ok = page.request.query_params.get("ok", "")
    flash = page.t(f"adm.ok.{ok}") if ok in ("created", "saved") else ""
    return reasons_page(page, session, flash=flash)


@router.post(URL)
def create_reason(page: PageDep, session: SessionDep, admin: PageAdmin, form: CsrfForm) -> Response:
    values = fields(form, FIELDS)
    try:
        data = parse(ReturnReasonCreate, values, LABELS)
        reasons.create_reason(session, actor=admin, data=data)
    except DomainError as exc:
        return _refused(page, session, exc, values)
    return redirect(f"{URL}?ok=created")


@router.post(URL + "/{code}")
def update_reason(
    page: PageDep, session: SessionDep, admin: PageAdmin, form: CsrfForm, code: str
) -> Response:
    """The row's form (name, English name, order), or its deactivate/reactivate button."""
    return _update(page, session, admin, form, code)


def _update(page: Page, session: Session, admin: Principal, form: CsrfForm, code: str) -> Response:
    values = fields(form, ("name", "name_en", "seq", "active"))
    try:
        if values.get("active", "") != "":
            data = ReturnReasonUpdate(active=active_flag(values["active"]))
        else:
            shown = {k: values.get(k, "") for k in ("name", "name_en", "seq")}
            data = parse_patch(ReturnReasonUpdate, shown, LABELS)
        reasons.update_reason(session, actor=admin, code=code, data=data)
    except DomainError as exc:
        return _refused(page, session, exc, {})
    return redirect(f"{URL}?ok=saved")
