"""The assisting units' tasks (协办任务) escalate like cases: the assisting unit is reminded one
working day before the task's due time, when it is overdue, and when it is still unsigned past its
sign deadline — each (task, level) once, by the claims of deadline_fire (subject "task")."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from closeloop.calendar.service import load_calendar
from closeloop.cases.requests import UNFINISHED
from closeloop.config import Settings, get_settings
from closeloop.safety import fires
from closeloop.text import Msg, local_minute
from models.case import Case
from models.enums import CaseState, TaskState
from models.task import CaseTask
from notifications import outbox

SUBJECT = "task"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
SIGN_OVERDUE = "sign_overdue"
LOOKAHEAD = timedelta(days=15)  # wider than one working day before any holiday


def escalate_late(session: Session, *, now: datetime, settings: Settings | None = None) -> int:
    """Remind the assisting units of tasks due soon, overdue or unsigned in time; the number of
    reminders claimed."""
    settings = settings or get_settings()
    rows = list(
        session.exec(
            select(CaseTask, Case)
            .join(Case, col(Case.id) == col(CaseTask.case_id))
            .where(col(CaseTask.state).in_(UNFINISHED))
            .where(col(Case.state).not_in(CaseState.closed_states()))
            .where(col(CaseTask.due_at) < now + LOOKAHEAD)
            .order_by(col(CaseTask.id))
        )
    )
    if not rows:
        return 0
    cal = load_calendar(session, settings)
    due: dict[str, list[tuple[CaseTask, Case]]] = {DUE_SOON: [], OVERDUE: [], SIGN_OVERDUE: []}
    for task, case in rows:
        if task.due_at < now:
            due[OVERDUE].append((task, case))
        elif cal.working_days_between(cal.local_date(now), cal.local_date(task.due_at)) <= 1:
            due[DUE_SOON].append((task, case))
        if task.state == TaskState.open and task.sign_due_at and task.sign_due_at < now:
            due[SIGN_OVERDUE].append((task, case))
    fired = 0
    for level, pairs in due.items():
        ids = [t.id for t, _ in pairs if t.id is not None]
        won = fires.claim(session, subject=SUBJECT, ids=ids, level=level, now=now)
        for task, case in pairs:
            if task.id in won:
                _notify(session, task, case, level, now)
                fired += 1
    return fired


_WORDS = {
    DUE_SOON: (
        "协办任务即将到期",
        "Assisting task due soon",
        "应于 {due} 前完成",
        "is due by {due}",
    ),
    OVERDUE: (
        "协办任务已超期",
        "Assisting task overdue",
        "应于 {due} 前完成，已超期",
        "was due by {due}",
    ),
    SIGN_OVERDUE: (
        "协办任务签收超时",
        "Assisting task not signed in time",
        "应于 {sign} 前签收，仍未签收",
        "was to be signed by {sign} and is not",
    ),
}


def _notify(session: Session, task: CaseTask, case: Case, level: str, now: datetime) -> None:
    zh, en, body_zh, body_en = _WORDS[level]
    due, sign = local_minute(task.due_at), local_minute(task.sign_due_at)
    outbox.notify_unit(
        session,
        unit_code=task.unit_code,
        event=f"task_{level}",
        subject=Msg(f"{zh}：{case.number}", f"{en}: {case.number}"),
        body=Msg(
            f"案件 {case.number}「{case.title}」的协办任务（主办单位 {case.unit_code}）"
            + body_zh.format(due=due, sign=sign)
            + "。",
            f"The assisting task of case {case.number} ({case.title}; lead unit "
            f"{case.unit_code}) " + body_en.format(due=due, sign=sign) + " (Asia/Shanghai).",
        ),
        now=now,
        key=f"task:{task.id}:{level}",
        case_id=case.id,
        payload={"task_id": task.id, "level": level},
    )
