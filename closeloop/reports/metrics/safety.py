"""The safety-production figures of the metrics (双重预防): inspections and the hazards they found,
risk reports and their review (审核率), risk points by level — aggregate SQL over the inspection
and risk tables, for the same scope (who asks, region, period, report time T) as the case figures.

Definitions (README, "Safety figures in the reports"):
- inspections: inspections whose time (`at`) falls in the period and is not after T; the time is
  the inspection's own, as a ledger's dates are (an inspection entered late for an earlier day
  counts in that day's period, as an imported case does).
- hazards_found: the failed items of those inspections (each is filed as a hazard case).
- risk_reports: reports filed (reported_at) in the period, by T; risk_reviewed: of those, the
  ones approved or rejected by T (reviewed_at ≤ T; an imported report marked reviewed without a
  review time counts as reviewed); review_rate = risk_reviewed / risk_reports (None when 0).
- risk_points: points registered by T (created_at ≤ T) and active at T — active now, or changed
  after T (a point deactivated after T was still active then); each at its current level.
- Groups: street by the record's street_code; community and grid by its region_path; unit: the
  risk points by their responsible unit (the other safety figures belong to no unit and stay 0
  in unit groups); category and kind groups carry none (0) — the total carries them all.
- Jurisdiction: dispatchers and supervisors see the records of their region, admins all; a
  handler (a unit's staff) sees the risk points of their unit and the reports about them, and no
  inspections (the bureau's own work).
"""

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Select, case, false, func, or_, select
from sqlmodel import Session, col

from closeloop.reports.metrics.queries import Scope
from closeloop.reports.metrics.sql import ratio
from models.enums import ItemResult, RiskLevel, RiskReportState, Role
from models.inspection import Inspection, InspectionItem
from models.metrics import Metrics, RiskPointCounts
from models.org import Region
from models.risk import RiskPoint, RiskReport

REVIEWED = [RiskReportState.approved.value, RiskReportState.rejected.value]
# The levels as documents name them, most severe first.
LEVEL_NAMES = {
    RiskLevel.major: "重大",
    RiskLevel.significant: "较大",
    RiskLevel.general: "一般",
    RiskLevel.low: "低",
}
FIELDS = ("inspections", "hazards_found", "risk_reports", "risk_reviewed")

Figures = dict[str, Any]  # inspections, hazards_found, risk_reports, risk_reviewed, risk_points


def figures(session: Session, scope: Scope, group_by: str | None) -> dict[Any, Figures]:
    """key → the safety figures of the group (None: the total when `group_by` is None). Groups
    that carry no safety figures (category, kind) give {}."""
    if group_by in ("category", "kind"):
        return {}
    out: dict[Any, Figures] = defaultdict(_empty)
    if group_by != "unit":
        for key, n, failed in _grouped(session, group_by, _inspections(scope)):
            out[key]["inspections"] += n
            out[key]["hazards_found"] += failed
        for key, n, reviewed in _grouped(session, group_by, _reports(scope)):
            out[key]["risk_reports"] += n
            out[key]["risk_reviewed"] += reviewed
    for key, level, n in _grouped(session, group_by, _points(scope, group_by), labels=1):
        out[key]["risk_points"][RiskLevel(level).value] += n
    return dict(out)


def fill(m: Metrics, f: Figures | None) -> None:
    """Write the figures into a Metrics (a group without any keeps the zero defaults)."""
    if not f:
        return
    for name in FIELDS:
        setattr(m, name, f[name])
    m.review_rate = ratio(f["risk_reviewed"], f["risk_reports"])
    m.risk_points = RiskPointCounts(**f["risk_points"])


def has_any(m: Metrics) -> bool:
    """Whether the safety side has any record in these figures."""
    points = m.risk_points
    return bool(
        m.inspections
        or m.risk_reports
        or points.major + points.significant + points.general + points.low
    )


def _empty() -> Figures:
    return {**dict.fromkeys(FIELDS, 0), "risk_points": {level.value: 0 for level in RiskLevel}}


# --- the queries: each selects (street_code, region_path, *counts) over one table ------------


def _inspections(scope: Scope) -> Select[Any]:
    i, item = Inspection, InspectionItem
    failed = _count(col(item.result) == ItemResult.fail.value)
    stmt = (
        select(
            col(i.street_code),
            col(i.region_path),
            func.count(func.distinct(col(i.id))),
            failed,
        )
        .select_from(i)
        .outerjoin(item, col(item.inspection_id) == col(i.id))
        .where(col(i.at) >= scope.start, col(i.at) < scope.end, col(i.at) <= scope.as_of)
    )
    return _within(stmt, i, scope)


def _reports(scope: Scope) -> Select[Any]:
    r = RiskReport
    reviewed = col(r.state).in_(REVIEWED) & (
        col(r.reviewed_at).is_(None) | (col(r.reviewed_at) <= scope.as_of)
    )
    stmt = select(
        col(r.street_code),
        col(r.region_path),
        func.count(),
        _count(reviewed),
    ).where(
        col(r.reported_at) >= scope.start,
        col(r.reported_at) < scope.end,
        col(r.reported_at) <= scope.as_of,
    )
    return _within(stmt, r, scope)


def _points(scope: Scope, group_by: str | None) -> Select[Any]:
    p = RiskPoint
    where = (
        col(p.created_at) <= scope.as_of,
        or_(col(p.active).is_(True), col(p.updated_at) > scope.as_of),
    )
    key = col(p.unit_code) if group_by == "unit" else col(p.street_code)
    stmt: Any = select(key, col(p.region_path), col(p.level), func.count())
    stmt = stmt.where(*where)
    return _within(stmt, p, scope)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _within(stmt: Select[Any], model: Any, scope: Scope) -> Select[Any]:
    """Narrow to the scope's region and to what the actor may see (see the module's note)."""
    path = col(model.region_path)
    if scope.region_path:
        stmt = stmt.where(path.startswith(scope.region_path, autoescape=True))
    actor = scope.actor
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.handler:
        unit = actor.unit_code or "\x00"
        if model is RiskPoint:
            return stmt.where(col(RiskPoint.unit_code) == unit)
        if model is RiskReport:
            theirs = select(col(RiskPoint.code)).where(col(RiskPoint.unit_code) == unit)
            return stmt.where(col(RiskReport.risk_point_code).in_(theirs))
        return stmt.where(false())
    return stmt.where(path.startswith(actor.region_path or "\x00", autoescape=True))


def _grouped(
    session: Session, group_by: str | None, stmt: Select[Any], labels: int = 0
) -> list[tuple[Any, ...]]:
    """Run a statement selecting (street_code or unit_code, region_path, *labels, *counts),
    grouped by its first 2 + `labels` columns, and fold the rows to (key, *labels, *counts) by
    `group_by`: the total (None), the street or unit code, or the community or grid named in the
    path. The database groups by the path, so Python only folds the few distinct paths."""
    columns = list(stmt.selected_columns)
    rows = session.execute(stmt.group_by(*columns[: 2 + labels])).all()
    level_of = _levels(session, {row[1] for row in rows}) if group_by in _PATH_LEVELS else {}
    out: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        if group_by is None:
            key: Any = None
        elif group_by in ("street", "unit"):
            key = row[0]
        else:
            key = next((c for c in _codes(row[1]) if level_of.get(c) == group_by), None)
        counts = [int(v or 0) for v in row[2 + labels :]]
        slot = out.setdefault((key, *row[2 : 2 + labels]), [0] * len(counts))
        for i, n in enumerate(counts):
            slot[i] += n
    return [(*k, *v) for k, v in out.items()]


_PATH_LEVELS = ("community", "grid")


def _codes(path: str | None) -> list[str]:
    return [c for c in (path or "").strip("/").split("/") if c]


def _levels(session: Session, paths: set[str]) -> dict[str, str]:
    codes = {c for p in paths for c in _codes(p)}
    if not codes:
        return {}
    stmt = select(col(Region.code), col(Region.level)).where(col(Region.code).in_(codes))
    return {code: str(level) for code, level in session.execute(stmt)}


__all__ = ["LEVEL_NAMES", "figures", "fill", "has_any"]
