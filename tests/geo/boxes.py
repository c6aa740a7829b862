"""Grid boundaries for the test organisation (tests.factories): G1 and G2 side by side in
湖贝社区, G3 further east."""

from typing import Any


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code: Any, geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code}, "geometry": geometry}


GEOMETRY = {
    "G1": box(114.120, 22.545, 114.123, 22.548),
    "G2": box(114.123, 22.545, 114.126, 22.548),
    "G3": box(114.130, 22.540, 114.133, 22.543),
}
IN_G1 = (22.5465, 114.1215)  # (lat, lon)
IN_G2 = (22.5465, 114.1245)
IN_G3 = (22.5415, 114.1315)
NOWHERE = (22.60, 114.20)


def collection(**geometries: Any) -> dict[str, Any]:
    shapes = geometries or GEOMETRY
    return {"type": "FeatureCollection", "features": [feature(c, g) for c, g in shapes.items()]}
