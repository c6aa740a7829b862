"""The risk register's figures: risk points by level (and by street), and a period's risk reports,
reviewed, 审核率 (reviewed / reported), reviewed late and pending past the deadline.

A period is whole Shanghai days `date_from`..`date_to` and counts the reports reported in it;
"reviewed" is those of them reviewed (approved or rejected) by `now`. Rates are rounded half up to
four decimals (0.9968) and are None when nothing was reported. Only active points are counted.
Everyone sees the figures of their own jurisdiction; `region` narrows to a region within it.
"""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.safety import risk_points, risk_reports
from closeloop.text import Msg
from models.enums import RiskLevel, RiskReportState, Role
from models.org import Region
from models.risk import RiskPoint, RiskReport
from models.types import SHANGHAI

MAX_DAYS = 3660


def rate(numerator: int, denominator: int) -> float | None:
    if denominator <= 0:
        return None
    value = Decimal(numerator) / Decimal(denominator)
    return float(value.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _region_path(session: Session, actor: Principal, region: str | None) -> str | None:
    if not region:
        return None
    row = session.get(Region, region)
    if row is None:
        raise NotFound(Msg(f"区域 {region} 不存在", f"region {region!r} does not exist"))
    mine = actor.region_path or ""
    visible = actor.role == Role.admin or row.path.startswith(mine) or mine.startswith(row.path)
    if not visible or actor.role == Role.handler:
        raise Forbidden(Msg(f"区域 {region} 不在您的管辖范围内", f"region {region} is not yours"))
    return row.path


def _zeros() -> dict[str, int]:
    return dict.fromkeys((lv.value for lv in RiskLevel), 0)


def points_by_level(
    session: Session,
    *,
    actor: Principal,
    region: str | None = None,
    group_by: str | None = None,
) -> dict[str, Any]:
    """{"total", "levels": {"major", "significant", "general", "low"}} and, with group_by=street,
    "streets": [{"street_code", "total", "levels": {...}}] (the street × level table)."""
    if group_by not in (None, "", "street"):
        raise Invalid(Msg("分组只能按街道", "group_by must be street (or left out)"))
    stmt = select(RiskPoint.street_code, RiskPoint.level, func.count()).where(
        col(RiskPoint.active).is_(True)
    )
    stmt = risk_points.scope(stmt, actor)
    path = _region_path(session, actor, region)
    if path:
        stmt = stmt.where(col(RiskPoint.region_path).startswith(path, autoescape=True))
    stmt = stmt.group_by(RiskPoint.street_code, RiskPoint.level)
    levels = _zeros()
    streets: dict[str, dict[str, int]] = {}
    for street, level, n in session.exec(stmt):
        levels[str(level)] += n
        streets.setdefault(street or "", _zeros())[str(level)] += n
    out: dict[str, Any] = {"total": sum(levels.values()), "levels": levels}
    if group_by == "street":
        out["streets"] = [
            {"street_code": s or None, "total": sum(v.values()), "levels": v}
            for s, v in sorted(streets.items())
        ]
    return out


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    if date_to < date_from:
        raise Invalid(Msg(f"结束日期 {date_to} 早于开始日期 {date_from}", "'to' is before 'from'"))
    if (date_to - date_from).days > MAX_DAYS:
        raise Invalid(Msg(f"统计区间最长 {MAX_DAYS} 天", f"at most {MAX_DAYS} days"))
    start = datetime.combine(date_from, time(0), tzinfo=SHANGHAI)
    return start, datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def report_figures(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    region: str | None = None,
    group_by: str | None = None,
) -> dict[str, Any]:
    """{"from", "to", "reports", "reviewed", "review_rate", "reviewed_late", "pending",
    "pending_overdue"} and, with group_by=street, the same per street under "streets"."""
    if group_by not in (None, "", "street"):
        raise Invalid(Msg("分组只能按街道", "group_by must be street (or left out)"))
    start, end = period_bounds(date_from, date_to)
    reviewed = col(RiskReport.reviewed_at).is_not(None)
    pending = col(RiskReport.state) == RiskReportState.pending
    late = and_(reviewed, col(RiskReport.reviewed_at) > col(RiskReport.review_due_at))
    overdue = and_(pending, col(RiskReport.review_due_at) < now)

    def total(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    stmt = sa_select(
        col(RiskReport.street_code),
        func.count(),
        total(reviewed),
        total(late),
        total(pending),
        total(overdue),
    ).where(col(RiskReport.reported_at) >= start, col(RiskReport.reported_at) < end)
    stmt = risk_reports.scope(stmt, actor)
    path = _region_path(session, actor, region)
    if path:
        stmt = stmt.where(col(RiskReport.region_path).startswith(path, autoescape=True))
    rows = [
        (street, [int(v) for v in values])
        for street, *values in session.execute(stmt.group_by(RiskReport.street_code))
    ]
    sums = [sum(vals[i] for _, vals in rows) for i in range(5)]
    out: dict[str, Any] = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    out.update(_figures(sums))
    if group_by == "street":
        out["streets"] = [
            {"street_code": street, **_figures(vals)}
            for street, vals in sorted(rows, key=lambda r: r[0] or "")
        ]
    return out


def _figures(values: list[int]) -> dict[str, Any]:
    reports, reviewed, late, pending, overdue = values
    return {
        "reports": reports,
        "reviewed": reviewed,
        "review_rate": rate(reviewed, reports),
        "reviewed_late": late,
        "pending": pending,
        "pending_overdue": overdue,
    }
