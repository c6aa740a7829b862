"""`GET /api/v1/map/layers?crs=wgs84|gcj02&layer=grids&layer=events…`: the map's layers as
GeoJSON FeatureCollections, only what the caller may see (closeloop/maps/layers.py)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.maps.layers import map_layers

router = APIRouter(tags=["map"])


@router.get("/map/layers")
def layers(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    crs: str = "wgs84",
    layer: Annotated[list[str] | None, Query()] = None,
    state: str | None = None,
    overdue: bool | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> dict[str, Any]:
    """Layers: grids (polygons with open, overdue, accepted, closed, closure_rate of the period
    from–to, default the last 90 days), events, hazards, major (listed major hazards), risks
    (risk points by level). `state`: open (default), all, or one state; `overdue`: true/false."""
    return map_layers(
        session,
        actor=user,
        now=now,
        crs=crs,
        layers=layer,
        state=state,
        overdue=overdue,
        date_from=from_,
        date_to=to,
    )
