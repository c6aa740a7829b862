"""Risk reports (风险信息上报) and their review (审核).

A report proposes a new risk point at an enterprise or place, or a change (level, measures) to an
existing one. Grid workers (reporters) report for enterprises in their grid — an enterprise's own
contact reports through a reporter account of its grid — and dispatchers for their region. A
supervisor within whose region the enterprise lies reviews it within `risk_review_days` working
days: approving applies it to the register, rejecting needs a reason. A point has at most one
report pending at a time. A review still pending past its deadline is escalated by `escalate_late`.
"""

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal, in_region, require_role
from closeloop.calendar.days import WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.cases import numbering
from closeloop.config import Settings, get_settings
from closeloop.db import id_chunks
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.safety import fires, risk_points
from closeloop.text import Msg, local_minute, local_year
from models.enums import ReviewDecision, RiskReportState, Role
from models.risk import RiskPoint, RiskReport, RiskReportCreate, RiskReview
from notifications import outbox

REPORTERS = (Role.reporter, Role.dispatcher)
REVIEWERS = (Role.supervisor,)
SUBJECT = "risk_report"
LATE = "review_overdue"  # past the review deadline: the region's supervisors are told
SUPERVISE = "review_supervision"  # still pending N more working days: the district's (督办)
MAX_LIST = 500


def next_number(session: Session, year: int) -> str:
    """FX2026000001: per Shanghai year, without gaps, skipping numbers an import already used."""
    while True:
        number = f"FX{year}{numbering.next_value(session, f'risk_report:{year}'):06d}"
        if session.exec(select(RiskReport.id).where(RiskReport.number == number)).first() is None:
            return number


def review_due(cal: WorkCalendar, reported_at: datetime, settings: Settings) -> datetime:
    return cal.due_after(reported_at, settings.risk_review_days)[0]


def scope(stmt: Any, actor: Principal) -> Any:
    """Reports `actor` may see: a reporter their own, a region's staff those in it, the admin all;
    a unit's handlers none (their unit's points are on the register)."""
    if actor.role == Role.reporter:
        return stmt.where(col(RiskReport.reported_by) == (actor.id or -1))
    return risk_points.scope(stmt, actor, RiskReport)


def may_report(actor: Principal) -> bool:
    """Whether the actor's role files risk reports (the jurisdiction is checked per enterprise)."""
    return actor.role in REPORTERS


def create_report(
    session: Session,
    *,
    actor: Principal,
    data: RiskReportCreate,
    now: datetime,
    settings: Settings | None = None,
) -> RiskReport:
    settings = settings or get_settings()
    require_role(actor, *REPORTERS)
    point: RiskPoint | None = None
    if data.risk_point_code:
        point = session.get(RiskPoint, data.risk_point_code)
        if point is None:
            raise Invalid(
                Msg(
                    f"风险点位 {data.risk_point_code} 不存在",
                    f"risk_point_code {data.risk_point_code!r} does not exist",
                )
            )
        if data.enterprise_code and data.enterprise_code != point.enterprise_code:
            raise Invalid(
                Msg(
                    f"风险点位 {point.code} 不属于企业/场所 {data.enterprise_code}",
                    f"risk point {point.code} belongs to {point.enterprise_code}, "
                    f"not {data.enterprise_code}",
                )
            )
        if not point.active:
            raise Conflict(
                Msg(f"风险点位 {point.code} 已停用", f"risk point {point.code} is inactive")
            )
        waiting = session.exec(
            select(RiskReport.number).where(
                RiskReport.risk_point_code == point.code,
                RiskReport.state == RiskReportState.pending,
            )
        ).first()
        if waiting is not None:
            raise Conflict(
                Msg(
                    f"风险点位 {point.code} 已有待审核的上报 {waiting}",
                    f"risk point {point.code} already has report {waiting} waiting for review",
                )
            )
    elif not data.enterprise_code or not (data.name or "").strip():
        raise Invalid(
            Msg(
                "请填写风险点位，或填写企业/场所和新风险点位名称",
                "give risk_point_code (a change to a point), or enterprise_code and name "
                "(a new point)",
            )
        )
    ent = risk_points.enterprise_for(
        session, actor, point.enterprise_code if point else data.enterprise_code
    )
    report = RiskReport(
        number=next_number(session, local_year(now)),
        risk_point_code=point.code if point else None,
        enterprise_code=ent.code,
        name=point.name if point else (data.name or "").strip(),
        level=data.level,
        content=data.content.strip(),
        measures=(data.measures or "").strip(),
        street_code=ent.street_code,
        region_path=ent.region_path,
        reported_by=actor.id,
        reported_at=now,
        review_due_at=review_due(load_calendar(session, settings), now, settings),
        state=RiskReportState.pending,
    )
    session.add(report)
    session.flush()
    return report


def get_report(session: Session, *, actor: Principal, report_id: int) -> RiskReport:
    row = session.exec(scope(select(RiskReport).where(RiskReport.id == report_id), actor)).first()
    if row is None:
        if session.get(RiskReport, report_id) is not None:
            raise Forbidden(
                Msg("该风险上报不在您的管辖范围内", "that risk report is outside your jurisdiction")
            )
        raise NotFound(Msg(f"风险上报 {report_id} 不存在", f"risk report {report_id} not found"))
    return row


def review(
    session: Session, *, actor: Principal, report_id: int, data: RiskReview, now: datetime
) -> RiskReport:
    """Approve (the register changes with it) or reject (a reason is required)."""
    require_role(actor, *REVIEWERS)
    report = get_report(session, actor=actor, report_id=report_id)
    if not in_region(actor, report.region_path):
        raise Forbidden(Msg("该风险上报不在您的管辖范围内", "that report is outside your region"))
    stmt = select(RiskReport).where(RiskReport.id == report_id).with_for_update()
    report = session.exec(stmt.execution_options(populate_existing=True)).one()
    if report.state != RiskReportState.pending:
        raise Conflict(
            Msg(
                f"风险上报 {report.number} 已审核（{report.state}），不能再审核",
                f"risk report {report.number} was already reviewed ({report.state})",
            )
        )
    reason = data.reason.strip()
    if data.decision == ReviewDecision.reject and not reason:
        raise Invalid(Msg("退回须填写原因", "reason: a rejection needs a reason"))
    if data.decision == ReviewDecision.approve:
        _apply(session, report, now)
    report.state = (
        RiskReportState.approved
        if data.decision == ReviewDecision.approve
        else RiskReportState.rejected
    )
    report.reviewed_by, report.reviewed_at, report.reason = actor.id, now, reason
    session.add(report)
    session.flush()
    return report


def _apply(session: Session, report: RiskReport, now: datetime) -> None:
    """An approved report's effect on the register: a new point, or the point's new grade."""
    if report.risk_point_code is None:
        code = risk_points.new_code(session)
        session.add(
            RiskPoint(
                code=code,
                enterprise_code=report.enterprise_code,
                name=report.name,
                level=report.level,
                measures=report.measures,
                street_code=report.street_code,
                region_path=report.region_path,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        report.risk_point_code = code
        return
    point = session.get(RiskPoint, report.risk_point_code)
    assert point is not None  # a foreign key
    point.level = report.level
    if report.measures:
        point.measures = report.measures
    point.updated_at = now
    session.add(point)


def list_reports(
    session: Session,
    *,
    actor: Principal,
    now: datetime,
    state: RiskReportState | None = None,
    street_code: str | None = None,
    enterprise_code: str | None = None,
    overdue: bool = False,
    reported_from: datetime | None = None,
    reported_to: datetime | None = None,
    limit: int = MAX_LIST,
) -> list[RiskReport]:
    """Pending first (the oldest deadline first), then the latest reviewed."""
    stmt = scope(select(RiskReport), actor)
    if state is not None:
        stmt = stmt.where(RiskReport.state == state)
    if street_code:
        stmt = stmt.where(RiskReport.street_code == street_code)
    if enterprise_code:
        stmt = stmt.where(RiskReport.enterprise_code == enterprise_code)
    if overdue:
        stmt = stmt.where(RiskReport.state == RiskReportState.pending)
        stmt = stmt.where(col(RiskReport.review_due_at) < now)
    if reported_from is not None:
        stmt = stmt.where(col(RiskReport.reported_at) >= reported_from)
    if reported_to is not None:
        stmt = stmt.where(col(RiskReport.reported_at) < reported_to)
    pending_first = col(RiskReport.state) != RiskReportState.pending
    stmt = stmt.order_by(
        pending_first, col(RiskReport.review_due_at), col(RiskReport.reported_at).desc()
    )
    return list(session.exec(stmt.limit(limit)))


def is_overdue(report: RiskReport, now: datetime) -> bool:
    return report.state == RiskReportState.pending and report.review_due_at < now


def escalate_late(session: Session, *, now: datetime, settings: Settings | None = None) -> int:
    """Notices about reviews running late, each (report, level) once however often this runs:
    past the deadline, to the supervisors covering the enterprise's place; still pending
    `risk_escalate_days` working days later, a 督办 notice to the district's supervisors.
    Returns the number of notices claimed."""
    settings = settings or get_settings()
    # A review never made stays late for good (an imported ledger can bring thousands): each
    # run reads them with their claims in one statement and loads only the reports told now.
    due_at, told = fires.with_claims(
        session,
        select(col(RiskReport.id), col(RiskReport.review_due_at))
        .where(RiskReport.state == RiskReportState.pending)
        .where(col(RiskReport.review_due_at) < now),
        subject=SUBJECT,
        id_column=col(RiskReport.id),
    )
    unsupervised = [i for i in sorted(due_at) if (i, SUPERVISE) not in told]
    supervise = []
    if unsupervised:  # the calendar only when a report may be due for 督办
        cal = load_calendar(session, settings)
        days = settings.risk_escalate_days
        supervise = [i for i in unsupervised if cal.due_after(due_at[i], days)[0] < now]
    levels = {LATE: [i for i in sorted(due_at) if (i, LATE) not in told], SUPERVISE: supervise}
    won = {
        level: fires.claim(session, subject=SUBJECT, ids=ids, level=level, now=now)
        for level, ids in levels.items()
    }
    told_now = sorted(set().union(*won.values()))
    reports = {
        r.id: r
        for where in id_chunks(session, col(RiskReport.id), told_now)
        for r in session.exec(select(RiskReport).where(where))
    }
    for level in (LATE, SUPERVISE):
        for report_id in sorted(won[level]):
            _notify(session, reports[report_id], level, now)
    return sum(len(ids) for ids in won.values())


def _notify(session: Session, report: RiskReport, level: str, now: datetime) -> None:
    due = local_minute(report.review_due_at)
    if level == LATE:
        subject = Msg(
            f"风险上报审核超期：{report.number}", f"Risk report review late: {report.number}"
        )
        region = report.region_path
    else:
        subject = Msg(
            f"督办：风险上报 {report.number} 审核严重超期",
            f"督办 (supervision): risk report {report.number} is long overdue for review",
        )
        parts = [p for p in report.region_path.split("/") if p]
        region = f"/{parts[0]}/" if parts else "/"
    body = Msg(
        f"{report.enterprise_code}「{report.name}」的风险上报 {report.number} 应于 {due} 前审核，"
        "仍未审核。",
        f"Risk report {report.number} ({report.enterprise_code}, {report.name}) was due for "
        f"review by {due} (Asia/Shanghai) and is still pending.",
    )
    outbox.notify_region_role(
        session,
        region_path=region,
        roles=REVIEWERS,
        event=f"risk_{level}",
        subject=subject,
        body=body,
        now=now,
        key=f"risk:{report.id}:{level}",
        payload={"risk_report_id": report.id, "number": report.number, "level": level},
    )
