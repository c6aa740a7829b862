"""What a report says: the figures, the trend, the rankings and the case and letter lists of one
period and region, gathered once; the renderers (HTML, PDF, XLSX, 通报) only draw it.

Figures come from closeloop.reports.metrics.compute (the one definition of every metric); the
overdue list uses services.cases.overdue_clause and jurisdiction, like every other list.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from closeloop.calendar import WorkCalendar
from closeloop.policy import Principal
from closeloop.reports import metrics
from closeloop.reports.periods import Period, previous
from closeloop.services.cases import jurisdiction, overdue_clause
from closeloop.services.deadlines import load_calendar
from closeloop.services.letter_render import TYPE_NAME
from models.case import Case
from models.enums import CaseKind, CaseState, LetterType
from models.letter import Letter, LetterItem
from models.metrics import GroupMetrics, Metrics, MetricsReport
from models.org import Region, Unit
from models.types import SHANGHAI

GROUPS = ("street", "community", "grid", "unit")
GROUP_NAME = {"street": "街道", "community": "社区", "grid": "网格", "unit": "处置单位"}
TREND_PERIODS = 5  # previous periods shown beside the current one
LIST_CAP = 50  # cases per list; the rest are counted ("另有 N 件")
LETTER_CAP = 100
BOTTOM = 3  # lowest performers proposed for a talk (建议约谈)
KIND_NAME = {CaseKind.event: "事件", CaseKind.hazard: "隐患", CaseKind.letter: "督办件"}
STATE_NAME = {
    CaseState.reported: "待派遣",
    CaseState.dispatched: "待签收",
    CaseState.rectifying: "整改中",
    CaseState.suspended: "已挂起",
    CaseState.verifying: "待核查",
    CaseState.closed: "已办结",
    CaseState.cancelled: "不予立案",
}


@dataclass
class CaseList:
    rows: list[dict[str, Any]]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


@dataclass
class Content:
    title: str
    region: Region
    period: Period
    as_of: datetime
    generated_at: datetime
    total: Metrics
    by: dict[str, MetricsReport]  # street, community, grid, unit, kind (event / hazard)
    trend: list[tuple[Period, Metrics]]  # oldest first, the current period last
    overdue: CaseList
    listed: CaseList
    letters: list[dict[str, Any]]
    letters_total: int
    bulletin_number: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def bottom(self, group: str, n: int = BOTTOM) -> list[GroupMetrics]:
        """The n lowest-ranked groups (worst first); unranked groups are left out."""
        ranked = [g for g in self.by[group].groups if g.rank is not None]
        ranked.sort(key=lambda g: (-(g.rank or 0), g.name))
        return ranked[:n] if len(ranked) > n else ranked[: max(len(ranked) - 1, 0)]


KIND_OF_REPORT = {"weekly": "调度报告", "monthly": "分析报告", "quarterly": "小结报告",
                  "yearly": "年度总结报告"}  # 周调度、月分析、季小结 fmt: skip


def report_title(region: Region, period: Period) -> str:
    return f"{region.name} {period.label} 安全隐患与网格事件闭环{KIND_OF_REPORT[period.cadence]}"


def gather(
    session: Session,
    *,
    actor: Principal,
    region: Region,
    period: Period,
    now: datetime,
) -> Content:
    as_of = now

    def compute(p: Period, group_by: str | None) -> MetricsReport:
        return metrics.compute(
            session,
            actor=actor,
            date_from=p.start,
            date_to=p.end,
            now=now,
            group_by=group_by,
            region_code=region.code,
            as_of=as_of,
        )

    by = {group: compute(period, group) for group in (*GROUPS, "kind")}
    current = by["street"].total
    trend = [(p, compute(p, None).total) for p in previous(period, TREND_PERIODS)]
    trend.append((period, current))
    cal = load_calendar(session)
    overdue = _cases(session, actor, region, overdue_clause(as_of), as_of, cal)
    listed = _cases(
        session,
        actor,
        region,
        col(Case.listed).is_(True) & col(Case.state).in_(list(CaseState.open_states())),
        as_of,
        cal,
    )
    letters, letters_total = _letters(session, region, period)
    return Content(
        title=report_title(region, period),
        region=region,
        period=period,
        as_of=as_of,
        generated_at=now,
        total=current,
        by=by,
        trend=trend,
        overdue=overdue,
        listed=listed,
        letters=letters,
        letters_total=letters_total,
    )


def _cases(
    session: Session,
    actor: Principal,
    region: Region,
    where: Any,
    as_of: datetime,
    cal: WorkCalendar,
) -> CaseList:
    stmt = jurisdiction(select(Case), actor).where(
        where,
        col(Case.region_path).startswith(region.path, autoescape=True),
        col(Case.kind).in_([CaseKind.event, CaseKind.hazard]),
    )
    count = select(func.count()).select_from(stmt.subquery())
    total = int(session.exec(count).one())
    cases = list(
        session.exec(
            stmt.order_by(col(Case.due_at).asc().nulls_last(), col(Case.id)).limit(LIST_CAP)
        )
    )
    names = _names(session, cases)
    rows = []
    for i, case in enumerate(cases, start=1):
        days = 0
        if case.due_at is not None and as_of > case.due_at:
            days = cal.working_days_between(cal.local_date(case.due_at), cal.local_date(as_of))
        rows.append(
            {
                "seq": i,
                "number": case.number,
                "kind": KIND_NAME.get(CaseKind(case.kind), str(case.kind)),
                "major": case.grade == "major",
                "title": case.title,
                "place": case.address or names.get(case.grid_code or "", "") or "—",
                "street": names.get(case.street_code or "", "—"),
                "unit": names.get(f"unit:{case.unit_code}", "—"),
                "state": STATE_NAME.get(CaseState(case.state), str(case.state)),
                "dispatched": cal.local_date(case.dispatched_at) if case.dispatched_at else None,
                "due": cal.local_date(case.due_at) if case.due_at else None,
                "days_overdue": days,
                "listed": case.listed,
            }
        )
    return CaseList(rows, total)


def _names(session: Session, cases: list[Case]) -> dict[str, str]:
    codes = {c for case in cases for c in (case.grid_code, case.street_code) if c}
    units = {case.unit_code for case in cases if case.unit_code}
    names: dict[str, str] = {}
    if codes:
        for region in session.exec(select(Region).where(col(Region.code).in_(codes))):
            names[region.code] = region.name
    if units:
        for unit in session.exec(select(Unit).where(col(Unit.code).in_(units))):
            names[f"unit:{unit.code}"] = unit.name
    return names


def _letters(session: Session, region: Region, period: Period) -> tuple[list[dict[str, Any]], int]:
    """Letters issued in the period about cases in the region (newest last)."""
    covered = (
        select(LetterItem.letter_id)
        .join(Case, col(Case.id) == LetterItem.case_id)
        .where(col(Case.region_path).startswith(region.path, autoescape=True))
    )
    stmt = select(Letter).where(
        col(Letter.id).in_(covered),
        col(Letter.issued_at) >= period.start_at,
        col(Letter.issued_at) < period.end_at,
    )
    total = int(session.exec(select(func.count()).select_from(stmt.subquery())).one())
    letters = list(
        session.exec(stmt.order_by(col(Letter.issued_at), col(Letter.id)).limit(LETTER_CAP))
    )
    counts: dict[int, int] = {}
    if letters:
        ids = [letter.id for letter in letters]
        rows = session.exec(
            select(LetterItem.letter_id, func.count())
            .where(col(LetterItem.letter_id).in_(ids))
            .group_by(col(LetterItem.letter_id))
        )
        counts = {int(letter_id): int(n) for letter_id, n in rows}
    units = {u.code: u.name for u in session.exec(select(Unit))}
    out = []
    for i, letter in enumerate(letters, start=1):
        out.append(
            {
                "seq": i,
                "number": letter.number,
                "type": TYPE_NAME.get(LetterType(letter.type), str(letter.type)),
                "title": letter.title,
                "unit": units.get(letter.unit_code, letter.unit_code),
                "issued": letter.issued_at.astimezone(SHANGHAI).date(),
                "cases": counts.get(letter.id or 0, 0),
            }
        )
    return out, total
