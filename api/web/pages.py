"""Rendering a page: the templates, the reader's language, the header's user, CSRF token and
unread badge, and the error page every failure of a page route becomes (api/problems.py decides
the status and message; this module only draws it)."""

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.problems import Failure
from api.web import i18n
from api.web import session as websession
from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases import actions
from closeloop.db import new_session
from closeloop.errors import DomainError
from models.enums import Role
from models.types import SHANGHAI
from notifications import messages

log = logging.getLogger("closeloop.web")
HERE = Path(__file__).parent
# Pages load nothing from elsewhere, cannot be framed, and post forms only to this site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# A case number as the system writes it (SJ2025000001) or an import keeps it: nothing else is
# ever echoed from the query string into a confirmation.
CASE_NUMBER = re.compile(r"[A-Za-z0-9-]{1,40}")
MAIN_PAGE = {
    Role.reporter: "/my",
    Role.dispatcher: "/queue",
    Role.handler: "/inbox",
    Role.supervisor: "/dashboard",
    Role.admin: "/cases",
}


def fmt_dt(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else "—"


def fmt_day(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d") if value else "—"


def fmt_iso(value: object) -> str:
    """An ISO 8601 text from a history entry's data, shown in Shanghai time."""
    try:
        return fmt_dt(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(dt=fmt_dt, day=fmt_day, pct=fmt_pct, iso=fmt_iso)
    # The action table: every form reads an action's needs, its kind of button and which actions
    # decide a request from it, never from its own list.
    env.globals.update(table=actions.TABLE, deciding=actions.deciding)
    return env


ENV = _env()


# The list pages' `?page=` (a handler's `page` is the page being drawn).
PageNo = Annotated[str, Query(alias="page")]


def page_number(raw: str) -> int:
    """A page number from the query string; anything odd is page 1."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 1_000_000 else 1


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def lang_of(request: Request) -> str:
    lang = request.cookies.get(websession.LANG_COOKIE, i18n.DEFAULT)
    return lang if lang in i18n.LANGS else i18n.DEFAULT


class Page:
    """A page being drawn: the request, its session, the reader's language, and the signed-in
    user once the PageUser dependency has resolved them (none on the login page)."""

    def __init__(self, request: Request, session: Session) -> None:
        self.request = request
        self.session = session
        self.lang = lang_of(request)
        self.t = i18n.translator(self.lang)

    @property
    def user(self) -> Principal | None:
        signed = getattr(self.request.state, "signed_in", None)
        return signed.user if signed else None

    def message(self, exc: DomainError) -> str:
        return exc.msg.render(self.lang)

    def flash(self) -> str:
        """The line confirming what the previous form did (`?ok=<action>` after a redirect;
        `&n=<case number>` when the case has left the actor's sight: 已退回案件 SJ…)."""
        ok = self.request.query_params.get("ok", "")
        if "act." + ok not in i18n.T:
            return ""
        number = self.request.query_params.get("n", "")
        if number and CASE_NUMBER.fullmatch(number):
            if ok == "return":
                return self.t("done.return", number=number)
            return self.t("done.gone", what=self.t("act." + ok), number=number)
        return f"{self.t('act.' + ok)}{self.t('colon')}{self.t('done')}"

    def csrf(self) -> str:
        signed = getattr(self.request.state, "signed_in", None)
        if signed is None:
            return ""
        try:
            return websession.csrf_for(self.session, signed.claims)
        except SQLAlchemyError:  # an error page must still draw when the database is down
            self.session.rollback()
            return ""

    def unread(self) -> int:
        """Unread in-app messages, for the header; 0 when nobody is logged in."""
        user = self.user
        if user is None or user.id is None:
            return 0
        try:
            return messages.list_inapp(
                self.session, user_id=user.id, unread_only=True, page=1, page_size=1
            ).unread
        except SQLAlchemyError:  # the badge must never stop a page (or its error page)
            self.session.rollback()
            return 0

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        path = self.request.url.path
        query = self.request.url.query
        here = path + ("?" + query if query else "")
        base = {
            "t": self.t,
            "lang": self.lang,
            "html_lang": i18n.HTML_LANG[self.lang],
            "other_lang": "en" if self.lang == "zh" else "zh",
            "user": self.user,
            "may_file": self.user is not None and policy.may_file(self.user),
            "csrf": self.csrf(),
            "here": here,
            "here_q": quote(here, safe=""),
            "path": path,
            "flash": "",
            "error": "",
            "unread": self.unread(),
        }
        base.update(context)
        html = ENV.get_template(template).render(**base)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def error(self, status: int, message: str, testid: str = "error") -> HTMLResponse:
        return self.render("error.html", status=status, message=message, testid=testid)


def login_redirect(request: Request) -> Response:
    """Back to /login, then to this page (or, after a refused POST, to the page that posted)."""
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    if request.method != "GET":
        target = request.headers.get("referer", "") or "/"
        target = websession.safe_next(target.split(str(request.base_url).rstrip("/"), 1)[-1], "/")
    response = redirect(f"/login?next={quote(target, safe='')}")
    if request.cookies.get(websession.COOKIE):  # a dead session: forget it
        websession.clear_session_cookie(request, response)
    return response


def failure_page(request: Request, exc: Exception, failure: Failure) -> Response:
    """A page route's failure: a 401 goes to the login page; anything else is the error page
    with the message in the reader's language. The request's own session is gone (rolled
    back); the header is drawn with a fresh one."""
    if failure.status == 401:
        return login_redirect(request)
    if isinstance(exc, websession.PasswordChangeRequired):
        return redirect("/password")
    with new_session(request.app.state.engine) as session:
        page = Page(request, session)
        message = failure.msg.render(page.lang)
        return page.error(failure.status, message, getattr(exc, "testid", "error"))
