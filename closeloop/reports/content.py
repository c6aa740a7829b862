"""What a report says: the figures, the trend, the rankings and the case and letter lists of one
period and region, gathered once; the renderers (HTML, PDF, XLSX, 通报) only draw it.

Figures come from closeloop.reports.metrics.compute (the one definition of every metric), as of
the report time T (the period's end once it is over, or a stated time); the overdue and listed
lists come from metrics.backlog_list, the very set compute counts, with each case as it stood at
T. The trend's earlier periods are each as of their own end: what their reports said.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.calendar.days import WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.letters.reads import standing_at
from closeloop.letters.render import TYPE_NAME
from closeloop.reports.metrics import major as major_hazards
from closeloop.reports.metrics import safety
from closeloop.reports.metrics import service as metrics
from closeloop.reports.periods import Period, previous
from models.case import Case
from models.enums import CaseKind, CaseState, LetterType
from models.letter import Letter, LetterItem
from models.metrics import GroupMetrics, MajorHazards, Metrics, MetricsReport
from models.org import Region, Unit
from models.types import SHANGHAI

TREND_PERIODS = 5  # previous periods shown beside the current one
LIST_CAP = 50  # cases per list in the HTML, PDF and 通报; the rest are counted ("另有 N 件")
XLSX_CAP = 10_000  # cases per list in the XLSX (the whole set unless it is larger)
LETTER_CAP = 100
KIND_NAME = labels.DOC_KIND
STATE_NAME = labels.DOC_STATE


@dataclass
class CaseList:
    all_rows: list[dict[str, Any]]  # up to XLSX_CAP, by deadline at T
    total: int  # the whole set: the figure the headline gives

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows a printed document lists."""
        return self.all_rows[:LIST_CAP]

    @property
    def more(self) -> int:
        """Cases of the set a printed document does not list."""
        return max(self.total - len(self.rows), 0)

    @property
    def more_in_xlsx(self) -> int:
        return max(self.total - len(self.all_rows), 0)


@dataclass
class Safety:
    """The 安全生产 section: the safety figures of the total and of each street (the metrics'
    own), and the major-hazard statistic — all as of the report time."""

    total: Metrics
    streets: list[GroupMetrics]  # every street in scope, and "未定位" when it has records
    major: MajorHazards

    @property
    def risk_points_total(self) -> int:
        p = self.total.risk_points
        return p.major + p.significant + p.general + p.low


@dataclass
class Content:
    title: str
    region: Region
    period: Period
    as_of: datetime
    generated_at: datetime
    total: Metrics
    # street, community, grid, unit (the communities and grids: their ranking's figures only),
    # and kind (event / hazard: the trend's figures only)
    by: dict[str, MetricsReport]
    # Oldest first, the current period last. The earlier periods carry the trend's figures only
    # (render.TREND_COLUMNS: the cohort counts and rates, the backlog); the current period is
    # `total`, with every figure.
    trend: list[tuple[Period, Metrics]]
    overdue: CaseList
    listed: CaseList
    letters: list[dict[str, Any]]
    letters_total: int
    bulletin_number: str = ""
    safety: Safety | None = None  # None: the region has no safety-production figures
    extra: dict[str, Any] = field(default_factory=dict)

    def bottom(self, group: str) -> list[GroupMetrics]:
        """The groups behind (排名靠后, 建议约谈; ranking.rank decides), worst first."""
        behind = [g for g in self.by[group].groups if g.behind]
        return sorted(behind, key=lambda g: (-(g.rank or 0), g.key or ""))

    def ranked(self, group: str) -> int:
        """How many groups were ranked (enough accepted cases)."""
        return sum(1 for g in self.by[group].groups if g.rank is not None)


KIND_OF_REPORT = {
    "weekly": "调度报告",
    "monthly": "分析报告",
    "quarterly": "小结报告",
    "yearly": "年度总结报告",
}  # 周调度、月分析、季小结


def report_title(region: Region, period: Period) -> str:
    return f"{region.name} {period.label} 安全隐患与网格事件闭环{KIND_OF_REPORT[period.cadence]}"


def gather(
    session: Session,
    *,
    actor: Principal,
    region: Region,
    period: Period,
    now: datetime,
    as_of: datetime | None = None,
) -> Content:
    """The report's content as of `as_of` (default: `now`); `now` is the generation time."""
    as_of = as_of or now

    def compute(
        p: Period,
        group_by: str | None,
        at: datetime,
        *,
        shown_only: bool = False,
        follow_ups: bool = False,
    ) -> MetricsReport:
        return metrics.compute(
            session,
            actor=actor,
            date_from=p.start,
            date_to=p.end,
            now=now,
            group_by=group_by,
            region_code=region.code,
            as_of=at,
            shown_only=shown_only,
            follow_ups=follow_ups,
        )

    # What each part shows is what is computed for it (`shown_only` leaves out the handling
    # times, letters, safety and co-handling; tests/reports/test_dashboard_figures.py holds
    # every figure shown equal to the full computation's): the streets every figure (the
    # headline is their total; the safety section), the units every figure (co-handling); the
    # communities and grids their ranking columns with 回访率 and 满意率; the kinds and the
    # earlier periods the trend's columns (the 通报 says the kinds' counts and closure rate).
    by = {
        "street": compute(period, "street", as_of),
        "community": compute(period, "community", as_of, shown_only=True, follow_ups=True),
        "grid": compute(period, "grid", as_of, shown_only=True, follow_ups=True),
        "unit": compute(period, "unit", as_of),
        "kind": compute(period, "kind", as_of, shown_only=True),
    }
    current = by["street"].total
    trend = [
        (p, compute(p, None, p.end_at, shown_only=True).total)
        for p in previous(period, TREND_PERIODS)
    ]
    trend.append((period, current))
    cal = load_calendar(session)
    lists = {}
    for which in ("overdue", "listed"):
        total, rows = metrics.backlog_list(
            session,
            actor=actor,
            date_from=period.start,
            date_to=period.end,
            now=now,
            which=which,
            limit=XLSX_CAP,
            region_code=region.code,
            as_of=as_of,
        )
        lists[which] = CaseList(_rows(session, rows, as_of, cal), total)
    letters, letters_total = _letters(session, region, period, as_of)
    major = major_hazards.compute(
        session,
        actor=actor,
        date_from=period.start,
        date_to=period.end,
        now=now,
        region_code=region.code,
        as_of=as_of,
    )
    return Content(
        title=report_title(region, period),
        region=region,
        period=period,
        as_of=as_of,
        generated_at=now,
        total=current,
        by=by,
        trend=trend,
        overdue=lists["overdue"],
        listed=lists["listed"],
        letters=letters,
        letters_total=letters_total,
        safety=_safety(current, by["street"].groups, major),
    )


def _safety(total: Metrics, streets: list[GroupMetrics], major: MajorHazards) -> Safety | None:
    """The section when the region has any safety-production figure in this report, else None
    (no empty section)."""
    any_major = major.found or major.rectified_earlier or major.listed or major.delisted
    if not (safety.has_any(total) or any_major or major.open):
        return None
    shown = [g for g in streets if g.key is not None or safety.has_any(g)]
    return Safety(total=total, streets=shown, major=major)


def _rows(
    session: Session, found: list[tuple[Any, ...]], as_of: datetime, cal: WorkCalendar
) -> list[dict[str, Any]]:
    """The list rows: each case as it stood at the report time (state, unit, deadline, listing
    at T; days overdue counted in working days up to T)."""
    names = _names(session, [row[0] for row in found], {row[4] for row in found if row[4]})
    rows = []
    for i, (case, state, due_at, dispatched_at, unit_code, listed) in enumerate(found, start=1):
        days = 0
        if due_at is not None and as_of > due_at:
            days = cal.working_days_between(cal.local_date(due_at), cal.local_date(as_of))
        rows.append(
            {
                "seq": i,
                "number": case.number,
                "kind": KIND_NAME.get(CaseKind(case.kind), str(case.kind)),
                "major": case.grade == "major",
                "title": case.title,
                "place": case.address or names.get(case.grid_code or "", "") or "—",
                "street": names.get(case.street_code or "", "—"),
                "unit": names.get(f"unit:{unit_code}", "—"),
                "state": STATE_NAME.get(CaseState(state), str(state)),
                "dispatched": cal.local_date(dispatched_at) if dispatched_at else None,
                "due": cal.local_date(due_at) if due_at else None,
                "days_overdue": days,
                "listed": bool(listed),
            }
        )
    return rows


def _names(session: Session, cases: list[Case], units: set[str]) -> dict[str, str]:
    codes = {c for case in cases for c in (case.grid_code, case.street_code) if c}
    names: dict[str, str] = {}
    if codes:
        for region in session.exec(select(Region).where(col(Region.code).in_(codes))):
            names[region.code] = region.name
    if units:
        for unit in session.exec(select(Unit).where(col(Unit.code).in_(units))):
            names[f"unit:{unit.code}"] = unit.name
    return names


def _letters(
    session: Session, region: Region, period: Period, as_of: datetime
) -> tuple[list[dict[str, Any]], int]:
    """Letters issued in the period, by the report time, about cases in the region (newest
    last): the letters the figures count (queries.letter_counts)."""
    covered = (
        select(LetterItem.letter_id)
        .join(Case, col(Case.id) == LetterItem.case_id)
        .where(col(Case.region_path).startswith(region.path, autoescape=True))
    )
    stmt = select(Letter).where(
        col(Letter.id).in_(covered),
        col(Letter.issued_at) >= period.start_at,
        col(Letter.issued_at) < period.end_at,
        standing_at(as_of),
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
