"""The map page (/map, 一图览全域), its data for the page's script (/map/layers.json), the
filing form's "use my position" lookup (/map/locate.json), and the admin's grid boundary upload
(/admin/grids). The JSON here is the API's (closeloop/maps, closeloop/geo) read with the page's
session cookie."""

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Query
from fastapi.responses import JSONResponse, Response
from sqlmodel import func, select

from api.deps import NowDep, SessionDep
from api.uploads import read_import
from api.web import i18n
from api.web.admin import PageAdmin
from api.web.deps import CsrfForm, PageDep, PageUser, page_router, uploads
from api.web.pages import SECURITY_HEADERS, Page
from closeloop.config import get_settings
from closeloop.errors import DomainError, Invalid
from closeloop.geo import service as geo
from closeloop.maps.filing import filing_suggestion
from closeloop.maps.layers import map_layers
from models.enums import CaseState, RegionLevel, Role
from models.geo import GridGeometry
from models.org import Region

router = page_router()
NO_STORE = {"Cache-Control": "no-store"}


def _tile_origin(url: str) -> str:
    """The tile server's origin for the page's img-src: a host with {s} (the subdomains) becomes
    a wildcard on its first label (webrd0{s}.is.autonavi.com → *.is.autonavi.com)."""
    parts = urlsplit(url)
    host = parts.netloc
    if parts.scheme not in ("http", "https") or not host:
        return ""
    if "{s}" in host:
        host = "*." + host.split(".", 1)[-1]
    return f"{parts.scheme}://{host}"


@router.get("/map")
def map_page(page: PageDep, user: PageUser) -> Response:
    settings = get_settings()
    tiles = settings.map_tile_url.strip()
    home = user.region_code if user.role == Role.reporter else None
    response = page.render(
        "map.html",
        tile_url=tiles,
        tile_crs=settings.map_tile_crs if tiles else "wgs84",
        tile_subdomains=settings.map_tile_subdomains,
        tile_attribution=settings.map_tile_attribution,
        own_grid=home or "",
        home_grid=home or "",
        states=["open", "all", *(s.value for s in CaseState)],
    )
    origin = _tile_origin(tiles) if tiles else ""
    if origin:
        csp = SECURITY_HEADERS["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = csp.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}"
        )
    return response


@router.get("/map/layers.json")
def layers_json(
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    crs: str = "wgs84",
    layer: Annotated[list[str] | None, Query()] = None,
    state: str | None = None,
    overdue: bool | None = None,
) -> Response:
    data = map_layers(
        session, actor=user, now=now, crs=crs, layers=layer, state=state, overdue=overdue
    )
    return JSONResponse(data, headers=NO_STORE)


@router.get("/map/locate.json")
def locate_json(
    page: PageDep,
    session: SessionDep,
    _: PageUser,
    lat: float,
    lon: float,
    category_code: str | None = None,
) -> Response:
    """The grid holding the point and the category's unit, or 404 with the reason in the
    reader's language (the form then asks for the grid)."""
    try:
        found = filing_suggestion(session, lat=lat, lon=lon, category_code=category_code or None)
    except DomainError as exc:
        return JSONResponse({"error": page.message(exc)}, status_code=exc.status, headers=NO_STORE)
    t = page.t
    found["grid_text"] = t(
        "map.grid_of",
        grid=found["grid_name"],
        street=found["street_name"] or "",
        community=found["community_name"] or "",
    )
    found["routing_text"] = t("map.routing", unit=found["unit_name"]) if found["unit_name"] else ""
    return JSONResponse(found, headers=NO_STORE)


def _admin_page(page: Page, *, status: int = 200, **kw: Any) -> Response:
    session = page.session
    total = session.exec(
        select(func.count()).select_from(Region).where(Region.level == RegionLevel.grid)
    ).one()
    have = session.exec(select(func.count()).select_from(GridGeometry)).one()
    context: dict[str, Any] = {"errors": [], "imported": None, "have": have, "total": total}
    context.update(kw)
    return page.render("admin/grids.html", status=status, **context)


@router.get("/admin/grids")
def grids_form(page: PageDep, _: PageAdmin) -> Response:
    return _admin_page(page)


@router.get("/admin/grids.geojson")
def grids_download(session: SessionDep, _: PageAdmin) -> Response:
    return JSONResponse(
        geo.feature_collection(session),
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="grids.geojson"', **NO_STORE},
    )


@router.post("/admin/grids")
def grids_upload(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, form: CsrfForm
) -> Response:
    files = uploads(form, "file")
    try:
        if not files:
            raise Invalid(i18n.msg("import.no_file"))
        collection = geo.read_geojson(read_import(files[0].file))
        result = geo.import_geometry(session, collection=collection, now=now)
    except DomainError as exc:
        session.rollback()
        errors = exc.extra.get("errors", [])
        return _admin_page(page, error=page.message(exc), errors=errors, status=exc.status)
    return _admin_page(page, imported=result["imported"])
