"""The web pages (server-rendered, Jinja2): one package, mounted by `install(app)`.

Pages call the same services as the API, so roles, jurisdiction and every rule are the same.
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import (
    routes_auth,
    routes_case,
    routes_dashboard,
    routes_desk,
    routes_messages,
    routes_report,
)
from api.web.core import HERE


def install(app: FastAPI) -> None:
    for module in (
        routes_auth, routes_report, routes_desk, routes_case, routes_dashboard, routes_messages
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
