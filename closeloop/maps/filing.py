"""What the filing form suggests from a GPS point: the grid holding it (the grid a case filed
there without a grid takes) and the unit its category routes to (the dispatcher decides)."""

from typing import Any

from sqlmodel import Session

from closeloop.geo.service import locate_grid
from models.org import Category, Unit


def filing_suggestion(
    session: Session, *, lat: float, lon: float, category_code: str | None = None
) -> dict[str, Any]:
    """locate_grid's answer (404 outside every grid) with `unit_code` and `unit_name` of the
    category's unit (None without a category or a unit)."""
    found = locate_grid(session, lat=lat, lon=lon)
    category = session.get(Category, category_code) if category_code else None
    unit = session.get(Unit, category.unit_code) if category and category.unit_code else None
    found["unit_code"] = unit.code if unit else None
    found["unit_name"] = unit.name if unit else None
    return found
