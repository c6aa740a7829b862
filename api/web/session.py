"""The web session: the API's own JWT in an HttpOnly cookie, and CSRF tokens bound to it.

The token is resolved with closeloop.auth.service.principal_for exactly as a bearer token is, so expiry,
revocation and deactivation act on pages and API alike. A form's CSRF token is an HMAC of the
session token's jti with the installation's signing secret: it cannot be forged without the
secret and dies with the session. The login form, which has no session yet, uses a double-submit
cookie instead.
"""

import hashlib
import hmac
import secrets
from datetime import datetime

from fastapi import Request, Response
from sqlmodel import Session

from closeloop.auth import service as auth
from closeloop.errors import Forbidden, Unauthorized
from closeloop.text import Msg

COOKIE = "closeloop_session"
LOGIN_CSRF_COOKIE = "closeloop_login_csrf"
LANG_COOKIE = "closeloop_lang"
CSRF_FIELD = "csrf_token"


class LoginRequired(Unauthorized):
    """No session cookie: a page redirects to /login (an invalid one is Unauthorized from
    auth.principal_for, which a page answers the same way, clearing the cookie)."""

    def __init__(self) -> None:
        super().__init__(Msg("需要登录", "please log in"))


class CsrfFailed(Forbidden):
    """A POST without the right CSRF token: refused before anything else happens."""

    testid = "csrf-error"

    def __init__(self) -> None:
        super().__init__(
            Msg(
                "页面已过期或来源不明，操作未执行。请刷新页面后重试。",
                "The form expired or did not come from this site; nothing was changed. "
                "Reload the page and try again.",
            )
        )


class PasswordChangeRequired(Forbidden):
    """A user whose password an admin reset: every page but /password (and logging out)
    sends them to /password first."""

    testid = "password-required"

    def __init__(self) -> None:
        super().__init__(
            Msg(
                "管理员重置了您的密码，请先修改密码",
                "an admin reset your password: change it first",
            )
        )


# The only pages a user who must change their password may reach.
PASSWORD_PAGES = frozenset({"/password", "/logout"})


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(
    request: Request, response: Response, token: str, expires: datetime, now: datetime
) -> None:
    # Max-Age (relative) rather than Expires: the token's own expiry is checked on every request.
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(int((expires - now).total_seconds()), 0),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def csrf_for(session: Session, claims: dict) -> str:
    key = auth.signing_secret(session).encode()
    return hmac.new(key, f"csrf:{claims['jti']}".encode(), hashlib.sha256).hexdigest()


def check_csrf(session: Session, claims: dict, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(csrf_for(session, claims), sent):
        raise CsrfFailed()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_login_csrf_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def check_login_csrf(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise CsrfFailed()


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths: never an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
