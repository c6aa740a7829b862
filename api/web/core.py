"""One request of a page: its database session, clock, user, language and templates, and the
boundary that commits, rolls back and turns every error a user can cause into a page."""

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from api.web import i18n
from api.web import session as websession
from api.web.session import CsrfFailed, LoginRequired
from closeloop import text
from closeloop.auth import service as auth
from closeloop.auth.policy import Principal
from closeloop.db import new_session
from closeloop.errors import DomainError
from closeloop.text import Msg
from models.enums import Role
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
MAIN_PAGE = {
    Role.reporter: "/my",
    Role.dispatcher: "/queue",
    Role.handler: "/inbox",
    Role.supervisor: "/dashboard",
    Role.admin: "/cases",
}


BUSY = Msg("数据库繁忙，请稍后重试", "the database is busy; nothing was changed, try again")
INTERNAL = Msg("服务器内部错误，未保存任何更改", "internal error; nothing was changed")
fmt_dt = text.local_minute
fmt_day = text.local_day


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
    return env


ENV = _env()


def page_number(raw: str) -> int:
    """A page number from the query string; anything odd is page 1."""
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 1_000_000 else 1


class Web:
    """What a page handler works with."""

    def __init__(self, request: Request, session: Session, now: datetime, form: Any) -> None:
        self.request = request
        self.session = session
        self.now = now
        self.form = form
        self.user: Principal | None = None
        self.claims: dict = {}
        lang = request.cookies.get(websession.LANG_COOKIE, i18n.DEFAULT)
        self.lang = lang if lang in i18n.LANGS else i18n.DEFAULT
        self.t = i18n.translator(self.lang)

    @property
    def me(self) -> Principal:
        if self.user is None:
            raise LoginRequired()
        return self.user

    def authenticate(self) -> None:
        token = self.request.cookies.get(websession.COOKIE)
        if not token:
            raise LoginRequired()
        try:
            self.user, self.claims = auth.principal_for(self.session, token=token, now=self.now)
        except DomainError:
            raise LoginRequired(clear=True) from None

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def message(self, exc: DomainError) -> str:
        return exc.msg.render(self.lang)

    def csrf(self) -> str:
        return websession.csrf_for(self.session, self.claims) if self.claims else ""

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

    def unread(self) -> int:
        """Unread in-app messages, for the header; 0 when nobody is logged in."""
        if self.user is None or self.user.id is None:
            return 0
        try:
            return messages.list_inapp(
                self.session, user_id=self.user.id, unread_only=True, page=1, page_size=1
            ).unread
        except SQLAlchemyError:  # the badge must never stop a page (or its error page)
            self.session.rollback()
            return 0

    def error_page(self, status: int, message: str, testid: str = "error") -> HTMLResponse:
        return self.render("error.html", status=status, message=message, testid=testid)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def respond(
    request: Request,
    handler: Callable[[Web], Response],
    *,
    form: Mapping[str, Any] | None = None,
    login: bool = True,
) -> Response:
    """Run a page: session → user → CSRF (POST) → handler; commit on success; every error a user
    can cause becomes a page with its message, and nothing it tried to change is kept."""
    session = new_session(request.app.state.engine)
    w = Web(request, session, request.app.state.clock.now(), form)
    try:
        if login:
            w.authenticate()
            if form is not None:
                websession.check_csrf(session, w.claims, w.field(websession.CSRF_FIELD))
        response = handler(w)
        session.commit()
        return response
    except LoginRequired as exc:
        session.rollback()
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        if request.method != "GET":
            target = request.headers.get("referer", "") or "/"
            target = websession.safe_next(
                target.split(str(request.base_url).rstrip("/"), 1)[-1], "/"
            )
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        if exc.clear:
            websession.clear_session_cookie(request, response)
        return response
    except CsrfFailed:
        session.rollback()
        return w.error_page(403, w.t("err.csrf"), testid="csrf-error")
    except DomainError as exc:
        if exc.keep_changes:
            session.commit()
        else:
            session.rollback()
        return w.error_page(exc.status, w.message(exc))
    except IntegrityError as exc:
        session.rollback()
        log.warning("integrity error on a page: %s", exc.orig)
        return w.error_page(409, w.t("err.conflict"))
    except DataError as exc:
        session.rollback()
        log.info("data error on a page: %s", exc.orig)
        return w.error_page(422, w.t("err.data"))
    except OperationalError as exc:
        session.rollback()
        log.error("database unavailable: %s", exc.orig)
        return w.error_page(503, BUSY.render(w.lang))
    except Exception:  # a bug of ours: log it, keep nothing, and still answer with a page
        session.rollback()
        log.exception("unexpected error on %s", request.url.path)
        return w.error_page(500, INTERNAL.render(w.lang))
    finally:
        session.close()


async def read_form(request: Request) -> Any:
    """The submitted form (multipart or urlencoded); a malformed body reads as empty."""
    try:
        return await request.form(max_files=50, max_fields=200)
    except Exception:  # a malformed multipart body is the user's error, not a crash
        log.info("malformed form body on %s", request.url.path)
        return {}
