"""POST /api/v1/escalations/run (admin): run the escalation flow once, now or at a given time."""

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminUser, NowDep, SessionDep
from workflows.jobs import parse_now

router = APIRouter(tags=["escalations"])


class EscalationRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: str | None = Field(
        default=None,
        max_length=64,
        description="ISO 8601; without an offset Asia/Shanghai; null: the current time",
        examples=["2025-10-09T10:00:00+08:00"],
    )


class LetterCounts(BaseModel):
    reminder: int
    supervision: int
    warning: int


class EscalationSummary(BaseModel):
    checked: int
    notifications: int
    letters: LetterCounts
    listed: int


@router.post("/escalations/run", response_model=EscalationSummary)
def run_escalations(
    request: Request, session: SessionDep, _admin: AdminUser, now: NowDep,
    data: EscalationRun | None = None,
) -> Any:
    at = parse_now(data.now if data else None, default=now)
    # The flow owns its transactions (one per unit). End the request's own (it only checked the
    # token) first: on SQLite an open transaction holds the write lock the flow needs.
    session.commit()
    from workflows.flows import run_job  # imports Prefect: only when a run is asked for

    return run_job("escalation", now=at, engine=request.app.state.engine)
