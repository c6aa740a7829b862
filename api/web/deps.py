"""The pages' dependencies, over the API's own session (api/deps.py: commit when the route
returns, roll back when it raises):

- `PageDep`: the page being drawn (templates, language, header);
- `PageUser`: the signed-in user from the session cookie, resolved by auth.principal_for exactly
  as a bearer token is; without one the page redirects to /login (api/problems.py);
- `CsrfForm`: the submitted form, refused (403) unless it carries this session's CSRF token;
- `LoginForm`: the login form, checked against its double-submit cookie instead.
"""

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile

from api.deps import NowDep, SessionDep
from api.web import session as websession
from api.web.pages import Page
from closeloop.auth import service as auth
from closeloop.auth.policy import Principal

log = logging.getLogger("closeloop.web")


class PageRoute(APIRoute):
    """A route that answers with HTML: its errors become error pages, not problem+json."""

    page = True


def page_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute)


def get_page(request: Request, session: SessionDep) -> Page:
    return Page(request, session)


PageDep = Annotated[Page, Depends(get_page)]


@dataclass(frozen=True)
class SignedIn:
    user: Principal
    claims: dict[str, Any]


def get_signed_in(request: Request, session: SessionDep, now: NowDep) -> SignedIn:
    token = request.cookies.get(websession.COOKIE)
    if not token:
        raise websession.LoginRequired()
    user, claims = auth.principal_for(session, token=token, now=now)
    if user.must_change_password and request.url.path not in websession.PASSWORD_PAGES:
        raise websession.PasswordChangeRequired()
    signed = SignedIn(user, claims)
    request.state.signed_in = signed  # the page's header shows who is signed in
    return signed


SignedInDep = Annotated[SignedIn, Depends(get_signed_in)]


def get_page_user(signed: SignedInDep) -> Principal:
    return signed.user


PageUser = Annotated[Principal, Depends(get_page_user)]


async def read_form(request: Request) -> FormData:
    """The submitted form (multipart or urlencoded); a malformed body reads as empty."""
    try:
        return await request.form(max_files=50, max_fields=200)
    except Exception:  # a malformed multipart body is the user's error, not a crash
        log.info("malformed form body on %s", request.url.path)
        return FormData()


FormDep = Annotated[FormData, Depends(read_form)]


def get_csrf_form(form: FormDep, session: SessionDep, signed: SignedInDep) -> FormData:
    websession.check_csrf(session, signed.claims, field(form, websession.CSRF_FIELD))
    return form


CsrfForm = Annotated[FormData, Depends(get_csrf_form)]


def get_login_form(request: Request, form: FormDep) -> FormData:
    websession.check_login_csrf(request, field(form, websession.CSRF_FIELD))
    return form


LoginForm = Annotated[FormData, Depends(get_login_form)]


def field(form: FormData, name: str) -> str:
    """A text field, trimmed; "" when absent or a file."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def fields(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: field(form, name) for name in names}


def uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files actually chosen in a file input (browsers send an empty part for none)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]
