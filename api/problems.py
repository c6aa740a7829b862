"""One map from every error a request can end in to its status and message, rendered as
application/problem+json for the API and as an HTML error page for the web pages."""

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api import validation
from closeloop.errors import DomainError
from closeloop.text import Msg

log = logging.getLogger("closeloop.api")
PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


@dataclass(frozen=True)
class Failure:
    """What a request that failed answers: its status, its message (the API's `detail` shows
    both languages, a page the reader's), and for the API any extra members of the problem
    (validation errors, retry_after)."""

    status: int
    msg: Msg
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    api_msg: Msg | None = None  # what the API says instead, where it names more (a field's path)

    @property
    def detail(self) -> str:
        """ "中文 / English", the problem's `detail`."""
        return (self.api_msg or self.msg).both()


NO_ENDPOINT = Msg("没有这个地址", "there is no such endpoint")
CONFLICT = Msg(
    "数据冲突，未保存任何更改", "the change conflicts with existing data and was not saved"
)
UNSTORABLE = Msg(
    "数据含有数据库无法保存的值（如空字符 NUL），未保存任何更改",
    "a value cannot be stored (e.g. a NUL character or a number out of range); nothing was changed",
)
BUSY = Msg(
    "数据库繁忙，请稍后重试",
    "the database is busy or unavailable; nothing was changed, try again",
)
POOL_EXHAUSTED = Msg(
    "服务器繁忙（数据库连接已用尽），未保存任何更改，请稍后重试",
    "the server is busy (every database connection is in use); nothing was changed, try again",
)
# Seconds a client is told to wait before trying again after a pool timeout.
POOL_RETRY_AFTER = 2
INTERNAL = Msg("服务器内部错误，未保存任何更改", "internal error; nothing was changed")


def problem(status: int, detail: str, title: str | None = None, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"


def _domain(exc: DomainError) -> Failure:
    return Failure(exc.status, exc.msg, exc.title, exc.extra)


def _validation(exc: RequestValidationError) -> Failure:
    """Each refused field named by its label with what is allowed (api/validation.py); the
    problem's `errors` keep each field's path and pydantic's own words."""
    errors = [
        {"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    return Failure(
        422,
        validation.describe_all(exc.errors()),
        extra={"errors": errors},
        api_msg=validation.describe_all(exc.errors(), with_path=True),
    )


def _http(exc: StarletteHTTPException) -> Failure:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        return Failure(404, NO_ENDPOINT)
    return Failure(exc.status_code, Msg.same(detail))


def _integrity(exc: IntegrityError) -> Failure:
    log.warning("integrity error: %s", exc.orig)
    return Failure(409, CONFLICT)


def _data(exc: DataError) -> Failure:
    # The database refused a value the schema let through (a NUL character in a text on
    # PostgreSQL, a number out of a column's range): bad input, and nothing was written.
    log.info("data error: %s", exc.orig)
    return Failure(422, UNSTORABLE)


def _operational(exc: OperationalError) -> Failure:
    log.error("database unavailable: %s", exc.orig)
    return Failure(503, BUSY)


def _pool_timeout(exc: PoolTimeout) -> Failure:
    # Every connection of the pool stayed in use for pool_timeout seconds (CLOSELOOP_POOL_TIMEOUT):
    # answered at once rather than left hanging; nothing was written (no connection, no write).
    log.error("connection pool exhausted: %s", exc)
    return Failure(503, POOL_EXHAUSTED, extra={"retry_after": POOL_RETRY_AFTER})


def _dbapi(exc: DBAPIError) -> Failure:
    # The connection was lost under the statement (the server stopped, the network dropped):
    # the database is unavailable, as for OperationalError; any other driver error is ours.
    if exc.connection_invalidated or isinstance(exc.orig, ConnectionError):
        log.error("database connection lost: %s", exc.orig)
        return Failure(503, BUSY)
    return _unexpected(exc)


def _unexpected(exc: Exception) -> Failure:
    log.error("unexpected error", exc_info=exc)
    return Failure(500, INTERNAL)


# The one table: each exception class (most specific first) and its failure.
FAILURES: tuple[tuple[type[Exception], Any], ...] = (
    (DomainError, _domain),
    (RequestValidationError, _validation),
    (StarletteHTTPException, _http),
    (IntegrityError, _integrity),
    (DataError, _data),
    (OperationalError, _operational),
    (PoolTimeout, _pool_timeout),
    (DBAPIError, _dbapi),
    (Exception, _unexpected),
)


def failure_of(exc: Exception) -> Failure:
    for kind, describe in FAILURES:
        if isinstance(exc, kind):
            return describe(exc)  # type: ignore[no-any-return]
    raise AssertionError("Exception is the last row")  # pragma: no cover


def is_page(request: Request) -> bool:
    """A web page answers with HTML: its route says so; a path that matched no route is a page
    when it is outside /api and the browser asks for HTML."""
    route = request.scope.get("route")
    if route is not None and hasattr(route, "page"):
        return bool(route.page)
    accept = request.headers.get("accept", "")
    return not request.url.path.startswith("/api/") and "text/html" in accept


def install(app: FastAPI) -> None:
    from api.web.pages import failure_page  # the pages render on top of this module

    def handle(request: Request, exc: Exception) -> Response:
        failure = failure_of(exc)
        if is_page(request):
            page = failure_page(request, exc, failure)
            if "retry_after" in failure.extra:
                page.headers["Retry-After"] = str(failure.extra["retry_after"])
            return page
        return problem(failure.status, failure.detail, failure.title, **failure.extra)

    for kind, _ in FAILURES:
        app.add_exception_handler(kind, handle)
