"""Filing without signal (离线上报): the grid worker's pages as an installable web app.

- `/manifest.webmanifest` and `/sw.js` (the service worker, scope `/`): the app shell — the filing
  page with its checklist (classes, items, the worker's grids and enterprises, rendered into it),
  the worker's home and the static files — is kept on the phone and opens without a network.
- `GET /report/offline/token`: who is signed in and a fresh CSRF token, fetched before the phone
  sends what waits (a page kept offline may carry an older token).
- `POST /report/offline`: one report saved on the phone, sent when the network returns. The same
  form fields and photos as `POST /report/new`, filed by the same code (routes_file._file →
  cases.service.file_once) under the `Idempotency-Key` the phone drew when it saved the report:
  a retry after a lost answer lands on the case the first one filed. Answers JSON: 201 with the
  case's number, or the error in both languages (the phone keeps the report and shows it).
"""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web.deps import CsrfForm, PageDep, PageUser, field, fields, page_router
from api.web.pages import HERE
from api.web.routes_file import FIELDS, _file
from closeloop.cases import views
from closeloop.errors import DomainError, Invalid
from closeloop.text import Msg
from models.case import Case
from models.types import SHANGHAI

router = page_router()
public = APIRouter(include_in_schema=False)
STATIC = HERE / "static"
NO_STORE = {"Cache-Control": "no-store"}
DESCRIPTION_MAX = 4000
# A phone's clock may be a little ahead; a saved time further in the future is ignored.
SKEW = timedelta(minutes=5)
KEEP_DAYS = 30  # a report saved earlier than this is filed without the note of when it was saved


@public.get("/manifest.webmanifest")
def manifest() -> Response:
    return FileResponse(
        STATIC / "manifest.webmanifest",
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@public.get("/sw.js")
def service_worker() -> Response:
    # Served from the root so that its scope is the whole site; never cached by the browser's
    # HTTP cache, so a new version is picked up on the next visit.
    return FileResponse(
        STATIC / "sw.js",
        media_type="text/javascript",
        headers={
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": "/",
            "Content-Security-Policy": "default-src 'self'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/report/offline/token")
def token(page: PageDep, user: PageUser) -> Response:
    views.require_may_file(user)
    return JSONResponse({"username": user.username, "csrf": page.csrf()}, headers=NO_STORE)


def saved_note(saved_at: str, now: datetime) -> str:
    """The line added to the description of a report saved offline: when the worker saw it
    (the case itself is filed, and its clock starts, when it arrives). Empty when the time is
    missing, unreadable, in the future or older than KEEP_DAYS."""
    try:
        saved = datetime.fromisoformat(saved_at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if saved.tzinfo is None or saved > now + SKEW or saved < now - timedelta(days=KEEP_DAYS):
        return ""
    if now - saved < timedelta(minutes=1):
        return ""
    return f"（离线保存于 {saved.astimezone(SHANGHAI):%Y-%m-%d %H:%M}，联网后发送）"


def _error(exc: DomainError) -> JSONResponse:
    body = {"error": {"zh": exc.msg.zh, "en": exc.msg.en}, "status": exc.status}
    return JSONResponse(body, status_code=exc.status, headers=NO_STORE)


@router.post("/report/offline")
def file_saved_report(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    key: Annotated[str, Header(alias="Idempotency-Key")] = "",
) -> Response:
    values = fields(form, FIELDS)
    note = saved_note(field(form, "saved_at"), now)
    description = values.get("description", "")
    if note and len(description) + len(note) + 1 <= DESCRIPTION_MAX:
        values["description"] = f"{description}\n{note}" if description else note
    try:
        views.require_may_file(user)
        if not key:
            raise Invalid(
                Msg(
                    "离线上报需要 Idempotency-Key（手机保存时生成）",
                    "a report sent from the phone needs its Idempotency-Key (drawn when saved)",
                )
            )
        values["form_token"] = key
        case_id = _file(page, session, user, now, form, values)
    except DomainError as exc:
        session.rollback()
        return _error(exc)
    return JSONResponse(
        {"case_id": case_id, "number": _number(session, case_id), "url": f"/cases/{case_id}"},
        status_code=201,
        headers=NO_STORE,
    )


def _number(session: Session, case_id: int) -> str:
    case = session.get(Case, case_id)
    return case.number if case is not None else ""
