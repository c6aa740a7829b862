"""The major-hazard dossier of a case: the 五到位 plan and the re-inspections (复查)."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.safety import plans, rechecks
from models.dossier import PlanIn, PlanPublic, RecheckIn, RecheckPublic

router = APIRouter(tags=["major hazards"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post(
    "/cases/{case_id}/plan", status_code=status.HTTP_201_CREATED, response_model=PlanPublic
)
def submit_plan(
    session: SessionDep, user: CurrentUser, now: NowDep, case_id: PathId, data: PlanIn
) -> object:
    """The 五到位 plan of a major hazard (the handler of its unit, once signed for): all five
    required; a later plan supersedes. The first one opens the listing notice (due in 5
    working days)."""
    plan = plans.submit_plan(session, actor=user, case_id=case_id, data=data, now=now)
    return plans.plan_public(session, plan)


@router.get("/cases/{case_id}/plan", response_model=PlanPublic)
def latest_plan(session: SessionDep, user: CurrentUser, case_id: PathId) -> object:
    """The plan in force (the latest); 404 when there is none."""
    return plans.plan_public(session, plans.latest_plan(session, actor=user, case_id=case_id))


@router.post(
    "/cases/{case_id}/recheck", status_code=status.HTTP_201_CREATED, response_model=RecheckPublic
)
def record_recheck(
    session: SessionDep, user: CurrentUser, now: NowDep, case_id: PathId, data: RecheckIn
) -> object:
    """A supervisor's re-inspection of a major hazard awaiting verification; `approve` needs the
    latest one since the submit to be a pass. A fail needs a note."""
    row = rechecks.record_recheck(session, actor=user, case_id=case_id, data=data, now=now)
    return rechecks.recheck_public(session, row)


@router.get("/cases/{case_id}/rechecks", response_model=list[RecheckPublic])
def list_rechecks(session: SessionDep, user: CurrentUser, case_id: PathId) -> object:
    rows = rechecks.list_rechecks(session, actor=user, case_id=case_id)
    return [rechecks.recheck_public(session, r) for r in rows]
