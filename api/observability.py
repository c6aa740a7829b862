"""Request ids, structured logs and request metrics: one pure ASGI middleware around the app.

Every HTTP response carries `X-Request-ID`: the client's own when it sent a sane one (1–64 of
[A-Za-z0-9._-]), else a fresh random one. While the request is served the id sits in a
contextvar; `RequestIdFilter` stamps it on every log record a handler writes (also from the
threadpool that runs sync routes: anyio copies the context there), and problem+json bodies get
it as an added `request_id` member.

When the request ends one access line is logged ("closeloop.access", INFO; 5xx at ERROR) with the
method, the route template, the path (never the query string), the status, the duration, the
signed-in user's id and the client address — never a header, a cookie, a token or a body — and
the request is counted in `RequestMetrics` (by method, route template and status class) for
`GET /metrics`.

`configure_logging` (called by `closeloop serve`) sends every log line of the process through
one handler: readable text by default, one JSON object per line with CLOSELOOP_LOG_FORMAT=json.
Uvicorn's own loggers are routed to it too (serve runs uvicorn with log_config=None) and its access
log is replaced by ours.
"""

import json
import logging
import os
import re
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "X-Request-ID"
_HEADER_KEY = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PROBLEM = b"application/problem+json"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a path no route answers (scanners: no label per path)

request_id_var: ContextVar[str | None] = ContextVar("closeloop_request_id", default=None)
access_log = logging.getLogger("closeloop.access")


def new_request_id() -> str:
    return os.urandom(12).hex()


def current_request_id() -> str | None:
    return request_id_var.get()


def sane_request_id(value: str | None) -> str | None:
    """`value` when it is a request id we may echo (and write into logs), else None."""
    if value is not None and _SANE_ID.fullmatch(value):
        return value
    return None


# -- request metrics ---------------------------------------------------------------------------

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """Request counts and latency histograms of this process, by (method, route, status class)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # per series: one count per bucket (not cumulative), then +Inf, then the sum of seconds
        self._series: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "other", route, f"{status // 100}xx")
        i = bisect_left(BUCKETS, seconds)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = [0.0] * (len(BUCKETS) + 2)
            series[i] += 1
            series[-1] += seconds

    def count(self, method: str, route: str, status_class: str) -> int:
        with self._lock:
            series = self._series.get((method, route, status_class))
            return int(sum(series[:-1])) if series else 0

    def render(self) -> list[str]:
        """The exposition lines (Prometheus text format 0.0.4)."""
        with self._lock:
            snapshot = {k: list(v) for k, v in sorted(self._series.items())}
        counts = [
            "# HELP closeloop_http_requests_total HTTP requests answered, by method, route "
            "template and status class.",
            "# TYPE closeloop_http_requests_total counter",
        ]
        hist = [
            "# HELP closeloop_http_request_duration_seconds Time from a request's arrival to "
            "its response's end.",
            "# TYPE closeloop_http_request_duration_seconds histogram",
        ]
        for (method, route, status), series in snapshot.items():
            labels = f'method="{method}",route="{escape(route)}",status="{status}"'
            total = sum(series[:-1])
            counts.append(f"closeloop_http_requests_total{{{labels}}} {total:.0f}")
            running = 0.0
            for bound, n in zip(BUCKETS, series, strict=False):
                running += n
                hist.append(
                    f'closeloop_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} '
                    f"{running:.0f}"
                )
            hist.append(
                f'closeloop_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total:.0f}'
            )
            hist.append(f"closeloop_http_request_duration_seconds_sum{{{labels}}} {series[-1]!r}")
            hist.append(f"closeloop_http_request_duration_seconds_count{{{labels}}} {total:.0f}")
        return counts + hist


def escape(value: str) -> str:
    """A label value as the text format writes it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


# -- the middleware ----------------------------------------------------------------------------


def route_of(scope: Scope, root_path: str = "") -> str:
    """The template of the route that answered ("/api/v1/cases/{case_id}"), or "unmatched"."""
    # FastAPI ≥ 0.150 keeps an included router's routes unprefixed in scope["route"]; the
    # prefixed template is on its effective route context.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    full = getattr(context, "path_format", None)
    if full:
        return str(full)
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(path)
    mounted = str(scope.get("root_path", ""))  # a mount (the static files) sets only this
    if mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return UNMATCHED


def user_of(scope: Scope) -> int | None:
    state = scope.get("state") or {}
    user_id = state.get("user_id")
    if user_id is None and "signed_in" in state:  # the web pages (api/web/deps.py)
        user_id = getattr(getattr(state["signed_in"], "user", None), "id", None)
    return user_id if isinstance(user_id, int) else None


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope["headers"]:
            if name == _HEADER_KEY:
                rid = sane_request_id(value.decode("latin-1"))
                break
        rid = rid or new_request_id()
        root_path = scope.get("root_path", "")
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500
        held: Message | None = None  # a problem+json response's start, held to add the id
        chunks: list[bytes] = []

        async def send_with_id(message: Message) -> None:
            nonlocal status, held
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (_HEADER_KEY, rid.encode())]
                message = {**message, "headers": headers}
                if any(k == b"content-type" and v.startswith(_PROBLEM) for k, v in headers):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start_message, held = held, None
                sent = b"".join(chunks)
                body = with_request_id(sent, rid)
                if body is not sent:  # (a HEAD's empty body keeps its announced length)
                    start_message["headers"] = [
                        (k, str(len(body)).encode() if k == b"content-length" else v)
                        for k, v in start_message["headers"]
                    ]
                await send(start_message)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope, root_path)
            self.metrics.observe(scope["method"], route, status, seconds)
            level = logging.ERROR if status >= 500 else logging.INFO
            if access_log.isEnabledFor(level):
                client = scope.get("client")
                fields = {
                    "method": scope["method"],
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "user_id": user_of(scope),
                    "client": client[0] if client else None,
                }
                access_log.log(
                    level,
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    seconds * 1000,
                    extra={"fields": fields},
                )
            request_id_var.reset(token)


def with_request_id(body: bytes, rid: str) -> bytes:
    """A problem+json body with `request_id` added (unchanged when it is not a JSON object or
    already names one)."""
    try:
        problem = json.loads(body)
    except ValueError:
        return body
    if not isinstance(problem, dict) or "request_id" in problem:
        return body
    problem["request_id"] = rid
    return json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode()


def install(app: FastAPI) -> None:
    """Wrap `app` in the middleware, outermost (outside Starlette's error middleware, so an
    internal error's 500 carries the id too). Who is signed in is noted on the request by
    api/deps.get_claims (the API) and api/web/deps.py (the pages)."""
    app.state.request_metrics = RequestMetrics()
    build = app.build_middleware_stack

    def build_with_observability() -> ASGIApp:  # on the first request: the metrics of then
        return ObservabilityMiddleware(build(), app.state.request_metrics)

    app.build_middleware_stack = build_with_observability  # type: ignore[method-assign]


# -- log lines ---------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamps `request_id` (or "-" outside a request) on every record that passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message, the access line's
    fields, and the traceback of an exception."""

    encoder = json.JSONEncoder(ensure_ascii=False, default=str)  # made once: ~2× cheaper

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}+00:00",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return self.encoder.encode(out)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """A readable line; the access line adds its route and user."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += f" route={fields['route']} user={fields['user_id'] or '-'} client={fields['client'] or '-'}"
        return line


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


_HANDLER_NAME = "closeloop"


def configure_logging(fmt: str = "text", *, stream: Any = None, level: int = logging.INFO) -> None:
    """One handler on the root logger, for every log line of the process (idempotent)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    quiet_secret_bearing_loggers()
    route_uvicorn_logs()


# Loggers whose INFO lines name whole URLs: a robot's webhook URL holds its key (?key=…).
SECRET_BEARING = ("httpx", "httpcore")


def quiet_secret_bearing_loggers() -> None:
    for name in SECRET_BEARING:
        logging.getLogger(name).setLevel(logging.WARNING)


def route_uvicorn_logs() -> None:
    """Uvicorn's lines through our handler; its access log off (ours replaces it)."""
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        lg.disabled = False
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
