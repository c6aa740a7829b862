"""Inspection figures for a period (Shanghai dates) and a region: inspections, enterprises and
places inspected (distinct), unannounced visits (四不两直), hazards found and hazards per
inspection, by street or by industry, with the total (distinct enterprises are counted once in
the total even when inspected in two groups' rows)."""

from datetime import date
from typing import Any, Literal

from sqlalchemy import Integer, case, func
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.errors import Forbidden, Invalid
from closeloop.safety.inspection_reads import day_bounds
from closeloop.text import Msg
from models.enums import RegionLevel, Role
from models.inspection import FigureRow, Inspection, InspectionFigures
from models.org import Region

GroupBy = Literal["street", "industry"]
MAX_DAYS = 3660
NO_INDUSTRY = "（未填行业）"


def _scope_path(session: Session, actor: Principal, region_code: str | None) -> str | None:
    if actor.role not in (Role.admin, Role.dispatcher, Role.supervisor):
        raise Forbidden(
            Msg(
                "检查统计需要受理派遣、督办或管理员角色",
                "inspection figures need the dispatcher, supervisor or admin role",
            )
        )
    own = None if actor.role == Role.admin else (actor.region_path or "\x00")
    if not region_code:
        return own
    region = session.get(Region, region_code)
    if region is None:
        raise Invalid(
            Msg(f"区域 {region_code} 不存在", f"region_code {region_code!r} does not exist")
        )
    if own is not None and not region.path.startswith(own):
        raise Forbidden(Msg("该区域不在您的管辖范围内", "that region is outside your jurisdiction"))
    return region.path


def _counts(key: Any | None) -> list[Any]:
    columns = [
        func.count(col(Inspection.id)),
        func.count(func.distinct(Inspection.enterprise_code)),
        func.coalesce(func.sum(case((col(Inspection.unannounced).is_(True), 1), else_=0)), 0),
        func.coalesce(func.sum(Inspection.hazards_found), 0).cast(Integer),
    ]
    return ([key] if key is not None else []) + columns


def _row(key: str | None, name: str, counts: tuple[int, ...]) -> FigureRow:
    inspections, enterprises, unannounced, hazards = (int(v or 0) for v in counts)
    return FigureRow(
        key=key,
        name=name,
        inspections=inspections,
        enterprises=enterprises,
        unannounced=unannounced,
        hazards_found=hazards,
        hazards_per_inspection=round(hazards / inspections, 2) if inspections else None,
    )


def figures(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    group_by: GroupBy = "street",
    region_code: str | None = None,
) -> InspectionFigures:
    if group_by not in ("street", "industry"):
        raise Invalid(Msg("group_by 只能是 street 或 industry", "group_by is street or industry"))
    if (date_to - date_from).days > MAX_DAYS:
        raise Invalid(Msg(f"统计区间最长 {MAX_DAYS} 天", f"a period spans at most {MAX_DAYS} days"))
    path = _scope_path(session, actor, region_code)
    start, end = day_bounds(date_from, date_to)
    assert start is not None and end is not None

    def scoped(stmt: Any) -> Any:
        stmt = stmt.where(Inspection.at >= start, Inspection.at < end)
        if path is not None:
            stmt = stmt.where(col(Inspection.region_path).startswith(path, autoescape=True))
        return stmt

    key = Inspection.street_code if group_by == "street" else Inspection.industry
    grouped = {
        r[0]: tuple(r[1:])
        for r in session.exec(scoped(select(*_counts(key))).group_by(key))  # type: ignore[call-overload]
    }
    total = session.exec(scoped(select(*_counts(None)))).one()  # type: ignore[call-overload]
    rows = []
    if group_by == "street":
        streets = select(Region).where(Region.level == RegionLevel.street)
        if path is not None:
            # The streets inside the scope, or the one street holding a smaller scope.
            streets = streets.where(
                col(Region.path).startswith(path, autoescape=True)
                | col(Region.code).in_([c for c in path.split("/") if c])
            )
        names = {r.code: r.name for r in session.exec(streets.order_by(col(Region.code)))}
        for code in sorted(set(names) | {k for k in grouped if k is not None}):
            rows.append(_row(code, names.get(code, code), grouped.get(code, (0, 0, 0, 0))))
        if None in grouped:
            rows.append(_row(None, "（无街道）", grouped[None]))
    else:
        for industry in sorted(grouped, key=lambda k: k or ""):
            rows.append(_row(industry, industry or NO_INDUSTRY, grouped[industry]))
    return InspectionFigures(
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        region_code=region_code,
        rows=rows,
        total=_row(None, "合计", tuple(total)),
    )
