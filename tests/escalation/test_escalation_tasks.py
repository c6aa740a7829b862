"""An assisting unit's task escalates like a case: reminders to the assisting unit before the due
time, when it is overdue and when it is not signed in time, each once; a dry run writes nothing."""

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from closeloop.db import new_session, transaction
from closeloop.escalation import deadlines, service
from models.escalation import DeadlineFire
from models.outbox import OutboxMessage
from models.task import CaseTask
from tests.factories import Org, act, new_case


def _task(engine: Engine, org: Org) -> CaseTask:
    with transaction(engine) as s:
        case = new_case(s, org)
        act(s, org, case, "dispatch", "disp", unit_code="ZJ", assist_unit_codes=["SW"])
        task = s.exec(select(CaseTask).where(CaseTask.case_id == case.id)).one()
        s.expunge(task)
        return task


def _fires(engine: Engine) -> list[tuple[int, str]]:
    with new_session(engine) as s:
        rows = s.exec(select(DeadlineFire).where(DeadlineFire.subject == "task")).all()
        return sorted((f.subject_id, f.level) for f in rows)


def _told(engine: Engine, event: str) -> set[int | None]:
    with new_session(engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.event == event)).all()
        return {m.user_id for m in rows}


def test_reminders_to_the_assisting_unit_each_once(engine: Engine, org: Org) -> None:
    task = _task(engine, org)
    assert task.id is not None and task.sign_due_at is not None
    with transaction(engine) as s:
        assert deadlines.preview(s, now=task.due_at + timedelta(hours=1))["tasks"] == 2
    assert _fires(engine) == []  # the dry run wrote nothing
    with transaction(engine) as s:
        service.run(s, now=task.sign_due_at + timedelta(minutes=1))
    assert (task.id, "sign_overdue") in _fires(engine)
    assert _told(engine, "task_sign_overdue") == {org["h_sw"].id}  # the assisting unit's handler
    with transaction(engine) as s:
        service.run(s, now=task.due_at - timedelta(hours=2))
    assert (task.id, "due_soon") in _fires(engine)
    late = task.due_at + timedelta(hours=1)
    for _ in range(2):
        with transaction(engine) as s:
            service.run(s, now=late)
    assert _fires(engine) == [
        (task.id, "due_soon"),
        (task.id, "overdue"),
        (task.id, "sign_overdue"),
    ]
    assert _told(engine, "task_overdue") == {org["h_sw"].id}
    with new_session(engine) as s:
        overdue = s.exec(select(OutboxMessage).where(OutboxMessage.event == "task_overdue")).all()
    assert len(overdue) == 1


def test_a_finished_task_is_not_escalated(engine: Engine, org: Org) -> None:
    from closeloop.cases import tasks
    from models.task import TaskActionInput

    task = _task(engine, org)
    assert task.id is not None
    with transaction(engine) as s:
        tasks.act(
            s,
            actor=org["disp"],
            case_id=task.case_id,
            task_id=task.id,
            action="waive",
            data=TaskActionInput(reason="不需要"),
            now=task.created_at,
        )
    with transaction(engine) as s:
        service.run(s, now=task.due_at + timedelta(days=3))
    assert _fires(engine) == []
