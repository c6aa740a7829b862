"""Log in, log out, the language switch and `/`, which sends each role to its main page."""

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web import session as websession
from api.web.admin import first_run
from api.web.deps import CsrfForm, LoginForm, PageDep, PageUser, SignedInDep, field, page_router
from api.web.pages import MAIN_PAGE, Page, redirect
from closeloop.auth import service as auth
from closeloop.auth.policy import Principal
from closeloop.errors import DomainError
from models.enums import Role

router = page_router()


def _login_page(
    page: Page, *, next_: str, username: str = "", error: str = "", status: int = 200
) -> Response:
    token = websession.new_login_csrf()
    response = page.render(
        "login.html", status=status, login_csrf=token, next=next_, username=username, error=error
    )
    websession.set_login_csrf_cookie(page.request, response, token)
    return response


@router.get("/login")
def login_form(page: PageDep, next: str = "") -> Response:
    return _login_page(page, next_=websession.safe_next(next, ""))


@router.post("/login")
def login(
    request: Request, session: SessionDep, now: NowDep, page: PageDep, form: LoginForm
) -> Response:
    next_ = websession.safe_next(field(form, "next"), "")
    username = field(form, "username")
    password = form.get("password")
    try:
        token, expires = auth.login(
            session,
            username=username,
            password=password if isinstance(password, str) else "",
            now=now,
        )
        user, _ = auth.principal_for(session, token=token, now=now)
    except DomainError as exc:
        if not exc.keep_changes:  # a failed login is kept (and committed) for throttling
            session.rollback()
        return _login_page(
            page, next_=next_, username=username, error=page.message(exc), status=exc.status
        )
    response = redirect(next_ or landing(session, user))
    websession.set_session_cookie(request, response, token, expires, now)
    response.delete_cookie(websession.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, now: NowDep, signed: SignedInDep, _: CsrfForm
) -> Response:
    auth.revoke(session, claims=signed.claims, now=now)
    response = redirect("/login")
    websession.clear_session_cookie(request, response)
    return response


@router.get("/lang")
def switch_language(request: Request, to: str = "zh", next: str = "/") -> Response:
    lang = to if to in i18n.LANGS else i18n.DEFAULT
    response = redirect(websession.safe_next(next))
    response.set_cookie(
        websession.LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        secure=websession.is_https(request),
    )
    return response


def landing(session: Session, user: Principal) -> str:
    """Where a user lands: their role's main page; an admin of a district not yet set up (no
    region) the admin page, which explains the first steps."""
    if user.role == Role.admin and first_run(session):
        return "/admin"
    return MAIN_PAGE[user.role]


@router.get("/")
def home(session: SessionDep, user: PageUser) -> Response:
    return redirect(landing(session, user))
