"""Filing a case (上报事件, phone-first, at /report/new) and a grid worker's own cases (/my)."""

import uuid
from datetime import datetime

from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web.deps import CsrfForm, PageDep, PageUser, fields, page_router, uploads
from api.web.pages import Page, PageNo, fmt_day, page_number, redirect
from api.web.views import Names, estimated_years, next_step, validation_text
from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases import attachments, views
from closeloop.cases import service as cases
from closeloop.errors import DomainError, Invalid
from closeloop.safety import enterprises
from closeloop.text import Msg
from models.case import Case, CaseCreate
from models.enums import CaseKind

router = page_router()
FIELDS = (
    "kind",
    "grade",
    "category_class",
    "category_code",
    "grid_code",
    "title",
    "description",
    "address",
    "lat",
    "lon",
    "form_token",
    "enterprise_code",
)


def _form_page(
    page: Page,
    session: Session,
    user: Principal,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> Response:
    form = views.filing_form(session, actor=user)
    if not values.get("grid_code") and len(form.grids) == 1:
        values["grid_code"] = form.grids[0].code
    if values.get("category_code") and not values.get("category_class"):
        values["category_class"] = form.class_of(values["category_code"])
    return page.render(
        "case_new.html",
        status=status,
        values=values,
        error=error,
        form=form,
        enterprises=enterprises.choices(session, actor=user),
    )


@router.get("/report/new")
def new_case_form(page: PageDep, session: SessionDep, user: PageUser) -> Response:
    # A one-time token: sent twice (a double tap, a browser's retry), the form files once.
    values = {"kind": CaseKind.event, "form_token": new_token()}
    # From an enterprise's file (一企一档): a hazard of that enterprise, its grid following.
    code = page.request.query_params.get("enterprise_code", "").strip()[:40]
    if code:
        values["enterprise_code"] = code
        if CaseKind.hazard in policy.kinds_to_file(user):
            values["kind"] = CaseKind.hazard
    return _form_page(page, session, user, values)


def new_token() -> str:
    return f"form-{uuid.uuid4().hex}"


def _create_data(page: Page, values: dict[str, str]) -> CaseCreate:
    # The grid may follow from the enterprise or the GPS point (cases.service.file_case).
    grid_follows = values.get("enterprise_code") or (values.get("lat") and values.get("lon"))
    missing = [
        i18n.msg(label)
        for name, label in (
            ("category_code", "f.category_item"),
            ("grid_code", "f.grid"),
            ("title", "f.title"),
        )
        if not values.get(name) and not (name == "grid_code" and grid_follows)
    ]
    if missing:
        sep = i18n.msg("sep")
        raise Invalid(i18n.msg("err.required", what=Msg.join(missing, sep.zh, sep.en)))
    location = None
    if values.get("lat") and values.get("lon"):
        try:
            location = {"lat": float(values["lat"]), "lon": float(values["lon"])}
        except ValueError:
            raise Invalid(i18n.msg("err.location")) from None
    try:
        return CaseCreate(
            kind=CaseKind(values.get("kind") or "event"),
            title=values["title"],
            description=values.get("description", ""),
            category_code=values["category_code"],
            grid_code=values["grid_code"] or None,
            enterprise_code=values.get("enterprise_code") or None,
            address=values.get("address", ""),
            location=location,  # type: ignore[arg-type]
            grade=values.get("grade") or None,  # type: ignore[arg-type]
        )
    except (ValidationError, ValueError) as exc:
        raise Invalid(validation_text(exc)) from None


def _file(
    page: Page,
    session: Session,
    user: Principal,
    now: datetime,
    form: CsrfForm,
    values: dict[str, str],
) -> int:
    """The case and its photos, in one transaction: a refused photo rolls the filing back. The
    form's token is the filing's idempotency key: the same form sent again lands on the case
    the first one filed. Returns the case's id."""

    def photos(case: Case) -> None:
        assert case.id is not None
        for photo in uploads(form, "photos"):
            attachments.add_attachment(
                session,
                actor=user,
                case_id=case.id,
                filename=photo.filename or "",
                stream=photo.file,
                now=now,
            )

    data = _create_data(page, values)
    key = values.get("form_token") or None
    filed = cases.file_once(session, actor=user, data=data, now=now, key=key, then=photos)
    assert filed.case_id is not None
    return filed.case_id


@router.post("/report/new")
def file_case(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm
) -> Response:
    views.require_may_file(user)
    values = fields(form, FIELDS)
    try:
        case_id = _file(page, session, user, now, form, values)
    except DomainError as exc:
        session.rollback()
        return _form_page(page, session, user, values, error=page.message(exc), status=exc.status)
    return redirect(f"/cases/{case_id}?ok=file")


@router.get("/my")
def own_cases(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, page_no: PageNo = "1"
) -> Response:
    listing = views.own_cases(session, actor=user, page=page_number(page_no), now=now)
    names = Names.load(session)
    rows = [(c, next_step(page.t, c, names, fmt_day, now)) for c in listing.items]
    return page.render(
        "my.html",
        rows=rows,
        names=names,
        listing=listing,
        estimated_years=estimated_years(session, listing.items),
        flash=page.t("done") if page.request.query_params.get("ok") else "",
    )
