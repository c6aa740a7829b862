"""The deadlines that are not a case's, escalated by the same flow as the cases: a major hazard's
listing or delisting notice not published in time (closeloop/safety/notices.py) and a risk report
not reviewed in time (closeloop/safety/risk_reports.py). Each fires once per (record, level), by
the claims of deadline_fire; the notices go to the outbox like the cases' notices."""

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from closeloop.config import Settings, get_settings
from closeloop.escalation import followups, tasks
from closeloop.safety import notices, risk_reports

Escalate = Callable[..., int]

# name in the summary → the function that escalates what is late of that kind at `now`.
KINDS: dict[str, Escalate] = {
    "notices": notices.escalate_late,
    "risk_reviews": risk_reports.escalate_late,
    "follow_ups": followups.escalate_late,
    "tasks": tasks.escalate_late,  # assisting units' tasks (协办任务)
}


def run(session: Session, *, now: datetime, settings: Settings | None = None) -> dict[str, int]:
    """Escalate every late deadline of each kind in the caller's transaction; the notices sent
    per kind."""
    settings = settings or get_settings()
    return {name: escalate(session, now=now, settings=settings) for name, escalate in KINDS.items()}


def preview(session: Session, *, now: datetime, settings: Settings | None = None) -> dict[str, int]:
    """What `run` would send at `now`, written nowhere: it runs in a savepoint rolled back."""
    savepoint = session.begin_nested()
    try:
        return run(session, now=now, settings=settings)
    finally:
        savepoint.rollback()
