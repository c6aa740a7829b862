"""Log in, log out, change one's password, the language switch and `/`, which sends each role
to its main page."""

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
from closeloop.errors import DomainError, Invalid
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


@router.get("/password")
def password_form(page: PageDep, signed: SignedInDep) -> Response:
    return page.render("password.html", required=signed.user.must_change_password)


@router.post("/password")
def change_password(
    request: Request,
    session: SessionDep,
    now: NowDep,
    page: PageDep,
    signed: SignedInDep,
    form: CsrfForm,
) -> Response:
    """Change one's own password; every other session ends, this one is renewed."""
    values = {k: form.get(k) for k in ("old_password", "new_password", "repeat_password")}
    old, new, repeat = (v if isinstance(v, str) else "" for v in values.values())
    assert signed.user.id is not None
    try:
        if new != repeat:
            raise Invalid(i18n.msg("pw.mismatch"))
        user = auth.change_password(
            session, user_id=signed.user.id, old_password=old, new_password=new
        )
        token, expires = auth.issue_for(session, user=user, now=now)
    except DomainError as exc:
        session.rollback()
        return page.render(
            "password.html",
            status=exc.status,
            required=signed.user.must_change_password,
            error=page.message(exc),
        )
    response = redirect(MAIN_PAGE[signed.user.role] + "?ok=password")
    websession.set_session_cookie(request, response, token, expires, now)
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
