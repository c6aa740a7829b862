"""Log in, log out, the language switch and `/`, which sends each role to its main page."""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.web import i18n
from api.web import session as websession
from api.web.core import MAIN_PAGE, Web, read_form, respond
from closeloop.auth import service as auth
from closeloop.errors import DomainError

router = APIRouter(include_in_schema=False)


def _login_page(w: Web, *, next_: str, username: str = "", error: str = "", status: int = 200) -> Response:
    token = websession.new_login_csrf()
    response = w.render(
        "login.html", status=status, login_csrf=token, next=next_, username=username, error=error
    )
    websession.set_login_csrf_cookie(w.request, response, token)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    def page(w: Web) -> Response:
        return _login_page(w, next_=websession.safe_next(next, ""))

    return respond(request, page, login=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)

    def page(w: Web) -> Response:
        next_ = websession.safe_next(w.field("next"), "")
        username = w.field("username")
        websession.check_login_csrf(w.request, w.field("csrf_token"))
        password = form.get("password") if isinstance(form.get("password"), str) else ""
        try:
            token, expires = auth.login(w.session, username=username, password=password, now=w.now)
            w.user, w.claims = auth.principal_for(w.session, token=token, now=w.now)
        except DomainError as exc:
            if exc.keep_changes:
                w.session.commit()
            else:
                w.session.rollback()
            return _login_page(
                w, next_=next_, username=username, error=w.message(exc), status=exc.status
            )
        target = next_ or MAIN_PAGE[w.me.role]
        response = w.redirect(target)
        websession.set_session_cookie(w.request, response, token, expires, w.now)
        response.delete_cookie(websession.LOGIN_CSRF_COOKIE, path="/login")
        return response

    return await run_in_threadpool(respond, request, page, form=form, login=False)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)

    def page(w: Web) -> Response:
        auth.revoke(w.session, claims=w.claims, now=w.now)
        response = w.redirect("/login")
        websession.clear_session_cookie(w.request, response)
        return response

    return await run_in_threadpool(respond, request, page, form=form)


@router.get("/lang")
def switch_language(request: Request, to: str = "zh", next: str = "/") -> Response:
    lang = to if to in i18n.LANGS else i18n.DEFAULT
    response = RedirectResponse(websession.safe_next(next), status_code=303)
    response.set_cookie(
        websession.LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        secure=websession.is_https(request),
    )
    return response


@router.get("/")
def home(request: Request) -> Response:
    return respond(request, lambda w: w.redirect(MAIN_PAGE[w.me.role]))
