"""Co-handling (主办/协办) on the pages: an assisting unit's task actions from the case page."""

from typing import Annotated

from fastapi import Path
from fastapi.responses import Response

from api.deps import NowDep, SessionDep
from api.web import session as websession
from api.web.deps import CsrfForm, PageDep, PageUser, field, page_router
from api.web.pages import redirect
from api.web.routes_case import shown_again, store_uploads
from closeloop.cases import tasks
from closeloop.errors import DomainError
from models.task import TaskActionInput

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/cases/{case_id}/tasks/{task_id}/{action}")
def act_on_task(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    case_id: PathId,
    task_id: PathId,
    action: str,
) -> Response:
    values = {name: field(form, name) for name in ("note", "reason", "next")}
    try:
        ids = store_uploads(session, user, case_id, form, now) if action == "complete" else []
        data = TaskActionInput(
            note=values["note"] or None, reason=values["reason"] or None, attachment_ids=ids or None
        )
        tasks.act(
            session, actor=user, case_id=case_id, task_id=task_id, action=action, data=data, now=now
        )
    except DomainError as exc:
        return shown_again(page, session, user, now, case_id, exc, values, open_action="")
    return redirect(websession.safe_next(values.get("next"), f"/cases/{case_id}"))
