"""Co-handling (主办/协办): the assisting units' tasks on a case.

A dispatch may name assisting units beside the lead unit; each gets a task (CaseTask) in the
dispatch's transaction, due `assist_days` working days later (never later than the case) and to
be signed like the case. The assisting unit's handler signs it, then completes it with a note
and, optionally, evidence (the case's attachments); the desk (dispatcher or supervisor) may waive
an unfinished task with a reason. The lead unit submits only when no task is open or signed
(`tasks_finished`, a precondition of `submit`). Every task event is a case history entry.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.calendar.days import WorkCalendar
from closeloop.cases import deadlines, history
from closeloop.cases.lookup import load_case
from closeloop.cases.requests import UNFINISHED, Pending, Precondition
from closeloop.config import Settings
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.org import service as org
from closeloop.text import Msg
from models.attachment import Attachment
from models.case import Case
from models.enums import CaseState, HistoryAction, Role, TaskState
from models.org import Category, Unit
from models.task import CaseTask, TaskActionInput, TaskPublic

# A task is worked on while the lead unit holds the case (after closing nothing is left to do).
HELD = (CaseState.dispatched, CaseState.rectifying, CaseState.suspended, CaseState.verifying)
DESK = (Role.dispatcher, Role.supervisor)
ACTIONS = ("sign", "complete", "waive")
# action → (the states it is taken from, the state it leads to)
MOVES: dict[str, tuple[tuple[TaskState, ...], TaskState]] = {
    "sign": ((TaskState.open,), TaskState.signed),
    "complete": ((TaskState.signed,), TaskState.done),
    "waive": (UNFINISHED, TaskState.waived),
}


def check_assisting(
    session: Session, *, case: Case, codes: Sequence[str], lead: str | None
) -> list[str]:
    """The assisting units of a dispatch, checked before anything is written: each an existing,
    active unit serving the case's district, not the lead unit, named once (422 naming it)."""
    seen: set[str] = set()
    assisting = {t.unit_code for t in unfinished(session, case.id or 0)} if codes else set()
    for code in codes:
        field = f"assist_unit_codes：协办单位 {code}"
        field_en = f"assist_unit_codes: assisting unit {code}"
        if code in seen:
            raise Invalid(Msg(f"{field} 重复", f"{field_en} is named twice"))
        if code == lead:
            raise Invalid(Msg(f"{field} 是主办单位，不能同时协办", f"{field_en} is the lead unit"))
        if code in assisting:
            raise Invalid(
                Msg(f"{field} 已有未完成的协办任务", f"{field_en} already has an unfinished task")
            )
        unit = session.get(Unit, code)
        if unit is None:
            raise Invalid(Msg(f"{field} 不存在", f"{field_en} does not exist"))
        if not unit.active:
            raise Invalid(Msg(f"{field} 已停用", f"{field_en} is deactivated"))
        if not org.serves(unit, case.region_path):
            raise Invalid(
                Msg(f"{field} 不服务本案件所在的区", f"{field_en} does not serve this district")
            )
        seen.add(code)
    return list(codes)


def unfinished(session: Session, case_id: int) -> list[CaseTask]:
    # Read inside an action without flushing the case half-changed (one version bump an action).
    with session.no_autoflush:
        return list(
            session.exec(
                select(CaseTask)
                .where(CaseTask.case_id == case_id, col(CaseTask.state).in_(UNFINISHED))
                .order_by(col(CaseTask.id))
            )
        )


def end_unfinished(
    session: Session,
    *,
    case: Case,
    actor: Principal,
    now: datetime,
    reason: str,
    only_unit: str | None = None,
) -> list[int]:
    """The case left its lead unit (returned, withdrawn) or a task's unit now leads it: the
    unfinished tasks end as waived, with the reason, so none is left waiting or reminded. The
    action's own history entry names them."""
    ended = []
    for task in unfinished(session, case.id or 0):
        if only_unit is not None and task.unit_code != only_unit:
            continue
        task.state = TaskState.waived
        task.reason, task.waived_at, task.waived_by = reason, now, actor.id
        task.updated_at = now
        session.add(task)
        ended.append(task.id or 0)
    return ended


def open_tasks(
    session: Session,
    *,
    case: Case,
    codes: Sequence[str],
    actor: Principal,
    now: datetime,
    cal: WorkCalendar,
    category: Category | None,
    settings: Settings,
) -> list[CaseTask]:
    """A task per assisting unit (checked by check_assisting), with its own deadlines."""
    if not codes:
        return []
    d = deadlines.dispatch_deadlines(
        at=now,
        cal=cal,
        category=category,
        settings=settings,
        urgent=case.urgent,
        limit_days=settings.assist_days,
    )
    due_at, estimated = d.due_at, d.due_estimated
    if case.due_at is not None and case.due_at < due_at:
        due_at, estimated = case.due_at, case.due_estimated
    sign_due_at = min(d.sign_due_at, due_at)
    tasks = [
        CaseTask(
            case_id=case.id or 0,
            unit_code=code,
            state=TaskState.open,
            sign_due_at=sign_due_at,
            due_at=due_at,
            due_estimated=estimated,
            created_at=now,
            created_by=actor.id,
            updated_at=now,
        )
        for code in codes
    ]
    session.add_all(tasks)
    session.flush()
    return tasks


def tasks_finished(case: Case, pending: Pending, now: datetime, settings: Settings) -> Msg | None:
    """A precondition of submit: every assisting unit's task is done or waived."""
    n = pending.open_tasks
    if not n:
        return None
    return Msg(
        f"还有 {n} 项协办任务未完成，协办单位完成或调度员免除后才能提交整改",
        f"{n} assisting task(s) are still open: submit when every task is done or waived",
    )


def all_of(*checks: Precondition) -> Precondition:
    """A precondition that holds when each of `checks` holds (the first failure is told)."""

    def why(case: Case, pending: Pending, now: datetime, settings: Settings) -> Msg | None:
        for check in checks:
            failure = check(case, pending, now, settings)
            if failure is not None:
                return failure
        return None

    return why


def public(task: CaseTask, now: datetime) -> TaskPublic:
    out = TaskPublic.model_validate(task, from_attributes=True)
    out.overdue = task.state in UNFINISHED and task.due_at < now
    out.sign_overdue = (
        task.state == TaskState.open and task.sign_due_at is not None and task.sign_due_at < now
    )
    return out


def list_tasks(
    session: Session, *, actor: Principal, case_id: int, now: datetime
) -> list[TaskPublic]:
    """The tasks of a case, for whoever may see the case."""
    load_case(session, actor=actor, case_id=case_id)
    rows = session.exec(
        select(CaseTask).where(CaseTask.case_id == case_id).order_by(col(CaseTask.id))
    )
    return [public(t, now) for t in rows]


def inbox(session: Session, *, actor: Principal, now: datetime) -> list[tuple[TaskPublic, Case]]:
    """A unit's open and signed tasks (协办待办), the earliest due first."""
    if actor.role != Role.handler or not actor.unit_code:
        return []
    rows = session.exec(
        select(CaseTask, Case)
        .join(Case, col(Case.id) == col(CaseTask.case_id))
        .where(CaseTask.unit_code == actor.unit_code, col(CaseTask.state).in_(list(UNFINISHED)))
        .order_by(col(CaseTask.due_at), col(CaseTask.id))
    )
    return [(public(t, now), c) for t, c in rows]


def act(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    task_id: int,
    action: str,
    data: TaskActionInput,
    now: datetime,
) -> TaskPublic:
    """sign / complete (the assisting unit's handler) or waive (the desk) one task."""
    if action not in MOVES:
        raise NotFound(
            Msg(
                f"没有协办动作 {action}",
                f"there is no task action {action!r}: {', '.join(ACTIONS)}",
            )
        )
    case = load_case(session, actor=actor, case_id=case_id)
    task = session.exec(
        select(CaseTask)
        .where(CaseTask.id == task_id, CaseTask.case_id == case_id)
        .with_for_update()
    ).first()
    if task is None:
        raise NotFound(
            Msg(
                f"案件 {case.number} 没有协办任务 {task_id}",
                f"case {case.number} has no task {task_id}",
            )
        )
    name = labels.TASK_ACTION[action]
    _require_role(actor, task, action, name)
    if case.state not in HELD:
        state = labels.STATE[case.state]
        raise Conflict(
            Msg(
                f"案件{state:zh}，不能{name:zh}",
                f"{name:en} is not allowed: the case is {case.state}",
            ),
            state=case.state,
        )
    sources, target = MOVES[action]
    if task.state not in sources:
        state = labels.TASK_STATE[task.state]
        allowed = "、".join(labels.TASK_STATE[s].zh for s in sources)
        raise Conflict(
            Msg(
                f"协办任务{state:zh}，不能{name:zh}（需为{allowed}）",
                f"{name:en} is not allowed: the task is {state.en.lower()}; "
                f"allowed from {', '.join(sources)}",
            ),
            state=task.state,
        )
    record: dict[str, object] = {"task_id": task.id, "unit_code": task.unit_code}
    note = (data.note or "").strip()
    if action == "sign":
        task.signed_at, task.signed_by = now, actor.id
        record["on_time"] = task.sign_due_at is None or now <= task.sign_due_at
    elif action == "complete":
        if not note:
            raise Invalid(Msg(f"{name:zh}需要填写办理情况（note）", f"{name:en} needs a note"))
        ids = _evidence(session, case, data.attachment_ids or [])
        task.note, task.attachment_ids = note, ids
        task.done_at, task.done_by = now, actor.id
        record.update(on_time=now <= task.due_at, attachment_ids=ids)
    else:
        reason = (data.reason or data.note or "").strip()
        if not reason:
            raise Invalid(Msg(f"{name:zh}需要填写原因（reason）", f"{name:en} needs a reason"))
        task.reason, task.waived_at, task.waived_by = reason, now, actor.id
        note = reason
    task.state = target
    task.updated_at = now
    session.add(task)
    history.append(
        session,
        case=case,
        action=HistoryAction(f"task_{action}"),
        actor=actor,
        at=now,
        from_state=case.state,
        to_state=case.state,
        note=note or None,
        data=record,
    )
    session.flush()
    return public(task, now)


def allowed(actor: Principal, task: TaskPublic | CaseTask) -> list[str]:
    """The task actions this caller may take now (the same rule `act` checks; for the forms)."""
    return [
        a
        for a in ACTIONS
        if task.state in MOVES[a][0]
        and (
            actor.role in DESK
            if a == "waive"
            else actor.role == Role.handler and actor.unit_code == task.unit_code
        )
    ]


def _require_role(actor: Principal, task: CaseTask, action: str, name: Msg) -> None:
    if action == "waive":
        if actor.role not in DESK:
            raise Forbidden(
                Msg(
                    f"只有调度员或领导可以{name:zh}", f"{name:en} is for a dispatcher or supervisor"
                )
            )
    elif actor.role != Role.handler or actor.unit_code != task.unit_code:
        raise Forbidden(
            Msg(
                f"只有协办单位 {task.unit_code} 的处置人员可以{name:zh}",
                f"{name:en} is for the handlers of the assisting unit {task.unit_code}",
            )
        )


def _evidence(session: Session, case: Case, ids: list[int]) -> list[int]:
    """The evidence of a completed task: attachments of the case itself (422 naming others)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = set(
        session.exec(
            select(Attachment.id).where(col(Attachment.id).in_(ids), Attachment.case_id == case.id)
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        listed = ", ".join(str(i) for i in missing)
        raise Invalid(
            Msg(
                f"attachment_ids：附件 {listed} 不属于本案件",
                f"attachment_ids: attachments {listed} are not attachments of case {case.number}",
            )
        )
    return ids
