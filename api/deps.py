"""Dependencies: the request's session (the unit of work), the clock and the current user."""

from collections.abc import AsyncIterator, Callable, Iterator
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


class Reader:
    """A route's session and signed-in user (the dependency `signed_in`), and `run`, which does
    the route's work — a read, or a write (filing, a case action) — and ends the session
    (get_session's commit or rollback) in one thread hop, before the answer is sent."""

    def __init__(self, request: Request, token: str | None) -> None:
        self.request = request
        self.token = token
        self.unit = contextmanager(get_session)(request)
        self.session = self.unit.__enter__()  # no I/O: the connection is taken at the first query
        self.now = get_now(request)
        self.ended = False

    def sign_in(self) -> Principal:
        try:
            self.user = get_user(get_claims(self.request, self.session, self.now, self.token))
        except BaseException as exc:
            self.end(exc)
            raise
        return self.user

    def end(self, exc: BaseException | None = None) -> None:
        if not self.ended:
            self.ended = True
            self.unit.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    async def run(
        self, read: Callable[[Session, Principal, datetime], Response], *, sign_in: bool = False
    ) -> Response:
        """`read` in a thread hop, then the session's end. `sign_in`: the sign-in first, in the
        same hop (a route that reads its parameters itself: GET /cases)."""

        def work() -> Response:
            try:
                if sign_in:
                    self.sign_in()
                answer = read(self.session, self.user, self.now)
            except BaseException as exc:
                self.end(exc)
                raise
            self.end()
            return answer

        return await run_in_threadpool(work)


async def signed_in(request: Request, token: TokenDep) -> AsyncIterator[Reader]:
    """The session and the signed-in user of the busiest routes (GET /cases/{id}, POST /cases,
    /cases/{id}/actions/{action}; GET /cases signs in within its own hop: Reader.run's
    `sign_in`, its parameters read after it by api/case_query.parse): get_session,
    get_now, get_claims and get_user themselves (the same one statement, the same refusals,
    nothing kept between requests, and, being a dependency, before any parameter is refused),
    in one thread hop; the route's `Reader.run` reads or writes, serialises and ends the session
    (commits) in a second. FastAPI runs each sync dependency and a sync endpoint in a hop of its
    own (seven for a case: 0.2-0.5 ms each on a loaded machine, more than the case's SQL)."""
    reader = Reader(request, token)
    try:
        await run_in_threadpool(reader.sign_in)
        yield reader
    finally:
        if not reader.ended:  # the route never ran (a parameter was refused): end it anyway
            await run_in_threadpool(reader.end)


ReaderDep = Annotated[Reader, Depends(signed_in)]
SignedInDep = ReaderDep  # a write route's: the same session, sign-in and single hop
