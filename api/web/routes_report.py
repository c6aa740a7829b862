"""The grid worker's pages: report an event (phone-first) and "my reports"."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from api.web import i18n
from api.web.core import Web, fmt_day, page_number, read_form, respond
from api.web.views import Names, can_file, next_step
from closeloop.auth import policy
from closeloop.cases import attachments
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from closeloop.errors import DomainError, Forbidden, Invalid
from closeloop.org import service as org
from closeloop.text import Msg
from models.case import CaseCreate
from models.enums import Action, CaseKind, RegionLevel
from models.org import Region

router = APIRouter(include_in_schema=False)
FIELDS = ("kind", "grade", "category_class", "category_code", "grid_code", "title",
          "description", "address", "lat", "lon")


def _grids(session: Session, w: Web) -> list[Region]:
    rows = session.exec(select(Region).where(Region.level == RegionLevel.grid).order_by(Region.path))
    return [r for r in rows if policy.in_region(w.me, r.path)]


def _form_page(w: Web, values: dict[str, str], error: str = "", status: int = 200) -> Response:
    categories = org.list_categories(w.session)
    classes = [c for c in categories if c.parent_code is None]
    grids = _grids(w.session, w)
    if not values.get("grid_code") and len(grids) == 1:
        values["grid_code"] = grids[0].code
    item_class = {c.code: c.parent_code for c in categories if c.parent_code}
    if values.get("category_code") and not values.get("category_class"):
        values["category_class"] = item_class.get(values["category_code"]) or ""
    return w.render(
        "report_new.html",
        status=status,
        values=values,
        error=error,
        classes=classes,
        items=[c for c in categories if c.parent_code],
        grids=grids,
        desk=w.me.role != "reporter",
    )


def _may_file(w: Web) -> None:
    """Whether to offer the form at all; file_case itself enforces who may file what, where."""
    if not can_file(w.me):
        raise Forbidden(Msg(f"角色 {w.me.role} 不能上报", f"role {w.me.role} may not file cases"))


@router.get("/report/new")
def report_form(request: Request) -> Response:
    def page(w: Web) -> Response:
        _may_file(w)
        return _form_page(w, {"kind": "event"})

    return respond(request, page)


def _create_data(w: Web, values: dict[str, str]) -> CaseCreate:
    missing = [i18n.msg(label) for name, label in (("category_code", "f.category_item"),
               ("grid_code", "f.grid"), ("title", "f.title")) if not values.get(name)]
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
            grid_code=values["grid_code"],
            address=values.get("address", ""),
            location=location,  # type: ignore[arg-type]
            grade=values.get("grade") or None,  # type: ignore[arg-type]
        )
    except (ValidationError, ValueError) as exc:
        raise Invalid(validation_text(exc)) from None


def validation_text(exc: Exception) -> Msg:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return Msg("输入有误", "invalid input: " + "; ".join(parts))
    return Msg("输入有误", f"invalid input: {exc}")


def uploads(form: Any, name: str) -> list[UploadFile]:
    """The files actually chosen in a file input (browsers send an empty part for none)."""
    getlist = getattr(form, "getlist", None)
    items = getlist(name) if getlist else []
    return [f for f in items if isinstance(f, UploadFile) and f.filename]


@router.post("/report/new")
async def report(request: Request) -> Response:
    form = await read_form(request)

    def page(w: Web) -> Response:
        values = {name: w.field(name) for name in FIELDS}
        _may_file(w)
        try:
            data = _create_data(w, values)
            case = cases.file_case(w.session, actor=w.me, data=data, now=w.now)
            assert case.id is not None
            # One transaction: a refused photo rolls the filing back too.
            for photo in uploads(form, "photos"):
                attachments.add_attachment(
                    w.session, actor=w.me, case_id=case.id, filename=photo.filename or "",
                    stream=photo.file, now=w.now,
                )
        except DomainError as exc:
            w.session.rollback()
            return _form_page(w, values, error=w.message(exc), status=exc.status)
        return w.redirect(f"/cases/{case.id}?ok=file")

    return await run_in_threadpool(respond, request, page, form=form)


@router.get("/my")
def my_reports(request: Request, page: str = "1") -> Response:
    def view(w: Web) -> Response:
        listing = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(), page=page_number(page), page_size=50, now=w.now
        )
        names = Names.load(w.session)
        # What waits for the worker (verifying their own event) comes first.
        items = sorted(listing.items, key=lambda c: Action.approve not in c.allowed_actions)
        rows = [(c, next_step(w.t, c, names, fmt_day, w.now)) for c in items]
        return w.render("my.html", rows=rows, names=names, listing=listing,
                        flash=w.t("done") if request.query_params.get("ok") else "")

    return respond(request, view)
