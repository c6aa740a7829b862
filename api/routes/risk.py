"""The risk register (风险分级管控): risk points, risk reports and their review, imports, figures.
Every rule is in closeloop/safety/risk_*.py; these routes only call them."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile, status

from api.deps import CurrentUser, NowDep, SessionDep
from api.routes.imports import ImportSummary
from api.uploads import check_ledger_size
from closeloop.safety import risk_figures, risk_import, risk_points, risk_reports
from models.enums import RiskLevel, RiskReportState
from models.risk import (
    RiskPointCreate,
    RiskPointPublic,
    RiskPointUpdate,
    RiskReport,
    RiskReportCreate,
    RiskReportPublic,
    RiskReview,
)
from models.types import SHANGHAI

router = APIRouter(tags=["risk register"])
Code = Annotated[str, Query(max_length=40)]


@router.post("/risk-points", status_code=status.HTTP_201_CREATED, response_model=RiskPointPublic)
def create_point(session: SessionDep, user: CurrentUser, now: NowDep, data: RiskPointCreate) -> Any:
    return risk_points.create_point(session, actor=user, data=data, now=now)


@router.get("/risk-points", response_model=list[RiskPointPublic])
def list_points(
    session: SessionDep,
    user: CurrentUser,
    enterprise_code: Code | None = None,
    level: RiskLevel | None = None,
    street_code: Code | None = None,
    region: Code | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    """Most severe first; at most 500 (narrow with the filters)."""
    return risk_points.list_points(
        session,
        actor=user,
        enterprise_code=enterprise_code,
        level=level,
        street_code=street_code,
        region=region,
        active=active,
        q=q,
    )


@router.get("/risk-points/figures")
def point_figures(
    session: SessionDep,
    user: CurrentUser,
    region: Code | None = None,
    group_by: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    """Active risk points by level; with group_by=street, the street × level table."""
    return risk_figures.points_by_level(session, actor=user, region=region, group_by=group_by)


@router.post("/risk-points/import", response_model=ImportSummary)
def import_points(session: SessionDep, user: CurrentUser, now: NowDep, file: UploadFile) -> Any:
    """CSV/XLSX with columns code, enterprise_code, name, level, measures, unit_code."""
    check_ledger_size(file)
    return risk_import.import_points(
        session, actor=user, fileobj=file.file, filename=file.filename or "", now=now
    )


@router.get("/risk-points/{code}", response_model=RiskPointPublic)
def get_point(session: SessionDep, user: CurrentUser, code: str) -> Any:
    return risk_points.get_point(session, actor=user, code=code)


@router.patch("/risk-points/{code}", response_model=RiskPointPublic)
def update_point(
    session: SessionDep, user: CurrentUser, now: NowDep, code: str, data: RiskPointUpdate
) -> Any:
    return risk_points.update_point(session, actor=user, code=code, data=data, now=now)


def public(report: RiskReport, now: datetime) -> RiskReportPublic:
    out = RiskReportPublic.model_validate(report, from_attributes=True)
    out.overdue = risk_reports.is_overdue(report, now)
    return out


@router.post("/risk-reports", status_code=status.HTTP_201_CREATED, response_model=RiskReportPublic)
def create_report(
    session: SessionDep, user: CurrentUser, now: NowDep, data: RiskReportCreate
) -> Any:
    return public(risk_reports.create_report(session, actor=user, data=data, now=now), now)


@router.get("/risk-reports", response_model=list[RiskReportPublic])
def list_reports(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    state: RiskReportState | None = None,
    street_code: Code | None = None,
    enterprise_code: Code | None = None,
    overdue: bool = False,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
) -> Any:
    """Pending first (the nearest deadline first); `from`/`to`: Shanghai dates reported."""
    start = datetime.combine(from_, time(0), tzinfo=SHANGHAI) if from_ else None
    end = datetime.combine(to + timedelta(days=1), time(0), tzinfo=SHANGHAI) if to else None
    rows = risk_reports.list_reports(
        session,
        actor=user,
        now=now,
        state=state,
        street_code=street_code,
        enterprise_code=enterprise_code,
        overdue=overdue,
        reported_from=start,
        reported_to=end,
    )
    return [public(r, now) for r in rows]


@router.get("/risk-reports/figures")
def report_figures(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    from_: Annotated[date, Query(alias="from")],
    to: date,
    region: Code | None = None,
    group_by: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    """Reports, reviewed, review_rate (审核率), reviewed late and pending overdue."""
    return risk_figures.report_figures(
        session,
        actor=user,
        date_from=from_,
        date_to=to,
        now=now,
        region=region,
        group_by=group_by,
    )


@router.post("/risk-reports/import", response_model=ImportSummary)
def import_reports(session: SessionDep, user: CurrentUser, now: NowDep, file: UploadFile) -> Any:
    """CSV/XLSX: number, risk_point_code, enterprise_code, level, reported_at, reviewed_at,
    decision (and optionally name, content, reason)."""
    check_ledger_size(file)
    return risk_import.import_reports(
        session, actor=user, fileobj=file.file, filename=file.filename or "", now=now
    )


@router.get("/risk-reports/{report_id}", response_model=RiskReportPublic)
def get_report(session: SessionDep, user: CurrentUser, now: NowDep, report_id: int) -> Any:
    return public(risk_reports.get_report(session, actor=user, report_id=report_id), now)


@router.post("/risk-reports/{report_id}/review", response_model=RiskReportPublic)
def review_report(
    session: SessionDep, user: CurrentUser, now: NowDep, report_id: int, data: RiskReview
) -> Any:
    return public(
        risk_reports.review(session, actor=user, report_id=report_id, data=data, now=now), now
    )
