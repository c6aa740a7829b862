"""The FastAPI application factory."""

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from api import problems, web
from api.routes import (
    auth,
    calendar,
    cases,
    dossier,
    enterprises,
    escalations,
    grids,
    imports,
    inspections,
    letters,
    maps,
    metrics,
    notices,
    notifications,
    org,
    org_import,
    reasons,
    reports,
    risk,
)
from api.routes import tasks as task_routes
from closeloop import __version__
from closeloop.clock import Clock, SystemClock
from closeloop.config import get_settings
from closeloop.db import make_engine

DESCRIPTION = """闭环 Closeloop — 隐患整改与网格事件闭环管理 / hazard rectification and case tracking.

Log in with `POST /api/v1/auth/token` (form fields `username`, `password`), then send
`Authorization: Bearer <token>`. Errors are `application/problem+json`."""


def create_app(engine: Engine | None = None, clock: Clock | None = None) -> FastAPI:
    # /docs and /redoc serve Swagger UI and ReDoc from the installed package, not a CDN: bureaus
    # run Closeloop on intranets.
    app: FastAPI = FastAPIOffline(
        title="Closeloop 闭环", version=__version__, description=DESCRIPTION
    )
    app.state.engine = engine or make_engine(get_settings().database_url)
    app.state.clock = clock or SystemClock()
    problems.install(app)
    from api import observability

    observability.install(app)  # X-Request-ID, the access log line, request metrics
    # metrics before reports: /reports/metrics must not reach /reports/{id}.
    for module in (
        auth,
        org,
        org_import,
        imports,
        cases,
        calendar,
        letters,
        notifications,
        escalations,
        metrics,
        reports,
        enterprises,
        inspections,
        risk,
        dossier,
        notices,
    ):
        app.include_router(module.router, prefix="/api/v1")
    for module in (grids, maps):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(reasons.router, prefix="/api/v1")
    app.include_router(task_routes.router, prefix="/api/v1")  # co-handling (主办/协办)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from api.routes import health as health_routes

    app.include_router(health_routes.router)  # GET /metrics (Prometheus text format)

    web.install(app)  # the web pages (api/web), after the API so /api/v1 routes come first
    return app
