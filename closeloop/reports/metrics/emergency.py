"""Emergency information (紧急信息30分钟直达) in the metrics, as the Guangming bureau reports it:
紧急信息N件，中位送达时间X分钟，30分钟内送达率Y%.

- emergencies: cases of the scope filed in the period (by the report time T) marked emergency
  at filing (urgent, or an emergency category; closeloop/cases/emergency.py).
- the alert time of one: minutes from filing (reported_at) to the first pushed notice delivered
  (alerted_at, email or robot; notifications/emergency.py), when that came by T.
- emergency_alerted: the emergencies whose first pushed notice was delivered by T.
- emergency_alert_median_minutes: the median of those times (None when none was delivered).
- emergency_alerted_within_30m: emergencies alerted within 30 minutes by T.
- emergency_within_30m_rate: that over all emergencies — one not alerted (no channel, or a
  delivery still failing) counts against it.
The total only: groups carry 0 (emergencies are few, and reported district-wide).
Emergencies are few, so their times are read and the median taken in Python.
"""

from datetime import UTC, datetime
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from closeloop.reports.metrics.queries import Scope
from closeloop.reports.metrics.sql import ratio, rounded
from models.case import Case
from models.metrics import Metrics

GOAL_MINUTES = 30


def figures(session: Session, scope: Scope) -> dict[str, int | float | None]:
    cols: Any = select(col(Case.reported_at), col(Case.alerted_at))
    stmt = scope.cohort(cols).where(col(Case.emergency).is_(True))
    rows = session.execute(stmt).all()
    minutes = [
        (_aware(alerted) - _aware(reported)).total_seconds() / 60
        for reported, alerted in rows
        if alerted is not None and _aware(alerted) <= scope.as_of
    ]
    within = sum(1 for m in minutes if m <= GOAL_MINUTES)
    return {
        "emergencies": len(rows),
        "emergency_alerted": len(minutes),
        "emergency_alert_median_minutes": rounded(median(minutes)) if minutes else None,
        "emergency_alerted_within_30m": within,
        "emergency_within_30m_rate": ratio(within, len(rows)),
    }


def fill(m: Metrics, f: dict[str, int | float | None]) -> None:
    for name, value in f.items():
        setattr(m, name, value)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
