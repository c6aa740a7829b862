"""The inspection pages: the admin's checklist sets (/admin/checklists), the list of inspections
(/inspections), recording one (/inspections/new → POST /inspections) and one inspection with the
hazards it filed (/inspections/{id}). Every rule is closeloop.safety's; a refusal redraws the
form with the message and what was entered."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import Response
from sqlmodel import Session, col, select

from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web.admin import PageAdmin, active_flag, parse
from api.web.deps import CsrfForm, PageDep, PageUser, field, fields, page_router, uploads
from api.web.pages import Page, redirect
from closeloop.auth.policy import Principal
from closeloop.errors import DomainError, Invalid
from closeloop.safety import checklists, inspection_figures, inspection_reads, inspections
from models.enums import Grade, RegionLevel, Role
from models.inspection import ChecklistCreate, ChecklistUpdate, InspectionCreate
from models.org import Region
from models.types import SHANGHAI

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
CL_FIELDS = ("code", "name", "industry", "category_code", "items")
CL_LABELS = {
    "code": "adm.code",
    "name": "adm.name",
    "industry": "cl.industry",
    "category_code": "cl.category",
    "items": "cl.items",
}


def _item_lines(text: str) -> list[dict[str, str]]:
    """The textarea's lines "code | text | basis | category" as item dicts."""
    items = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or len(parts) > 4 or not parts[0] or not parts[1]:
            raise Invalid(i18n.msg("cl.bad_line", n=n))
        item = {"code": parts[0], "text": parts[1], "basis": parts[2] if len(parts) > 2 else ""}
        if len(parts) > 3 and parts[3]:
            item["category_code"] = parts[3]
        items.append(item)
    return items


def _checklists_page(page: Page, session: Session, **kw: Any) -> Response:
    return page.render(
        "admin/checklists.html",
        sets=checklists.list_checklists(session),
        values=kw.pop("values", {}),
        **kw,
    )


@router.get("/admin/checklists")
def checklist_admin(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    ok = page.request.query_params.get("ok", "")
    flash = page.t(f"adm.ok.{ok}") if ok in ("created", "saved") else ""
    return _checklists_page(page, session, flash=flash)


@router.post("/admin/checklists")
def checklist_create(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, form: CsrfForm
) -> Response:
    values = fields(form, CL_FIELDS)
    values["items"] = str(form.get("items") or "")
    try:
        data: dict[str, Any] = {k: v for k, v in values.items() if k != "items"}
        data["items"] = _item_lines(values["items"])
        checklists.create_checklist(session, data=parse(ChecklistCreate, data, CL_LABELS), now=now)
    except DomainError as exc:
        session.rollback()
        return _checklists_page(page, session, values=values, error=page.message(exc), status=422)
    return redirect("/admin/checklists?ok=created")


@router.post("/admin/checklists/{code}/active")
def checklist_active(
    session: SessionDep, _: PageAdmin, form: CsrfForm, code: Annotated[str, Path(max_length=40)]
) -> Response:
    update = ChecklistUpdate(active=active_flag(field(form, "active")))
    checklists.update_checklist(session, code=code, data=update)
    return redirect("/admin/checklists?ok=saved")


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _streets(session: Session, user: Principal) -> list[Region]:
    stmt = select(Region).where(Region.level == RegionLevel.street)
    if user.role != Role.admin:
        stmt = stmt.where(col(Region.path).startswith(user.region_path or "\x00", autoescape=True))
    return list(session.exec(stmt.order_by(col(Region.code))))


@router.get("/inspections")
def inspection_list(page: PageDep, session: SessionDep, user: PageUser) -> Response:
    q = page.request.query_params
    values = {
        k: q.get(k, "").strip()[:40] for k in ("enterprise_code", "from", "to", "street_code")
    }
    rows = inspection_reads.list_inspections(
        session,
        actor=user,
        enterprise_code=values["enterprise_code"] or None,
        date_from=_day(values["from"]),
        date_to=_day(values["to"]),
        street_code=values["street_code"] or None,
    )
    figures = None
    if user.role in (Role.admin, Role.dispatcher, Role.supervisor) and _day(values["from"]):
        figures = inspection_figures.figures(
            session,
            actor=user,
            date_from=_day(values["from"]),  # type: ignore[arg-type]
            date_to=_day(values["to"]) or _day(values["from"]),  # type: ignore[arg-type]
            group_by="industry" if q.get("group_by") == "industry" else "street",
        )
    return page.render(
        "inspections.html",
        rows=rows,
        values=values,
        streets=_streets(session, user),
        figures=figures,
        may_inspect=user.role in inspections.INSPECTORS,
    )


def _form_page(
    page: Page, session: Session, user: Principal, now: datetime, values: dict[str, str], **kw: Any
) -> Response:
    chosen = values.get("checklist_code", "")
    items = checklists.items_of(session, chosen) if chosen else []
    return page.render(
        "inspection_new.html",
        enterprises=inspections.inspectable(session, actor=user),
        sets=checklists.list_checklists(session, active=True),
        items=items,
        values=values,
        default_at=now.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"),
        grades=list(Grade),
        **kw,
    )


@router.get("/inspections/new")
def inspection_new(page: PageDep, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    q = page.request.query_params
    values = {k: q.get(k, "").strip()[:40] for k in ("enterprise_code", "checklist_code")}
    return _form_page(page, session, user, now, values)


def _answers(form: CsrfForm, items: list[Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    answers, photos = [], {}
    for item in items:
        result = field(form, f"result_{item.code}")
        if not result:
            continue  # unanswered: the service names it
        answer: dict[str, Any] = {
            "item_code": item.code,
            "result": result,
            "note": field(form, f"note_{item.code}"),
        }
        grade = field(form, f"grade_{item.code}")
        if result == "fail" and grade:
            answer["grade"] = grade
        answers.append(answer)
        chosen = uploads(form, f"photos_{item.code}")
        if chosen:
            photos[item.code] = [(f.filename or "", f.file) for f in chosen]
    return answers, photos


@router.post("/inspections")
def inspection_record(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm
) -> Response:
    names = ("enterprise_code", "checklist_code", "at", "unannounced", "note")
    values = fields(form, names)
    items = checklists.items_of(session, values["checklist_code"])
    for item in items:
        for key in ("result", "note", "grade"):
            values[f"{key}_{item.code}"] = field(form, f"{key}_{item.code}")
    try:
        answers, photos = _answers(form, items)
        try:
            at = datetime.fromisoformat(values["at"]).replace(tzinfo=SHANGHAI)
        except ValueError:
            raise Invalid(i18n.msg("err.date", what=i18n.msg("insp.at"))) from None
        data = parse(
            InspectionCreate,
            {
                "enterprise_code": values["enterprise_code"],
                "checklist_code": values["checklist_code"],
                "at": at,
                "unannounced": bool(values["unannounced"]),
                "note": values["note"],
                "items": answers,
            },
            {"enterprise_code": "insp.enterprise", "checklist_code": "insp.checklist"},
        )
        row = inspections.record_inspection(session, actor=user, data=data, now=now, photos=photos)
    except DomainError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        return _form_page(page, session, user, now, values, error=page.message(exc), status=422)
    return redirect(f"/inspections/{row.id}?ok=file")


@router.get("/inspections/{inspection_id}")
def inspection_page(
    page: PageDep, session: SessionDep, user: PageUser, inspection_id: PathId
) -> Response:
    shown = inspection_reads.get_inspection(session, actor=user, inspection_id=inspection_id)
    recorded = page.request.query_params.get("ok") == "file"
    return page.render("inspection.html", i=shown, recorded=recorded)
