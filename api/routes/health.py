"""GET /metrics: this process's request metrics and the installation's health summary, in the
Prometheus text exposition format (0.0.4).

Who may read it: with CLOSELOOP_METRICS_TOKEN set, any client that sends `Authorization: Bearer
<token>` (Prometheus: `authorization: {credentials: …}` in the scrape config); without it, clients
on the loopback address only (a Prometheus or node agent on the same host). A reverse proxy on the
same host makes every client look local: such a proxy must not forward /metrics, or set the token.
"""

import hmac
from datetime import datetime
from ipaddress import ip_address

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.observability import escape
from closeloop import __version__
from closeloop.config import get_settings
from closeloop.errors import Forbidden, Unauthorized
from closeloop.text import Msg
from models.enums import Channel
from workflows import health as health_summary

router = APIRouter(tags=["health"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_access(request: Request) -> None:
    token = get_settings().metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise Unauthorized(
                Msg(
                    "读取指标需要令牌（CLOSELOOP_METRICS_TOKEN）",
                    "/metrics needs Authorization: Bearer <CLOSELOOP_METRICS_TOKEN>",
                )
            )
        return
    if not _loopback(request.client.host if request.client else None):
        raise Forbidden(
            Msg(
                "指标仅对本机开放；远程抓取请设置 CLOSELOOP_METRICS_TOKEN",
                "/metrics answers loopback clients only; set CLOSELOOP_METRICS_TOKEN to scrape "
                "from another host",
            )
        )


# Not in the OpenAPI schema: an operator's endpoint with its own access rule (not the API's
# bearer tokens), documented in the README's "Observability".
@router.get(
    "/metrics",
    include_in_schema=False,
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    """Request counts and latencies by route, outbox depth, escalation lag, job runs (Prometheus
    text format). Loopback clients only, or `Authorization: Bearer <CLOSELOOP_METRICS_TOKEN>`."""
    check_access(request)
    now = request.app.state.clock.now()
    h = health_summary.summary(request.app.state.engine, now)
    lines = [*request.app.state.request_metrics.render(), *render_health(h)]
    return Response("\n".join(lines) + "\n", media_type=CONTENT_TYPE)


def _gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    out += [f"{name}{labels} {value!r}" for labels, value in samples]
    return out


def _ts(at: datetime) -> float:
    return round(at.timestamp(), 3)


def render_health(h: health_summary.Health) -> list[str]:
    out = _gauge(
        "closeloop_build_info", "The running version.", [(f'{{version="{__version__}"}}', 1)]
    )
    out += _gauge(
        "closeloop_healthy", "1 when `closeloop status` reports no problem.", [("", int(h.healthy))]
    )
    out += _gauge(
        "closeloop_database_up", "1 when the database answered.", [("", int(h.database_ok))]
    )
    if not h.database_ok:
        return out
    out += _gauge(
        "closeloop_schema_current",
        "1 when the database's schema revision is the code's head revision.",
        [("", int(h.schema_current))],
    )
    depth = {c.channel: c.pending for c in h.outbox}
    out += _gauge(
        "closeloop_outbox_pending",
        "Undelivered outbox messages (status pending), by channel.",
        [(f'{{channel="{escape(ch.value)}"}}', depth.get(ch.value, 0)) for ch in Channel],
    )
    out += _gauge(
        "closeloop_outbox_oldest_pending_age_seconds",
        "Age of the oldest undelivered outbox message (0 when none).",
        [("", round(h.outbox_oldest_age_seconds or 0.0, 3))],
    )
    lag = h.escalation_lag_seconds
    if lag is not None:
        out += _gauge(
            "closeloop_escalation_lag_seconds",
            "How far the start of the last successful escalation run is behind now.",
            [("", round(lag, 3))],
        )
    out += _gauge(
        "closeloop_escalation_unseen_overdue_cases",
        "Open cases whose rectification deadline passed since the last successful escalation run.",
        [("", h.escalation_unseen_overdue or 0)],
    )
    success = [(f'{{job="{j.name}"}}', _ts(j.last_success_at)) for j in h.jobs if j.last_success_at]
    out += _gauge(
        "closeloop_job_last_success_timestamp_seconds",
        "Start (Unix time) of each job's last successful run; absent when it never succeeded.",
        success,
    )
    last = [(f'{{job="{j.name}"}}', _ts(j.last_run_at)) for j in h.jobs if j.last_run_at]
    out += _gauge(
        "closeloop_job_last_run_timestamp_seconds",
        "Start (Unix time) of each job's last run of any outcome; absent when it never ran.",
        last,
    )
    out += _gauge(
        "closeloop_job_overdue",
        "1 when a job's last success is older than its cron allows (see `closeloop status`).",
        [(f'{{job="{j.name}"}}', int(j.overdue)) for j in h.jobs],
    )
    return out
