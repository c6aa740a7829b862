"""GET /api/v1/reports/metrics: the metrics of DESIGN.md for any period, grouped and ranked;
GET /api/v1/reports/major-hazards: the major-hazard statistic of a period."""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.clock import local_today
from closeloop.reports.metrics import major, ranking
from closeloop.reports.metrics import service as metrics
from models.enums import CaseKind
from models.metrics import MajorHazards, MetricsReport

router = APIRouter(tags=["reports"])
GroupBy = Literal["unit", "street", "community", "grid", "category", "kind"]


@router.get(
    "/reports/metrics",
    response_model=MetricsReport,
    summary="统计指标 / metrics for a period, by unit, street, community, grid, category or kind",
)
def get_metrics(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    date_from: Annotated[
        date | None, Query(alias="from", description="YYYY-MM-DD; default: the first of this month")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="YYYY-MM-DD, inclusive; default: today")
    ] = None,
    group_by: GroupBy | None = None,
    kind: CaseKind | None = None,
    region_code: Annotated[str | None, Query(max_length=40)] = None,
    as_of: Annotated[
        datetime | None, Query(description="the report time, ISO 8601 with an offset; default: now")
    ] = None,
    weights: Annotated[
        str | None,
        Query(
            max_length=300,
            description="e.g. on_time_closure_rate"
            "=40,closure_rate=30,no_rework=20,sign_on_time_rate=10",
        ),
    ] = None,
) -> object:
    date_from, date_to = _period(date_from, date_to, now)
    return metrics.compute(
        session,
        actor=user,
        date_from=date_from,
        date_to=date_to,
        now=now,
        group_by=group_by,
        kind=kind,
        region_code=region_code,
        as_of=as_of,
        weights=ranking.parse_weights(weights) if weights is not None else None,
    )


@router.get(
    "/reports/major-hazards",
    response_model=MajorHazards,
    summary="重大事故隐患统计 / major hazards of a period: found, rectified, listed, delisted, open",
)
def get_major_hazards(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    date_from: Annotated[
        date | None, Query(alias="from", description="YYYY-MM-DD; default: the first of this month")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="YYYY-MM-DD, inclusive; default: today")
    ] = None,
    region_code: Annotated[str | None, Query(max_length=40)] = None,
    as_of: Annotated[
        datetime | None, Query(description="the report time, ISO 8601 with an offset; default: now")
    ] = None,
) -> object:
    date_from, date_to = _period(date_from, date_to, now)
    return major.compute(
        session,
        actor=user,
        date_from=date_from,
        date_to=date_to,
        now=now,
        region_code=region_code,
        as_of=as_of,
    )


def _period(date_from: date | None, date_to: date | None, now: datetime) -> tuple[date, date]:
    """The period asked for; by default from the first of this month (Shanghai) to today."""
    today = local_today(now)
    return date_from or today.replace(day=1), date_to or today
