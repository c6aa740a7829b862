"""Letters on the pages: the list, the documents (the API's files, through api/downloads.py),
a supervisor's letter about a case (preview, then issue) and withdrawing one."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import Response
from sqlmodel import Session

from api import downloads
from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web import session as websession
from api.web.deps import CsrfForm, PageDep, PageUser, field, fields, page_router
from api.web.pages import Page, redirect
from api.web.routes_case import shown_again
from api.web.views import Names
from closeloop.auth.policy import Principal
from closeloop.cases import service as cases
from closeloop.errors import DomainError, Forbidden, Invalid
from closeloop.letters import service as letters
from models.enums import LetterType

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
LETTER_FIELDS = ("letter_type", "reason", "reply_due_date")


@router.get("/letters")
def letter_list(page: PageDep, session: SessionDep, user: PageUser) -> Response:
    rows = letters.list_letters(session, actor=user)
    return page.render("letters.html", rows=rows, names=Names.load(session))


@router.get("/letters/{letter_id}.pdf")
def letter_pdf(session: SessionDep, user: PageUser, letter_id: PathId) -> Response:
    return downloads.letter_pdf(session, actor=user, letter_id=letter_id)


@router.get("/letters/{letter_id}.html")
def letter_html(session: SessionDep, user: PageUser, letter_id: PathId) -> Response:
    return downloads.letter_html(session, actor=user, letter_id=letter_id)


def _letter_args(
    page: Page,
    session: Session,
    user: Principal,
    now: datetime,
    values: dict[str, str],
    case_id: int,
) -> dict[str, Any]:
    """The letter form's fields as issue_letter's and preview_letter's keyword arguments."""
    case = cases.load_case(session, actor=user, case_id=case_id)
    if values["letter_type"] not in LetterType._value2member_map_:
        raise Invalid(i18n.msg("err.required", what=i18n.msg("letters.type")))
    reply = None
    if values["reply_due_date"]:
        try:
            reply = date.fromisoformat(values["reply_due_date"])
        except ValueError:
            raise Invalid(i18n.msg("err.date", what=i18n.msg("letters.reply_due"))) from None
    return {
        "letter_type": LetterType(values["letter_type"]),
        "unit_code": case.unit_code or "",
        "case_ids": [case_id],
        "now": now,
        "actor": user,
        "reason": values["reason"] or None,
        "reply_due_at": reply,
    }


Letter = Callable[[dict[str, Any]], Response]


def _letter_form(
    page: Page,
    session: Session,
    user: Principal,
    now: datetime,
    form: CsrfForm,
    case_id: int,
    act: Letter,
) -> Response:
    """The letter form's fields, handed to `act`; a refusal shows the case page again with the
    service's message and what was typed (403 and 404 stay errors)."""
    values = fields(form, LETTER_FIELDS)
    try:
        return act(_letter_args(page, session, user, now, values, case_id))
    except DomainError as exc:
        return shown_again(page, session, user, now, case_id, exc, values, open_action="letter")


@router.post("/cases/{case_id}/letter/preview")
def preview_letter(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    case_id: PathId,
) -> Response:
    """The letter form first shows the letter as it would be issued (预览, number pending);
    its confirm button posts the same fields to /cases/{id}/letter."""

    def preview(args: dict[str, Any]) -> Response:
        html = letters.preview_letter(session, **args)
        session.rollback()  # a preview keeps nothing
        return page.render(
            "letter_preview.html",
            case_id=case_id,
            values=fields(form, LETTER_FIELDS),
            letter_html=html,
        )

    return _letter_form(page, session, user, now, form, case_id, preview)


@router.post("/cases/{case_id}/letter")
def issue_letter(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    case_id: PathId,
) -> Response:
    """A supervisor's letter about this case to the unit holding it (督办人员手动发函): the
    preview page's confirm button."""

    def issue(args: dict[str, Any]) -> Response:
        letters.issue_letter(session, **args)
        return redirect(f"/cases/{case_id}?ok=letter")

    return _letter_form(page, session, user, now, form, case_id, issue)


@router.post("/letters/{letter_id}/withdraw")
def withdraw_letter(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    letter_id: PathId,
) -> Response:
    """作废 (supervisor, with a reason), from the letters list or a case page."""
    back = websession.safe_next(field(form, "next"), "/letters")
    try:
        letters.withdraw_letter(
            session, actor=user, letter_id=letter_id, reason=field(form, "reason"), now=now
        )
    except DomainError as exc:
        session.rollback()
        if isinstance(exc, Forbidden) or exc.status == 404:
            raise
        return page.error(exc.status, page.message(exc), testid="withdraw-error")
    sep = "&" if "?" in back else "?"
    return redirect(f"{back}{sep}ok=withdraw")
