"""Grid boundaries and locating a point: `POST /api/v1/grids/geometry` (admin; a GeoJSON
FeatureCollection, properties.code = a grid code, WGS-84 lon/lat; all or nothing),
`GET /api/v1/grids/geometry` (the FeatureCollection), `GET /api/v1/grids/locate?lat=&lon=`
(WGS-84 → the grid holding it; 404 outside every grid)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from api.deps import AdminUser, CurrentUser, NowDep, SessionDep
from closeloop.geo import service as geo

router = APIRouter(tags=["map"])


class GeometryImport(BaseModel):
    imported: int
    rejected: list[dict[str, Any]]


class GridLocation(BaseModel):
    grid_code: str
    grid_name: str
    street_code: str | None
    street_name: str | None
    community_code: str | None
    community_name: str | None
    region_path: str


@router.post("/grids/geometry", response_model=GeometryImport)
def import_geometry(
    session: SessionDep, _: AdminUser, now: NowDep, collection: Annotated[Any, Body()]
) -> object:
    """Each feature replaces its grid's boundary. Any bad feature (unknown code, not a grid,
    not a Polygon/MultiPolygon, an open or short ring, a coordinate out of range, a code twice)
    → 422 with `errors: [{"feature", "code", "error"}]`, and nothing is written."""
    return geo.import_geometry(session, collection=collection, now=now)


@router.get("/grids/geometry")
def geometry(session: SessionDep, _: CurrentUser) -> dict[str, Any]:
    return geo.feature_collection(session)


@router.get("/grids/locate", response_model=GridLocation)
def locate(
    session: SessionDep,
    _: CurrentUser,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> object:
    return geo.locate_grid(session, lat=lat, lon=lon)
