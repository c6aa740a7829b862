"""The web pages (server-rendered, Jinja2): one package, mounted by `install(app)`.

Pages are plain FastAPI routes over the API's own session dependency, with `PageUser` and
`CsrfForm` dependencies (api/web/deps.py); they call the same services as the API, so roles,
jurisdiction and every rule are the same, and their errors go through the same map
(api/problems.py), drawn as an error page instead of problem+json.
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import (
    admin,
    routes_admin_edit,
    routes_admin_import,
    routes_admin_jobs,  # the scheduled jobs and their runs
    routes_admin_org,
    routes_admin_outbox,
    routes_admin_reasons,
    routes_admin_users,
    routes_auth,
    routes_calendar,
    routes_case,
    routes_dashboard,
    routes_desk,
    routes_dossier,
    routes_enterprises,
    routes_file,
    routes_inspections,
    routes_letters,
    routes_map,
    routes_messages,
    routes_offline,
    routes_reports,
    routes_risk,
    routes_tasks,  # co-handling (主办/协办)
)
from api.web.pages import HERE


def install(app: FastAPI) -> None:
    for module in (
        routes_auth,
        routes_file,
        routes_desk,
        routes_case,
        routes_letters,
        routes_dashboard,
        routes_messages,
        admin,
        routes_admin_org,
        routes_admin_reasons,  # before routes_admin_edit's /admin/{kind}/{code}
        routes_calendar,
        routes_admin_users,
        routes_admin_outbox,
        routes_admin_import,
        routes_admin_edit,
        routes_reports,
        routes_enterprises,
        routes_inspections,
        routes_risk,
        routes_dossier,
        routes_offline,
    ):
        app.include_router(module.router)
    app.include_router(routes_map.router)
    app.include_router(routes_offline.public)  # /manifest.webmanifest, /sw.js
    app.include_router(routes_tasks.router)
    app.include_router(routes_admin_jobs.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
