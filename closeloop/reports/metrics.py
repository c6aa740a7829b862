"""DESIGN.md's metrics, computed in SQL with aggregates. (Being written: interface first.)"""

from datetime import date, datetime

from sqlmodel import Session

from closeloop.policy import Principal
from models.metrics import MetricsReport

GROUP_BY = ("unit", "street", "community", "grid", "category", "kind")
DEFAULT_WEIGHTS: dict[str, float] = {
    "on_time_closure_rate": 40.0,
    "closure_rate": 30.0,
    "no_rework": 20.0,  # 1 − rework_rate
    "sign_on_time_rate": 10.0,
}


def compute(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    group_by: str | None = None,
    kind: str | None = None,
    region_code: str | None = None,
    as_of: datetime | None = None,
    weights: dict[str, float] | None = None,
) -> MetricsReport:
    raise NotImplementedError
