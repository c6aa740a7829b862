"""Co-handling (主办/协办): the assisting units' tasks on a case and their actions."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path

from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.cases import tasks
from models.task import TaskActionInput, TaskPublic

router = APIRouter(tags=["cases"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/cases/{case_id}/tasks", response_model=list[TaskPublic])
def list_tasks(session: SessionDep, user: CurrentUser, now: NowDep, case_id: PathId) -> object:
    """The assisting units' tasks of a case, for whoever may see the case (an assisting unit's
    handlers too)."""
    return tasks.list_tasks(session, actor=user, case_id=case_id, now=now)


@router.post("/cases/{case_id}/tasks/{task_id}/actions/{action}", response_model=TaskPublic)
def act_on_task(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    case_id: PathId,
    task_id: PathId,
    action: Literal["sign", "complete", "waive"],
    data: Annotated[TaskActionInput | None, Body()] = None,
) -> object:
    """`sign` (open → signed) and `complete` (signed → done; `note` required, `attachment_ids`
    of the case optional) by the assisting unit's handlers; `waive` (open or signed → waived;
    `reason` required) by a dispatcher or supervisor."""
    return tasks.act(
        session,
        actor=user,
        case_id=case_id,
        task_id=task_id,
        action=action,
        data=data or TaskActionInput(),
        now=now,
    )
