"""What the case page and the inbox show of co-handling (主办/协办): the tasks and who may act."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases import tasks


def task_view(session: Session, user: Principal, case_id: int, now: datetime) -> dict[str, Any]:
    """The case's tasks and the task actions open to this user, per task id."""
    rows = tasks.list_tasks(session, actor=user, case_id=case_id, now=now)
    return {"assist_tasks": rows, "task_actions": {t.id: tasks.allowed(user, t) for t in rows}}
