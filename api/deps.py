"""Dependencies: the request's session (the unit of work), the clock and the current user."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

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


# The bearer token alone (OAuth2PasswordBearer is async: read in the event loop, no thread).
TokenDep = Annotated[str | None, Depends(oauth2)]


async def read_as_user(
    request: Request,
    token: str | None,
    read: Callable[[Session, Principal, datetime], Response],
) -> Response:
    """A read route's whole work in one hop to a worker thread: the session (get_session: its
    commit and rollback), the clock, the signed-in user (get_claims and get_user themselves: the
    same one statement, the same refusals, nothing kept between requests) and `read`, which
    answers the serialised response. FastAPI runs each sync dependency and a sync endpoint in a
    thread hop of its own (seven for a case: 0.2-0.5 ms each on a loaded machine, more than the
    case's SQL); a route that declares only `TokenDep` and async-validated parameters pays one."""

    def run() -> Response:
        with contextmanager(get_session)(request) as session:
            now = get_now(request)
            user = get_user(get_claims(request, session, now, token))
            return read(session, user, now)

    return await run_in_threadpool(run)
