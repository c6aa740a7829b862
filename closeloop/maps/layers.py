"""The map's data as GeoJSON FeatureCollections, each only what the caller may see, converted from
the stored WGS-84 to the requested system (wgs84 or gcj02) here and nowhere else.

A point's place: the case's own GPS point, else its enterprise's, else its grid's centroid; a
case with none of these is left off and counted in the layer's `unplaced`."""

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases.deadlines import overdue_clause
from closeloop.cases.lookup import jurisdiction
from closeloop.errors import Invalid
from closeloop.geo import service as geo
from closeloop.geo.coords import convert
from closeloop.maps.figures import grid_figures
from closeloop.text import Msg
from models.case import Case
from models.dossier import Notice
from models.enterprise import Enterprise
from models.enums import CaseKind, CaseState, Grade, NoticeType, Role
from models.risk import RiskPoint

CRS = ("wgs84", "gcj02")
LAYERS = ("grids", "events", "hazards", "major", "risks")
MAX_POINTS = 5000  # per layer; more is marked `truncated`


def _ring(ring: list[list[float]], crs: str) -> list[list[float]]:
    out = []
    for p in ring:
        lat, lon = convert(p[1], p[0], crs=crs)
        out.append([round(lon, 7), round(lat, 7)])
    return out


def convert_geometry(geometry: dict[str, Any], crs: str) -> dict[str, Any]:
    if crs == "wgs84":
        return geometry
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [_ring(r, crs) for r in geometry["coordinates"]]}
    return {
        "type": "MultiPolygon",
        "coordinates": [[_ring(r, crs) for r in poly] for poly in geometry["coordinates"]],
    }


def visible_grid_paths(actor: Principal) -> list[str] | None:
    """The region prefixes whose grids the actor's map shows; None: every grid. Handlers work
    district-wide for their unit, admins everywhere; the others see their own region."""
    if actor.role in (Role.admin, Role.handler):
        return None
    return [actor.region_path or "\x00"]


def _point(lat: float, lon: float, crs: str, props: dict[str, Any]) -> dict[str, Any]:
    lat, lon = convert(lat, lon, crs=crs)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
        "properties": props,
    }


def _collection(features: list[dict[str, Any]], unplaced: int = 0) -> dict[str, Any]:
    truncated = len(features) > MAX_POINTS
    return {
        "type": "FeatureCollection",
        "features": features[:MAX_POINTS],
        "unplaced": unplaced,
        "truncated": truncated,
    }


class _Places:
    """Where things without their own GPS point go: their enterprise's point, else their grid's
    centroid (WGS-84 (lat, lon))."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.centroids = {r.code: geo.centroid(g.geometry) for r, g in geo.geometries(session)}
        self._enterprises: dict[str, tuple[float | None, float | None, str]] = {}

    def enterprise(self, code: str | None) -> tuple[float | None, float | None, str] | None:
        if code is None:
            return None
        if code not in self._enterprises:
            e = self.session.get(Enterprise, code)
            self._enterprises[code] = (e.lat, e.lon, e.grid_code) if e else (None, None, "")
        return self._enterprises[code]

    def of(
        self, lat: float | None, lon: float | None, enterprise: str | None, grid: str | None
    ) -> tuple[float, float] | None:
        if lat is not None and lon is not None:
            return lat, lon
        e = self.enterprise(enterprise)
        if e and e[0] is not None and e[1] is not None:
            return e[0], e[1]
        grid = grid or (e[2] if e else None)
        return self.centroids.get(grid) if grid else None


def _listed_major_ids(session: Session) -> set[int]:
    """Major hazards under listing (挂牌督办): a listing notice and no published delisting, or
    listed by the supervision ladder."""
    notices = session.exec(select(Notice.case_id, Notice.type, Notice.published_at)).all()
    listing = {c for c, t, _ in notices if t == NoticeType.listing}
    delisted = {c for c, t, p in notices if t == NoticeType.delisting and p is not None}
    return listing - delisted


def _case_points(
    session: Session,
    places: _Places,
    *,
    actor: Principal,
    crs: str,
    now: datetime,
    stmt: Any,
) -> dict[str, Any]:
    late = overdue_clause(now)
    rows = session.execute(stmt.add_columns(late.label("late")).order_by(col(Case.id))).all()
    features, unplaced = [], 0
    for case, is_late in rows:
        where = places.of(case.lat, case.lon, case.enterprise_code, case.grid_code)
        if where is None:
            unplaced += 1
            continue
        props = {
            "id": case.id,
            "number": case.number,
            "title": case.title,
            "kind": case.kind,
            "state": case.state,
            "grade": case.grade,
            "overdue": bool(is_late),
            "urgent": case.urgent,
            "listed": case.listed,
            "grid_code": case.grid_code,
            "due_at": case.due_at.isoformat() if case.due_at else None,
        }
        features.append(_point(where[0], where[1], crs, props))
    return _collection(features, unplaced)


def _states(state: str | None) -> list[str]:
    if state in (None, "", "open"):
        return list(CaseState.open_states())
    if state == "all":
        return [s.value for s in CaseState]
    if state not in {s.value for s in CaseState}:
        allowed = ", ".join(["open", "all", *(s.value for s in CaseState)])
        raise Invalid(Msg(f"状态（state）无效：{state}", f"state must be one of {allowed}"))
    return [state]


def _risk_points(
    session: Session, places: _Places, *, actor: Principal, crs: str
) -> dict[str, Any]:
    stmt = select(RiskPoint).where(col(RiskPoint.active).is_(True))
    if actor.role == Role.handler:
        stmt = stmt.where(RiskPoint.unit_code == (actor.unit_code or "\x00"))
    elif actor.role != Role.admin:
        prefix = actor.region_path or "\x00"
        stmt = stmt.where(col(RiskPoint.region_path).startswith(prefix, autoescape=True))
    features, unplaced = [], 0
    for rp in session.exec(stmt.order_by(col(RiskPoint.code))).all():
        where = places.of(None, None, rp.enterprise_code, None)
        if where is None:
            unplaced += 1
            continue
        props = {"code": rp.code, "name": rp.name, "level": rp.level}
        props["enterprise_code"] = rp.enterprise_code
        features.append(_point(where[0], where[1], crs, props))
    return _collection(features, unplaced)


def map_layers(
    session: Session,
    *,
    actor: Principal,
    now: datetime,
    crs: str = "wgs84",
    layers: list[str] | None = None,
    state: str | None = None,
    overdue: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """{"crs", "layers": {name: FeatureCollection}} for the layers asked (default: all)."""
    if crs not in CRS:
        raise Invalid(
            Msg(f"坐标系（crs）须为 wgs84 或 gcj02，收到 {crs}", "crs must be wgs84 or gcj02")
        )
    wanted = layers or list(LAYERS)
    unknown = [name for name in wanted if name not in LAYERS]
    if unknown:
        raise Invalid(
            Msg(
                f"图层（layer）无效：{'、'.join(unknown)}；可选 {'、'.join(LAYERS)}",
                f"unknown layer {', '.join(unknown)}; allowed: {', '.join(LAYERS)}",
            )
        )
    states = _states(state)
    places = _Places(session)
    out: dict[str, Any] = {}
    base = jurisdiction(select(Case), actor).where(col(Case.state).in_(states))
    if overdue is not None:
        late = overdue_clause(now)
        base = base.where(late if overdue else ~late | col(Case.due_at).is_(None))
    for name in wanted:
        if name == "grids":
            out[name] = grid_layer(
                session, actor=actor, crs=crs, now=now, date_from=date_from, date_to=date_to
            )
        elif name == "events":
            stmt = base.where(Case.kind == CaseKind.event)
            out[name] = _case_points(session, places, actor=actor, crs=crs, now=now, stmt=stmt)
        elif name == "hazards":
            stmt = base.where(Case.kind == CaseKind.hazard)
            out[name] = _case_points(session, places, actor=actor, crs=crs, now=now, stmt=stmt)
        elif name == "major":
            ids = _listed_major_ids(session)
            stmt = base.where(Case.kind == CaseKind.hazard, Case.grade == Grade.major).where(
                col(Case.id).in_(ids) | col(Case.listed).is_(True)
            )
            out[name] = _case_points(session, places, actor=actor, crs=crs, now=now, stmt=stmt)
        else:
            out[name] = _risk_points(session, places, actor=actor, crs=crs)
    return {"crs": crs, "layers": out}


def grid_layer(
    session: Session,
    *,
    actor: Principal,
    crs: str,
    now: datetime,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """The visible grids' polygons with their figures (see figures.grid_figures)."""
    rows = geo.geometries(session, paths=visible_grid_paths(actor))
    figures = grid_figures(
        session,
        actor=actor,
        now=now,
        codes=[r.code for r, _ in rows],
        date_from=date_from,
        date_to=date_to,
    )
    features = []
    for region, shape in rows:
        lat, lon = geo.centroid(shape.geometry)
        props = {"code": region.code, "name": region.name, "active": region.active}
        props.update(figures.values.get(region.code, figures.empty()))
        props["centre"] = list(reversed([round(v, 7) for v in convert(lat, lon, crs=crs)]))
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": convert_geometry(shape.geometry, crs),
            }
        )
    coll = _collection(features)
    coll["period"] = {"from": figures.date_from.isoformat(), "to": figures.date_to.isoformat()}
    return coll
