"""Grid boundaries for the map and for locating a GPS point (WGS-84, as phones give)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class GridGeometry(SQLModel, table=True):
    __tablename__ = "grid_geometry"
    grid_code: str = Field(primary_key=True, foreign_key="region.code", max_length=40)
    # A GeoJSON Polygon or MultiPolygon geometry, WGS-84 longitude/latitude.
    geometry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The bounding box, so that locating a point tests only the polygons that may hold it.
    min_lon: float = Field(index=True)
    min_lat: float
    max_lon: float
    max_lat: float
    updated_at: datetime = Field(sa_type=UTCDateTime)
