"""POST /api/v1/escalations/run (admin): run the escalation flow once, now or at a given time,
or (`"dry_run": true`) say what such a run would fire without writing anything."""

from typing import Any

from fastapi import APIRouter, Request

from api.deps import AdminUser, NowDep, SessionDep
from closeloop.clock import parse_now
from closeloop.escalation import service as escalation
from models.escalation import EscalationRun, EscalationSummary

router = APIRouter(tags=["escalations"])


@router.post("/escalations/run", response_model=EscalationSummary, response_model_exclude_none=True)
def run_escalations(
    request: Request,
    session: SessionDep,
    _admin: AdminUser,
    now: NowDep,
    data: EscalationRun | None = None,
) -> Any:
    at = parse_now(data.now if data else None, default=now)
    dry_run = bool(data and data.dry_run)
    escalation.check_now(at, real_now=now, dry_run=dry_run)
    if dry_run:
        return escalation.preview(session, now=at)
    # The flow owns its transactions (one per unit). End the request's own (it only checked the
    # token) first: on SQLite an open transaction holds the write lock the flow needs.
    session.commit()
    from workflows.flows import run_job  # imports Prefect: only when a run is asked for

    return run_job("escalation", now=at, engine=request.app.state.engine)
