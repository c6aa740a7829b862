"""Grid boundaries: importing them from GeoJSON (all or nothing), reading them back, and which
grid holds a point. Everything here is WGS-84 longitude/latitude, as phones give and as stored."""

import json
import math
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from closeloop.errors import Invalid, NotFound
from closeloop.geo.locate import locate
from closeloop.geo.shapes import bbox, polygons
from closeloop.text import Msg
from models.enums import RegionLevel
from models.geo import GridGeometry
from models.org import Region

MAX_FEATURES = 20000
_TYPES = ("Polygon", "MultiPolygon")


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _ring_problem(ring: Any) -> Msg | None:
    if not isinstance(ring, list) or len(ring) < 4:
        return Msg("环至少需要 4 个点（首尾相同）", "a ring needs at least 4 positions (closed)")
    for p in ring:
        if not (isinstance(p, list) and len(p) >= 2 and _number(p[0]) and _number(p[1])):
            return Msg("坐标须为 [经度, 纬度] 数字", "a position must be [lon, lat] numbers")
        if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            return Msg(
                f"坐标超出范围：[{p[0]}, {p[1]}]（经度 −180…180，纬度 −90…90，WGS-84 经纬度顺序）",
                f"position [{p[0]}, {p[1]}] is out of range (lon −180…180, lat −90…90, "
                "WGS-84 in lon, lat order)",
            )
    if ring[0][:2] != ring[-1][:2]:
        return Msg("环未闭合（首尾坐标须相同）", "a ring is not closed (first ≠ last position)")
    return None


def geometry_problem(geometry: Any) -> Msg | None:
    """What is wrong with a feature's geometry, or None for a valid Polygon or MultiPolygon."""
    if not isinstance(geometry, dict) or geometry.get("type") not in _TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        return Msg(
            f"几何类型须为 Polygon 或 MultiPolygon（收到 {kind}）",
            f"geometry must be a Polygon or MultiPolygon, not {kind}",
        )
    coords = geometry.get("coordinates")
    polys = [coords] if geometry["type"] == "Polygon" else coords
    if not isinstance(polys, list) or not polys:
        return Msg("几何没有坐标", "the geometry has no coordinates")
    for poly in polys:
        if not isinstance(poly, list) or not poly:
            return Msg("多边形没有环", "a polygon has no rings")
        for ring in poly:
            problem = _ring_problem(ring)
            if problem:
                return problem
    return None


def _feature_problems(
    session: Session, index: int, feature: Any, seen: dict[str, int]
) -> tuple[str | None, list[dict[str, Any]]]:
    def wrong(msg: Msg) -> list[dict[str, Any]]:
        return [{"feature": index, "code": code, "error": msg.both()}]

    code = None
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, wrong(Msg("不是 GeoJSON Feature", "not a GeoJSON Feature"))
    props = feature.get("properties") or {}
    raw = props.get("code") if isinstance(props, dict) else None
    if not isinstance(raw, str | int) or not str(raw).strip():
        return None, wrong(Msg("缺少 properties.code（网格编码）", "properties.code is missing"))
    code = str(raw).strip()
    problems: list[dict[str, Any]] = []
    if code in seen:
        first = seen[code]
        problems += wrong(
            Msg(f"网格 {code} 在第 {first} 个要素已出现", f"grid {code} repeats feature {first}")
        )
    else:
        seen[code] = index
    region = session.get(Region, code)
    if region is None:
        problems += wrong(Msg(f"网格 {code} 不存在", f"grid {code!r} does not exist"))
    elif region.level != RegionLevel.grid:
        problems += wrong(Msg(f"{region.name}（{code}）不是网格", f"{code!r} is not a grid"))
    problem = geometry_problem(feature.get("geometry"))
    if problem:
        problems += wrong(problem)
    return code, problems


def read_geojson(data: bytes) -> Any:
    """A GeoJSON file's contents (UTF-8, a BOM allowed); not JSON → 422."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(
            Msg(
                f"文件不是 UTF-8 编码的 GeoJSON：{exc}",
                f"the file is not GeoJSON (JSON in UTF-8): {exc}",
            )
        ) from None


def import_geometry(session: Session, *, collection: Any, now: datetime) -> dict[str, Any]:
    """Store a FeatureCollection's grid polygons (properties.code = a grid code), replacing a
    grid's earlier polygon. All or nothing: any bad feature → 422 with every problem listed by
    feature index (0-based) in `errors`, and nothing written."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise Invalid(
            Msg(
                "文件须为 GeoJSON FeatureCollection", "the body must be a GeoJSON FeatureCollection"
            )
        )
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise Invalid(Msg("FeatureCollection 没有要素", "the FeatureCollection has no features"))
    if len(features) > MAX_FEATURES:
        raise Invalid(
            Msg(f"要素过多（上限 {MAX_FEATURES}）", f"at most {MAX_FEATURES} features at once")
        )
    seen: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    good: list[tuple[str, dict[str, Any]]] = []
    for i, feature in enumerate(features):
        code, problems = _feature_problems(session, i, feature, seen)
        errors += problems
        if not problems and code is not None:
            good.append((code, feature["geometry"]))
    if errors:
        raise Invalid(
            Msg(
                f"{len(errors)} 处错误，未导入任何网格边界",
                f"{len(errors)} problem(s); no grid boundary was imported",
            ),
            errors=errors,
        )
    for code, geometry in good:
        clean = {"type": geometry["type"], "coordinates": geometry["coordinates"]}
        min_lon, min_lat, max_lon, max_lat = bbox(clean)
        row = session.get(GridGeometry, code) or GridGeometry(
            grid_code=code,
            geometry=clean,
            min_lon=min_lon,
            min_lat=min_lat,
            max_lon=max_lon,
            max_lat=max_lat,
            updated_at=now,
        )
        row.geometry, row.updated_at = clean, now
        row.min_lon, row.min_lat, row.max_lon, row.max_lat = min_lon, min_lat, max_lon, max_lat
        session.add(row)
    session.flush()
    return {"imported": len(good), "rejected": []}


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lat, lon) of a point inside-ish the grid: the area-weighted centroid of its largest
    outer ring (good enough to place a marker that has no location of its own)."""
    best: tuple[float, float, float] = (0.0, 0.0, 0.0)
    for poly in polygons(geometry):
        ring = poly[0]
        a = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(
            [p[:2] for p in ring[:-1]], [p[:2] for p in ring[1:]], strict=True
        ):
            cross = x0 * y1 - x1 * y0
            a, cx, cy = a + cross, cx + (x0 + x1) * cross, cy + (y0 + y1) * cross
        if a == 0:
            xs, ys = [p[0] for p in ring], [p[1] for p in ring]
            lon, lat = sum(xs) / len(xs), sum(ys) / len(ys)
        else:
            lon, lat = cx / (3 * a), cy / (3 * a)
        if abs(a) >= best[2]:
            best = (lat, lon, abs(a))
    return best[0], best[1]


def geometries(
    session: Session, *, paths: list[str] | None = None
) -> list[tuple[Region, GridGeometry]]:
    """Each grid with a boundary and its region, by code; `paths`: only grids under one of them
    (None: every grid)."""
    stmt = (
        select(Region, GridGeometry)
        .join(GridGeometry, col(GridGeometry.grid_code) == col(Region.code))
        .order_by(col(Region.code))
    )
    rows = list(session.exec(stmt).all())
    if paths is not None:
        rows = [r for r in rows if any(r[0].path.startswith(p) for p in paths)]
    return [(r[0], r[1]) for r in rows]


def feature_collection(session: Session) -> dict[str, Any]:
    """Every grid boundary as a FeatureCollection (WGS-84), as `import_geometry` takes it."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": region.code, "name": region.name},
                "geometry": geo.geometry,
            }
            for region, geo in geometries(session)
        ],
    }


def locate_grid(session: Session, *, lat: float, lon: float) -> dict[str, Any]:
    """The grid holding a WGS-84 point, with its street and community; 404 outside every grid."""
    if not (_number(lat) and _number(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid(
            Msg("纬度须在 −90…90、经度须在 −180…180", "lat must be in −90…90 and lon in −180…180")
        )
    code = locate(session, lat=lat, lon=lon)
    grid = session.get(Region, code) if code else None
    if grid is None:
        raise NotFound(
            Msg(
                f"位置（{lat}, {lon}）不在任何网格内",
                f"the point ({lat}, {lon}) lies in no grid",
            )
        )
    parts = [p for p in grid.path.split("/") if p]  # /district/street/community/grid/
    street, community = (parts[1], parts[2]) if len(parts) > 3 else (None, None)
    names = dict(
        session.exec(
            select(Region.code, Region.name).where(col(Region.code).in_([street, community]))
        ).all()
    )
    return {
        "grid_code": grid.code,
        "grid_name": grid.name,
        "street_code": street,
        "street_name": names.get(street or ""),
        "community_code": community,
        "community_name": names.get(community or ""),
        "region_path": grid.path,
    }
