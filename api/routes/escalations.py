"""POST /api/v1/escalations/run (admin): run the escalation flow once, now or at a given time."""

from typing import Any

from fastapi import APIRouter, Request

from api.deps import AdminUser, NowDep, SessionDep
from closeloop.clock import parse_now
from models.escalation import EscalationRun, EscalationSummary

router = APIRouter(tags=["escalations"])


@router.post("/escalations/run", response_model=EscalationSummary)
def run_escalations(
    request: Request,
    session: SessionDep,
    _admin: AdminUser,
    now: NowDep,
    data: EscalationRun | None = None,
) -> Any:
    at = parse_now(data.now if data else None, default=now)
    # The flow owns its transactions (one per unit). End the request's own (it only checked the
    # token) first: on SQLite an open transaction holds the write lock the flow needs.
    session.commit()
    from workflows.flows import run_job  # imports Prefect: only when a run is asked for

    return run_job("escalation", now=at, engine=request.app.state.engine)
