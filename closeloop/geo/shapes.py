"""Plain geometry on GeoJSON coordinates ([lon, lat] pairs): bounding boxes and whether a point lies
in a Polygon or MultiPolygon (even-odd rule, holes excluded)."""

from typing import Any

Ring = list[list[float]]


def polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """The polygons of a Polygon or MultiPolygon geometry, each a list of rings (outer first)."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return [geometry["coordinates"]]
    if kind == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"geometry type {kind!r} is not Polygon or MultiPolygon")


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of the outer rings."""
    lons = [p[0] for poly in polygons(geometry) for p in poly[0]]
    lats = [p[1] for poly in polygons(geometry) for p in poly[0]]
    return min(lons), min(lats), max(lons), max(lats)


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def contains(geometry: dict[str, Any], lon: float, lat: float) -> bool:
    """True when (lon, lat) lies inside the geometry: in an outer ring and in none of its holes."""
    for poly in polygons(geometry):
        if _in_ring(lon, lat, poly[0]) and not any(_in_ring(lon, lat, h) for h in poly[1:]):
            return True
    return False
