"""The demo district's grid boundaries: around each community's centre (district.toml) a block
of HALF_LAT × HALF_LON either side, split north–south into grid 01 (west) and grid 02 (east).
The blocks of neighbouring communities do not overlap; the demo's case points and enterprises
lie inside their grids. Loaded through the same import the bureau's GeoJSON goes through."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.demo import data as D
from closeloop.geo.service import import_geometry

HALF_LAT = 0.0013  # ≈ 145 m
HALF_LON = 0.0019  # ≈ 195 m


def _ring(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    corners = [(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1), (lon0, lat0)]
    return [[round(x, 6), round(y, 6)] for x, y in corners]


def grid_box(grid: D.Grid) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of a demo grid: its community's west or east half."""
    c = grid.community
    west = grid.code.endswith("01")
    lon0, lon1 = (c.lon - HALF_LON, c.lon) if west else (c.lon, c.lon + HALF_LON)
    return lon0, c.lat - HALF_LAT, lon1, c.lat + HALF_LAT


def collection() -> dict[str, Any]:
    """The demo's grid polygons as a GeoJSON FeatureCollection (WGS-84)."""
    features = []
    for grid in D.grids():
        features.append(
            {
                "type": "Feature",
                "properties": {"code": grid.code, "name": grid.name},
                "geometry": {"type": "Polygon", "coordinates": [_ring(*grid_box(grid))]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def load_geometry(session: Session, *, now: datetime, people: dict[str, Principal]) -> int:
    """Imports the demo grids' boundaries; returns how many."""
    del people  # the import is an admin's act with no author recorded
    return int(import_geometry(session, collection=collection(), now=now)["imported"])
