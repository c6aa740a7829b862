"""Dependencies: the request's session (the unit of work), the clock and the current user."""

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from closeloop.auth import service as auth
from closeloop.auth.policy import Principal
from closeloop.db import new_session
from closeloop.errors import DomainError, Forbidden, Unauthorized
from closeloop.text import Msg
from models.enums import Role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """The request boundary: commit when the route returns, roll back when it raises."""
    session = new_session(request.app.state.engine)
    try:
        yield session
        session.commit()
    except DomainError as exc:
        if exc.keep_changes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_now(request: Request) -> datetime:
    return request.app.state.clock.now()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]


def get_claims(
    request: Request,
    session: SessionDep,
    now: NowDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> tuple[Principal, dict]:
    if not token:
        raise Unauthorized(
            Msg("需要登录", "authentication required: send Authorization: Bearer <token>")
        )
    claims = auth.principal_for(session, token=token, now=now)
    request.state.user_id = claims[0].id  # for the request's access log line (api/observability)
    return claims


ClaimsDep = Annotated[tuple[Principal, dict], Depends(get_claims)]


MUST_CHANGE_PASSWORD = Msg(
    "管理员重置了您的密码，请先修改密码（POST /api/v1/auth/password）",
    "your password was reset by an admin: change it first (POST /api/v1/auth/password "
    "with old_password and new_password)",
)


def get_user(claims: ClaimsDep) -> Principal:
    """The signed-in user; refused (403) while they must change a reset password: only
    /auth/password, /auth/me and /auth/logout (which read the claims) work until then."""
    if claims[0].must_change_password:
        raise Forbidden(MUST_CHANGE_PASSWORD)
    return claims[0]


CurrentUser = Annotated[Principal, Depends(get_user)]


def get_admin(user: CurrentUser) -> Principal:
    if user.role != Role.admin:
        raise Forbidden(Msg("需要管理员权限", "this needs the admin role"))
    return user


AdminUser = Annotated[Principal, Depends(get_admin)]
