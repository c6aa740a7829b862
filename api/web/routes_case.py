"""The case page (fields, photos, timeline, deadline, letters, the allowed actions), the one
POST that performs any action on a case through closeloop.cases.service.perform, and the attachment
download."""

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Path
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from api import downloads
from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web import session as websession
from api.web.deps import CsrfForm, PageDep, PageUser, fields, page_router, uploads
from api.web.dossier_view import dossier_view
from api.web.pages import MAIN_PAGE, Page, fmt_day, redirect
from api.web.task_view import task_view
from api.web.views import (
    DEADLINE_LABEL,
    Names,
    estimated_years,
    left_label,
    next_step,
    validation_text,
)
from closeloop.auth.policy import Principal
from closeloop.calendar.service import load_calendar
from closeloop.cases import attachments, followups, lookup, queues, reasons, views
from closeloop.cases import service as cases
from closeloop.errors import DomainError, Forbidden, Invalid
from closeloop.letters import service as letters
from closeloop.org import service as org
from models.case import ActionInput
from models.enums import Action, LetterType, Role
from models.letter import LetterPublic

router = page_router()
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
    "satisfaction",
    "version",
    "reason_code",
    "next",
)


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
    running = queues.running_deadline(public)
    return page.render(
        "case.html",
        status=status,
        error=error,
        flash=t("done.file") if ok == "file" else page.flash(),
        c=public,
        names=names,
        files=view.files,
        file_names={f.id: f.filename for f in view.files},
        phase=view.phase,
        merged_into=view.merged_into,
        uploaders=view.uploaders,
        steps=view.steps,
        related=related,
        duplicates=view.duplicates,
        pending=view.pending,
        requesters=view.requesters,
        tl=view.left,
        tl_of=t(DEADLINE_LABEL[running.which]) if running else "",
        left_text=left_label(t, view.left),
        next_text=next_step(t, public, names, fmt_day, now),
        default_unit=view.default_unit,
        refused_default=view.refused_default,
        units=org.units_for(session, region_code=public.grid_code),
        values=values or {},
        open_action=open_action,
        may_issue=letters.may_issue_about(user, public),
        letter_types=list(LetterType),
        estimated_years=estimated_years(session, [public]),
        dossier=dossier_view(session, user, public, now),
        follow_ups=followups.of_case(session, actor=user, case_id=case_id),
        return_reasons=reasons.list_reasons(session),
        **task_view(session, user, case_id, now),
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
        raise Invalid(i18n.msg("err.number", what=i18n.msg(label))) from None


def action_input(
    page: Page, session: Session, user: Principal, values: dict[str, str], attachment_ids: list[int]
) -> ActionInput:
    """The action form's fields as the service's input (a target case may be named by number)."""
    target = _int(page, values, "target_case_id", "f.target")
    number = values.get("target_number", "")
    if target is None and number:
        found = lookup.case_by_number(session, actor=user, number=number)
        if found is None:
            raise Invalid(i18n.msg("err.target", what=number))
        target = found.id
    due_at = None
    if values.get("due_date"):
        try:
            day = date.fromisoformat(values["due_date"])
        except ValueError:
            raise Invalid(i18n.msg("err.date", what=i18n.msg("f.due_date"))) from None
        due_at = load_calendar(session).end_of_day(day)
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
            satisfaction=values.get("satisfaction") or None,
            reason_code=values.get("reason_code") or None,
        )
    except ValidationError as exc:
        raise Invalid(validation_text(exc)) from None


@router.post("/cases/{case_id}/act/{action}")
def act(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    case_id: PathId,
    action: str,
) -> Response:
    values = fields(form, TEXT_FIELDS)
    try:
        ids = store_uploads(session, user, case_id, form, now) if action == Action.submit else []
        data = action_input(page, session, user, values, ids)
        assist = [c for c in form.getlist("assist_unit_codes") if isinstance(c, str) and c]
        data.assist_unit_codes = assist or None
        case = cases.perform(
            session, actor=user, case_id=case_id, action=action, data=data, now=now
        )
    except DomainError as exc:
        return shown_again(page, session, user, now, case_id, exc, values, open_action=action)
    if not lookup.may_see(user, case):
        # The case has left the actor's sight (a unit that returned it): their own main page,
        # confirming what was done, instead of a page they may no longer open.
        home = MAIN_PAGE.get(Role(user.role), "/cases")
        return redirect(f"{home}?{urlencode({'ok': action, 'n': case.number})}")
    target = websession.safe_next(values.get("next"), f"/cases/{case_id}")
    sep = "&" if "?" in target else "?"
    return redirect(f"{target}{sep}ok={action}")


@router.get("/attachments/{attachment_id}")
def attachment(session: SessionDep, user: PageUser, attachment_id: PathId) -> Response:
    return downloads.attachment(session, actor=user, attachment_id=attachment_id, inline=True)


def shown_again(
    page: Page,
    session: Session,
    user: Principal,
    now: datetime,
    case_id: int,
    exc: DomainError,
    values: dict[str, str],
    *,
    open_action: str,
) -> Response:
    """A refused form: nothing kept, the case page again with the service's message, what was
    typed and the form open (403 and 404 stay errors)."""
    session.rollback()
    if isinstance(exc, Forbidden) or exc.status == 404:
        raise exc
    return case_page(
        page,
        session,
        user,
        now,
        case_id,
        error=page.message(exc),
        status=exc.status,
        values=values,
        open_action=open_action,
    )


def store_uploads(
    session: Session, user: Principal, case_id: int, form: FormData, now: datetime
) -> list[int]:
    """The evidence chosen in the form's "files" input, stored as the case's attachments."""
    ids = []
    for f in uploads(form, "files"):
        row = attachments.add_attachment(
            session, actor=user, case_id=case_id, filename=f.filename or "", stream=f.file, now=now
        )
        assert row.id is not None
        ids.append(row.id)
    return ids
