"""The case page (fields, photos, timeline, deadline, letters, the allowed actions), the one
POST that performs any action on a case through cases.actions.perform, the supervisor's letter
about a case, and the attachment download."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api import downloads
from api.deps import NowDep, SessionDep
from api.web import session as websession
from api.web.deps import CsrfForm, PageDep, PageUser, field, fields, page_router, uploads
from api.web.pages import Page, fmt_day, redirect
from api.web.views import Names, left_label, next_step, validation_text
from closeloop.auth.policy import Principal
from closeloop.cases import actions, attachments, deadlines, lookup, views
from closeloop.cases import service as cases
from closeloop.errors import DomainError, Forbidden, Invalid
from closeloop.letters import service as letters
from models.case import ActionInput
from models.enums import Action, CaseKind, CaseState, LetterType
from models.letter import LetterPublic

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
TEXT_FIELDS = ("note", "reason", "unit_code", "limit_days", "due_date", "days", "target_case_id",
               "target_number", "version", "next")  # fmt: skip
LETTER_FIELDS = ("letter_type", "reason", "reply_due_date")


def case_page(
    page: Page,
    session: Session,
    user: Principal,
    now: datetime,
    case_id: int,
    *,
    error: str = "",
    status: int = 200,
    values: dict[str, str] | None = None,
    open_action: str = "",
) -> Response:
    t = page.t
    view = views.case_view(session, actor=user, case_id=case_id, now=now)
    public = view.case
    try:
        related: list[LetterPublic] | None = letters.list_letters(
            session, actor=user, case_id=case_id
        )
    except Forbidden:  # who may read letters is the letters service's rule
        related = None
    ok = page.request.query_params.get("ok", "")
    names = Names.load(session)
    return page.render(
        "case.html",
        status=status,
        error=error,
        flash=t("done.file") if ok == "file" else page.flash(),
        c=public,
        names=names,
        files=view.files,
        uploaders=view.uploaders,
        steps=view.steps,
        related=related,
        duplicates=view.duplicates,
        pending=view.pending,
        requesters=view.requesters,
        tl=view.left,
        tl_of=t("f.verify_due_at") if public.state == CaseState.verifying
        else t("letters.reply_due") if public.kind == CaseKind.letter
        else t("f.due_at"),  # fmt: skip
        left_text=left_label(t, view.left),
        next_text=next_step(t, public, names, fmt_day, now),
        default_unit=view.default_unit,
        units=list(names.units.values()),
        values=values or {},
        open_action=open_action,
        may_issue=letters.may_issue_about(user, public),
        letter_types=list(LetterType),
    )


@router.get("/cases/{case_id}")
def show_case(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, case_id: PathId
) -> Response:
    return case_page(page, session, user, now, case_id)


def _int(page: Page, values: dict[str, str], name: str, label: str) -> int | None:
    raw = values.get(name, "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid(page.t("err.number", what=page.t(label))) from None


def action_input(
    page: Page, session: Session, user: Principal, values: dict[str, str], attachment_ids: list[int]
) -> ActionInput:
    """The action form's fields as the service's input (a target case may be named by number)."""
    target = _int(page, values, "target_case_id", "f.target")
    number = values.get("target_number", "")
    if target is None and number:
        found = lookup.case_by_number(session, actor=user, number=number)
        if found is None:
            raise Invalid(page.t("err.target", what=number))
        target = found.id
    due_at = None
    if values.get("due_date"):
        try:
            day = date.fromisoformat(values["due_date"])
        except ValueError:
            raise Invalid(page.t("err.date", what=page.t("f.due_date"))) from None
        due_at = deadlines.load_calendar(session).end_of_day(day)
    try:
        return ActionInput(
            due_at=due_at,
            note=values.get("note") or None,
            reason=values.get("reason") or None,
            version=_int(page, values, "version", "f.version"),
            unit_code=values.get("unit_code") or None,
            limit_days=_int(page, values, "limit_days", "f.limit_days"),
            days=_int(page, values, "days", "f.days"),
            target_case_id=target,
            attachment_ids=attachment_ids or None,
        )
    except ValidationError as exc:
        raise Invalid(validation_text(exc)) from None


@router.post("/cases/{case_id}/act/{action}")
def act(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm,
    case_id: PathId, action: str,
) -> Response:  # fmt: skip
    values = fields(form, TEXT_FIELDS)
    try:
        ids = []
        if action == Action.submit:
            for f in uploads(form, "files"):
                row = attachments.add_attachment(
                    session, actor=user, case_id=case_id, filename=f.filename or "",
                    stream=f.file, now=now,
                )  # fmt: skip
                assert row.id is not None
                ids.append(row.id)
        data = action_input(page, session, user, values, ids)
        actions.perform(session, actor=user, case_id=case_id, action=action, data=data, now=now)
    except DomainError as exc:
        return _shown_again(page, session, user, now, case_id, exc, values, open_action=action)
    target = websession.safe_next(values.get("next"), f"/cases/{case_id}")
    sep = "&" if "?" in target else "?"
    return redirect(f"{target}{sep}ok={action}")


def _letter_args(
    page: Page, session: Session, user: Principal, now: datetime, values: dict[str, str],
    case_id: int,
) -> dict[str, Any]:  # fmt: skip
    """The letter form's fields as issue_letter's and preview_letter's keyword arguments."""
    case = cases.load_case(session, actor=user, case_id=case_id)
    if values["letter_type"] not in LetterType._value2member_map_:
        raise Invalid(page.t("err.required", what=page.t("letters.type")))
    reply = None
    if values["reply_due_date"]:
        try:
            reply = date.fromisoformat(values["reply_due_date"])
        except ValueError:
            raise Invalid(page.t("err.date", what=page.t("letters.reply_due"))) from None
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
    page: Page, session: Session, user: Principal, now: datetime, form: CsrfForm, case_id: int,
    act: Letter,
) -> Response:  # fmt: skip
    """The letter form's fields, handed to `act`; a refusal shows the case page again with the
    service's message and what was typed (403 and 404 stay errors)."""
    values = fields(form, LETTER_FIELDS)
    try:
        return act(_letter_args(page, session, user, now, values, case_id))
    except DomainError as exc:
        return _shown_again(page, session, user, now, case_id, exc, values, open_action="letter")


@router.post("/cases/{case_id}/letter/preview")
def preview_letter(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm,
    case_id: PathId,
) -> Response:  # fmt: skip
    """The letter form first shows the letter as it would be issued (预览, number pending);
    its confirm button posts the same fields to /cases/{id}/letter."""

    def preview(args: dict[str, Any]) -> Response:
        html = letters.preview_letter(session, **args)
        session.rollback()  # a preview keeps nothing
        return page.render("letter_preview.html", case_id=case_id,
                           values=fields(form, LETTER_FIELDS), letter_html=html)  # fmt: skip

    return _letter_form(page, session, user, now, form, case_id, preview)


@router.post("/cases/{case_id}/letter")
def issue_letter(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm,
    case_id: PathId,
) -> Response:  # fmt: skip
    """A supervisor's letter about this case to the unit holding it (督办人员手动发函): the
    preview page's confirm button."""

    def issue(args: dict[str, Any]) -> Response:
        letters.issue_letter(session, **args)
        return redirect(f"/cases/{case_id}?ok=letter")

    return _letter_form(page, session, user, now, form, case_id, issue)


@router.post("/letters/{letter_id}/withdraw")
def withdraw_letter(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm,
    letter_id: PathId,
) -> Response:  # fmt: skip
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


@router.get("/attachments/{attachment_id}")
def attachment(session: SessionDep, user: PageUser, attachment_id: PathId) -> Response:
    return downloads.attachment(session, actor=user, attachment_id=attachment_id, inline=True)


def _shown_again(
    page: Page, session: Session, user: Principal, now: datetime, case_id: int,
    exc: DomainError, values: dict[str, str], *, open_action: str,
) -> Response:  # fmt: skip
    """A refused form: nothing kept, the case page again with the service's message, what was
    typed and the form open (403 and 404 stay errors)."""
    session.rollback()
    if isinstance(exc, Forbidden) or exc.status == 404:
        raise exc
    return case_page(page, session, user, now, case_id, error=page.message(exc),
                     status=exc.status, values=values, open_action=open_action)  # fmt: skip
