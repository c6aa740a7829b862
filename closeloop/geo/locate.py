"""Which grid holds a point: the bounding boxes narrow the candidates, the polygons decide."""

from sqlmodel import Session, col, select

from closeloop.geo.shapes import contains
from models.geo import GridGeometry
from models.org import Region


def locate(session: Session, *, lat: float, lon: float) -> str | None:
    """The code of the active grid whose polygon holds the WGS-84 point, or None outside every
    grid. Where polygons overlap (a boundary drawn twice), the lowest code wins, so the answer is
    the same every time."""
    rows = session.exec(
        select(GridGeometry)
        .join(Region, col(Region.code) == col(GridGeometry.grid_code))
        .where(
            col(Region.active).is_(True),
            col(GridGeometry.min_lon) <= lon,
            col(GridGeometry.max_lon) >= lon,
            col(GridGeometry.min_lat) <= lat,
            col(GridGeometry.max_lat) >= lat,
        )
        .order_by(col(GridGeometry.grid_code))
    ).all()
    for row in rows:
        if contains(row.geometry, lon, lat):
            return row.grid_code
    return None
