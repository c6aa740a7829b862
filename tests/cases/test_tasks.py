"""Co-handling (主办/协办): the assisting units' tasks opened at dispatch, their rules, and the lead
unit's submit held until every task is done or waived."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from closeloop.cases import lifecycle, tasks
from closeloop.cases import service as cases
from closeloop.cases.requests import pending_requests
from closeloop.config import get_settings
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from models.case import ActionInput, Case
from models.enums import CaseState, TaskState
from models.history import CaseHistory
from models.org import UnitCreate, UnitUpdate
from models.task import CaseTask, TaskActionInput
from tests.factories import NOW, Org, act, evidence, new_case


def _dispatched(session: Session, org: Org, assist: list[str] | None = None) -> Case:
    case = new_case(session, org)
    return act(session, org, case, "dispatch", "disp", unit_code="ZJ", assist_unit_codes=assist)


def _task(session: Session, case: Case) -> CaseTask:
    return session.exec(select(CaseTask).where(CaseTask.case_id == case.id)).one()


def _act(session: Session, org: Org, case: Case, task: CaseTask, action: str, by: str, **data):  # type: ignore[no-untyped-def]
    assert case.id is not None and task.id is not None
    return tasks.act(
        session,
        actor=org[by],
        case_id=case.id,
        task_id=task.id,
        action=action,
        data=TaskActionInput(**data),
        now=NOW + timedelta(hours=1),
    )


def test_dispatch_opens_a_task_per_assisting_unit(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    task = _task(session, case)
    assert task.unit_code == "SW" and task.state == TaskState.open
    assert case.due_at is not None and task.due_at <= case.due_at
    assert task.sign_due_at == case.sign_due_at  # signed within the category's hours, like the case
    cal_due, _ = lifecycle_cal(session).due_after(NOW, get_settings().assist_days)
    assert task.due_at == min(cal_due, case.due_at)
    entry = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == case.id, CaseHistory.action == "dispatch")
    ).one()
    assert entry.data["assist_unit_codes"] == ["SW"]


def lifecycle_cal(session: Session):  # type: ignore[no-untyped-def]
    from closeloop.calendar.service import load_calendar

    return load_calendar(session, get_settings())


def test_a_task_is_never_due_after_the_case(session: Session, org: Org) -> None:
    case = new_case(session, org)
    assert case.id is not None
    settings = get_settings().model_copy(update={"assist_days": 60})
    cases.perform(
        session,
        actor=org["disp"],
        case_id=case.id,
        action="dispatch",
        data=ActionInput(unit_code="ZJ", assist_unit_codes=["SW"]),
        now=NOW,
        settings=settings,
    )
    assert _task(session, case).due_at == case.due_at


@pytest.mark.parametrize(
    ("codes", "named"),
    [(["XX"], "XX"), (["ZJ"], "ZJ"), (["SW", "SW"], "SW"), (["OFF"], "OFF")],
    ids=["unknown", "lead", "twice", "inactive"],
)
def test_bad_assisting_units_are_refused_and_nothing_changes(
    session: Session, org: Org, codes: list[str], named: str
) -> None:
    from closeloop.org import service as org_service

    org_service.create_unit(session, data=UnitCreate(code="OFF", name="停用单位", short_name="停"))
    org_service.update_unit(session, code="OFF", data=UnitUpdate(active=False))
    case = new_case(session, org)
    with pytest.raises(Invalid) as e:
        act(session, org, case, "dispatch", "disp", unit_code="ZJ", assist_unit_codes=codes)
    assert "assist_unit_codes" in e.value.detail and named in e.value.detail
    session.rollback()
    assert session.exec(select(CaseTask)).all() == []


def test_sign_complete_then_the_lead_unit_may_submit(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    act(session, org, case, "sign", "h_zj")
    task = _task(session, case)
    assert case.id is not None
    pending = pending_requests(session, [case.id])[case.id]
    assert pending.open_tasks == 1
    settings = get_settings()
    mine = lifecycle.allowed_actions(case, org["h_zj"], pending=pending, now=NOW, settings=settings)
    assert "submit" not in mine
    with pytest.raises(Conflict) as e:
        act(session, org, case, "submit", "h_zj")
    assert "协办任务未完成" in e.value.detail and "assisting task" in e.value.detail

    signed = _act(session, org, case, task, "sign", "h_sw")
    assert signed.state == TaskState.signed and signed.signed_at is not None
    with pytest.raises(Invalid) as missing:
        _act(session, org, case, task, "complete", "h_sw", note=" ")
    assert "note" in missing.value.detail
    photo = evidence(session, org, case, by="h_sw")  # the assisting unit uploads to the case
    done = _act(session, org, case, task, "complete", "h_sw", note="已清理", attachment_ids=[photo])
    assert done.state == TaskState.done and done.attachment_ids == [photo]
    act(session, org, case, "submit", "h_zj")
    assert case.state == CaseState.verifying
    actions = session.exec(
        select(CaseHistory.action)
        .where(CaseHistory.case_id == case.id)
        .order_by(col(CaseHistory.seq))
    ).all()
    assert actions[-3:] == ["task_sign", "task_complete", "submit"]


def test_waived_by_the_desk_with_a_reason(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    act(session, org, case, "sign", "h_zj")
    task = _task(session, case)
    with pytest.raises(Forbidden):
        _act(session, org, case, task, "waive", "h_zj", reason="不需要")
    with pytest.raises(Invalid) as e:
        _act(session, org, case, task, "waive", "disp")
    assert "reason" in e.value.detail
    waived = _act(session, org, case, task, "waive", "disp", reason="现场已无需水务配合")
    assert waived.state == TaskState.waived and waived.reason == "现场已无需水务配合"
    act(session, org, case, "submit", "h_zj")
    assert case.state == CaseState.verifying


def test_wrong_state_and_wrong_role(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    task = _task(session, case)
    with pytest.raises(Conflict) as e:
        _act(session, org, case, task, "complete", "h_sw", note="完成")
    assert "待签收" in e.value.detail and "signed" in e.value.detail
    with pytest.raises(Forbidden) as f:
        _act(session, org, case, task, "sign", "h_zj")  # the lead unit does not sign for SW
    assert "SW" in f.value.detail
    _act(session, org, case, task, "sign", "h_sw")
    with pytest.raises(Conflict):
        _act(session, org, case, task, "sign", "h_sw")
    with pytest.raises(NotFound):
        _act(session, org, case, task, "finish", "h_sw")
    _act(session, org, case, task, "waive", "sup", reason="撤回")
    with pytest.raises(Conflict):
        _act(session, org, case, task, "waive", "disp", reason="再次")


def test_evidence_must_be_the_cases_own(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    other = _dispatched(session, org)
    photo = evidence(session, org, other)
    task = _task(session, case)
    _act(session, org, case, task, "sign", "h_sw")
    with pytest.raises(Invalid) as e:
        _act(session, org, case, task, "complete", "h_sw", note="好", attachment_ids=[photo])
    assert str(photo) in e.value.detail


def test_an_assisting_handler_sees_the_case_but_takes_no_case_action(
    session: Session, org: Org
) -> None:
    plain = _dispatched(session, org)
    assert plain.id is not None
    with pytest.raises(Forbidden):
        cases.load_case(session, actor=org["h_sw"], case_id=plain.id)
    case = _dispatched(session, org, ["SW"])
    assert case.id is not None
    assert cases.load_case(session, actor=org["h_sw"], case_id=case.id).id == case.id
    listed = tasks.list_tasks(session, actor=org["h_sw"], case_id=case.id, now=NOW)
    assert [t.unit_code for t in listed] == ["SW"]
    pending = pending_requests(session, [case.id])[case.id]
    assert (
        lifecycle.allowed_actions(
            case, org["h_sw"], pending=pending, now=NOW, settings=get_settings()
        )
        == []
    )
    with pytest.raises(Forbidden):
        act(session, org, case, "sign", "h_sw")
    assert case.state == CaseState.dispatched


def test_inbox_lists_the_units_unfinished_tasks(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    later = NOW + timedelta(days=30)
    rows = tasks.inbox(session, actor=org["h_sw"], now=later)
    assert [(t.case_id, t.overdue, t.sign_overdue) for t, _ in rows] == [(case.id, True, True)]
    assert tasks.inbox(session, actor=org["h_zj"], now=NOW) == []
    _act(session, org, case, _task(session, case), "waive", "disp", reason="不需要")
    assert tasks.inbox(session, actor=org["h_sw"], now=NOW) == []


def test_a_returned_case_ends_its_unfinished_tasks(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    act(session, org, case, "return", "h_zj", reason="不属于本单位")
    task = _task(session, case)
    assert task.state == TaskState.waived and task.reason and "退回" in task.reason
    entry = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == case.id, CaseHistory.action == "return")
    ).one()
    assert entry.data["ended_task_ids"] == [task.id]
    # Dispatched again with the same assisting unit: one new task, nothing stale blocks submit.
    act(session, org, case, "dispatch", "disp", unit_code="ZJ", assist_unit_codes=["SW"])
    states = sorted(
        str(t.state) for t in session.exec(select(CaseTask).where(CaseTask.case_id == case.id))
    )
    assert states == ["open", "waived"]


def test_a_unit_with_an_unfinished_task_is_not_named_twice(session: Session, org: Org) -> None:
    from models.org import Unit

    session.add(Unit(code="CG", name="区城市管理局", short_name="城管"))
    session.flush()
    case = _dispatched(session, org, ["SW"])
    with pytest.raises(Invalid) as err:
        act(session, org, case, "redispatch", "disp", unit_code="CG", reason="改派城管",
            assist_unit_codes=["SW"])  # fmt: skip
    assert "SW 已有未完成的协办任务" in str(err.value)
    assert case.unit_code == "ZJ" and len(session.exec(select(CaseTask)).all()) == 1


def test_redispatch_to_the_assisting_unit_ends_its_task(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    act(session, org, case, "redispatch", "disp", unit_code="SW", reason="水务牵头")
    task = _task(session, case)
    assert task.state == TaskState.waived and task.reason and "主办" in task.reason
    assert case.unit_code == "SW"


def test_no_task_action_once_the_case_has_left_the_unit(session: Session, org: Org) -> None:
    case = _dispatched(session, org, ["SW"])
    task = _task(session, case)
    act(session, org, case, "return", "h_zj", reason="不属于本单位")
    with pytest.raises(Conflict):
        _act(session, org, case, task, "sign", "h_sw")
