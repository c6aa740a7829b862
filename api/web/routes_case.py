"""The case page (fields, photos, timeline, deadline, letters, the allowed actions) and the one
POST that performs any action on a case through services.actions.perform."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from api.web import i18n
from api.web import session as websession
from api.web.core import Web, fmt_day, read_form, respond
from api.web.routes_report import uploads, validation_text
from api.web.views import Names, left_label, next_step, user_names
from closeloop.cases import actions, attachments, deadlines, history, queues
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from closeloop.errors import DomainError, Forbidden, Invalid
from closeloop.letters import service as letters
from models.case import ActionInput
from models.enums import Action, CaseKind, LetterType
from models.letter import LetterPublic

router = APIRouter(include_in_schema=False)
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
TEXT_FIELDS = (
    "note",
    "reason",
    "unit_code",
    "limit_days",
    "due_date",
    "days",
    "target_case_id",
    "target_number",
    "version",
    "next",
)


def case_page(
    w: Web,
    case_id: int,
    *,
    error: str = "",
    status: int = 200,
    values: dict[str, str] | None = None,
    open_action: str = "",
) -> Response:
    case = cases.load_case(w.session, actor=w.me, case_id=case_id)
    public = cases.public_one(w.session, case, w.me, w.now)
    names = Names.load(w.session)
    cal = deadlines.load_calendar(w.session)
    pending = cases.pending_requests(w.session, [case_id])[case_id]
    files = attachments.list_attachments(w.session, actor=w.me, case_id=case_id)
    steps = history.history_of(w.session, case_id=case_id)
    try:
        related: list[LetterPublic] | None = letters.list_letters(
            w.session, actor=w.me, case_id=case_id
        )
    except Forbidden:  # who may read letters is the letters service's rule
        related = None
    duplicates = []
    if Action.merge in public.allowed_actions:
        duplicates = queues.possible_duplicates(w.session, actor=w.me, cases=[case])[case_id]
    requesters = {r.requested_by for r in (pending.extension, pending.suspension) if r}
    ok = w.request.query_params.get("ok", "")
    flash = ""
    if ok:
        flash = (
            w.t("done.file") if ok == "file" else f"{w.t('act.' + ok)}{w.t('colon')}{w.t('done')}"
        )
    left = queues.running_time_left(cal, public, w.now)
    category = names.categories.get(public.category_code or "")
    return w.render(
        "case.html",
        status=status,
        error=error,
        flash=flash,
        c=public,
        names=names,
        files=files,
        uploaders=user_names(w.session, {f.uploaded_by for f in files}),
        steps=steps,
        related=related,
        duplicates=duplicates,
        pending=pending,
        requesters=user_names(w.session, requesters),
        tl=left,
        tl_of=w.t("f.verify_due_at")
        if public.state == "verifying"
        else w.t("letters.reply_due")
        if public.kind == CaseKind.letter
        else w.t("f.due_at"),
        left_text=left_label(w.t, left),
        next_text=next_step(w.t, public, names, fmt_day, w.now),
        default_unit=(category.unit_code if category else "") or "",
        units=list(names.units.values()),
        values=values or {},
        open_action=open_action,
        may_issue=letters.may_issue_about(w.me, public),
        letter_types=list(LetterType),
    )


@router.get("/cases/{case_id}")
def show_case(request: Request, case_id: PathId) -> Response:
    return respond(request, lambda w: case_page(w, case_id))


def _int(w: Web, values: dict[str, str], name: str, label: str) -> int | None:
    raw = values.get(name, "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid(i18n.msg("err.number", what=i18n.msg(label))) from None


def action_input(w: Web, values: dict[str, str], attachment_ids: list[int]) -> ActionInput:
    target = _int(w, values, "target_case_id", "f.target")
    number = values.get("target_number", "")
    if target is None and number:
        found = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(q=number), page=1, page_size=5, now=w.now
        )
        match = [c for c in found.items if c.number == number]
        if not match:
            raise Invalid(i18n.msg("err.target", what=number))
        target = match[0].id
    due_at = None
    if values.get("due_date"):
        try:
            day = date.fromisoformat(values["due_date"])
        except ValueError:
            raise Invalid(i18n.msg("err.date", what=i18n.msg("f.due_date"))) from None
        due_at = deadlines.load_calendar(w.session).end_of_day(day)
    try:
        return ActionInput(
            due_at=due_at,
            note=values.get("note") or None,
            reason=values.get("reason") or None,
            version=_int(w, values, "version", "f.version"),
            unit_code=values.get("unit_code") or None,
            limit_days=_int(w, values, "limit_days", "f.limit_days"),
            days=_int(w, values, "days", "f.days"),
            target_case_id=target,
            attachment_ids=attachment_ids or None,
        )
    except ValidationError as exc:
        raise Invalid(validation_text(exc)) from None


@router.post("/cases/{case_id}/act/{action}")
async def act(request: Request, case_id: PathId, action: str) -> Response:
    form = await read_form(request)

    def page(w: Web) -> Response:
        values = {name: w.field(name) for name in TEXT_FIELDS}
        try:
            ids = []
            if action == Action.submit:
                for f in uploads(form, "files"):
                    row = attachments.add_attachment(
                        w.session,
                        actor=w.me,
                        case_id=case_id,
                        filename=f.filename or "",
                        stream=f.file,
                        now=w.now,
                    )
                    assert row.id is not None
                    ids.append(row.id)
            data = action_input(w, values, ids)
            actions.perform(
                w.session, actor=w.me, case_id=case_id, action=action, data=data, now=w.now
            )
        except DomainError as exc:
            return _shown_again(w, case_id, exc, values, open_action=action)
        target = websession.safe_next(values.get("next"), f"/cases/{case_id}")
        sep = "&" if "?" in target else "?"
        return w.redirect(f"{target}{sep}ok={action}")

    return await run_in_threadpool(respond, request, page, form=form)


LETTER_FIELDS = ("letter_type", "reason", "reply_due_date")


def _letter_args(w: Web, values: dict[str, str], case_id: int) -> dict[str, Any]:
    """The letter form's fields as issue_letter's and preview_letter's keyword arguments."""
    case = cases.load_case(w.session, actor=w.me, case_id=case_id)
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
        "now": w.now,
        "actor": w.me,
        "reason": values["reason"] or None,
        "reply_due_at": reply,
    }


@router.post("/cases/{case_id}/letter/preview")
async def preview_letter(request: Request, case_id: PathId) -> Response:
    """The letter form first shows the letter as it would be issued (预览, number pending);
    its confirm button posts the same fields to /cases/{id}/letter."""

    def preview(w: Web, values: dict[str, str]) -> Response:
        html = letters.preview_letter(w.session, **_letter_args(w, values, case_id))
        w.session.rollback()  # a preview keeps nothing
        return w.render("letter_preview.html", case_id=case_id, values=values, letter_html=html)

    return await _letter_form(request, case_id, preview)


@router.post("/cases/{case_id}/letter")
async def issue_letter(request: Request, case_id: PathId) -> Response:
    """A supervisor's letter about this case to the unit holding it (督办人员手动发函): the
    preview page's confirm button."""

    def issue(w: Web, values: dict[str, str]) -> Response:
        letters.issue_letter(w.session, **_letter_args(w, values, case_id))
        return w.redirect(f"/cases/{case_id}?ok=letter")

    return await _letter_form(request, case_id, issue)


async def _letter_form(
    request: Request, case_id: int, act: Callable[[Web, dict[str, str]], Response]
) -> Response:
    """The letter form's fields, handed to `act`; a refusal shows the case page again with the
    service's message and what was typed (403 and 404 stay errors)."""
    form = await read_form(request)

    def page(w: Web) -> Response:
        values = {name: w.field(name) for name in LETTER_FIELDS}
        try:
            return act(w, values)
        except DomainError as exc:
            return _shown_again(w, case_id, exc, values, open_action="letter")

    return await run_in_threadpool(respond, request, page, form=form)


@router.post("/letters/{letter_id}/withdraw")
async def withdraw_letter(request: Request, letter_id: PathId) -> Response:
    """作废 (supervisor, with a reason), from the letters list or a case page."""
    form = await read_form(request)

    def page(w: Web) -> Response:
        back = websession.safe_next(w.field("next"), "/letters")
        try:
            letters.withdraw_letter(
                w.session, actor=w.me, letter_id=letter_id, reason=w.field("reason"), now=w.now
            )
        except DomainError as exc:
            w.session.rollback()
            if isinstance(exc, Forbidden) or exc.status == 404:
                raise
            return w.error_page(exc.status, w.message(exc), testid="withdraw-error")
        sep = "&" if "?" in back else "?"
        return w.redirect(f"{back}{sep}ok=withdraw")

    return await run_in_threadpool(respond, request, page, form=form)


@router.get("/attachments/{attachment_id}")
def attachment(request: Request, attachment_id: PathId) -> Response:
    def page(w: Web) -> Response:
        row, path = attachments.open_attachment(w.session, actor=w.me, attachment_id=attachment_id)
        return FileResponse(
            path,
            media_type=row.content_type,
            filename=row.filename,
            content_disposition_type="inline",
        )

    return respond(request, page)


def _shown_again(
    w: Web, case_id: int, exc: DomainError, values: dict[str, str], *, open_action: str
) -> Response:
    """A refused form: nothing kept, the case page again with the service's message, what was
    typed and the form open (403 and 404 stay errors)."""
    w.session.rollback()
    if isinstance(exc, Forbidden) or exc.status == 404:
        raise exc
    return case_page(
        w, case_id, error=w.message(exc), status=exc.status, values=values, open_action=open_action
    )
