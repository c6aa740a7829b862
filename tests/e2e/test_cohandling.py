"""Co-handling (主办/协办) in headless Chromium: the dispatcher dispatches an event to its lead unit
with an assisting unit; the assisting unit's handler finds the task in the inbox, signs it and
completes it; only then may the lead unit submit the rectification."""

from sqlmodel import select

from closeloop.auth import service as auth
from closeloop.cases import service as cases
from closeloop.db import new_session
from models.case import CaseCreate
from models.enums import CaseKind, CaseState, TaskState
from models.task import CaseTask
from models.user import User
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, load_case, login, wait_until

WORKER, DISPATCHER, LEAD, ASSIST = "lh-wg01", "lh-dispatch", "lh-cg", "lh-sw"


def _file(live: LiveServer) -> int:
    with new_session(live.engine) as s:
        user = s.exec(select(User).where(User.username == WORKER)).one()
        case = cases.file_case(
            s,
            actor=auth.principal_of(s, user),
            now=live.clock.now(),
            data=CaseCreate(
                kind=CaseKind.event,
                title="东门北路积水占道",
                category_code="0101",
                grid_code=user.region_code or "",
                address="东门北路 1010 号",
            ),
        )
        s.commit()
        assert case.id is not None
        return case.id


def _task_state(live: LiveServer, case_id: int) -> str:
    with new_session(live.engine) as s:
        return s.exec(select(CaseTask.state).where(CaseTask.case_id == case_id)).one()


def test_the_assisting_unit_signs_and_completes_then_the_lead_submits(
    new_page, live: LiveServer
) -> None:
    case_id = _file(live)
    live.clock.advance(minutes=5)
    desk = new_page("desk")
    login(desk, live, DISPATCHER)
    desk.goto(f"/cases/{case_id}")
    form = desk.locator(by_id("form-dispatch"))
    form.locator('[name="unit_code"]').select_option("CG")
    form.locator(by_id("assist-select")).select_option(["SW"])
    response = click_and_wait(desk, by_id("action-dispatch"))
    assert response.status == 200, desk.inner_text("main")
    assert load_case(live, case_id).state == CaseState.dispatched
    assert _task_state(live, case_id) == TaskState.open
    wait_until(desk, "document.querySelector('[data-testid=task][data-unit=SW]') !== null")

    # The lead unit signs for the case; its submit is not offered while the task is open.
    live.clock.advance(minutes=10)
    lead = new_page("desk")
    login(lead, live, LEAD)
    lead.goto(f"/cases/{case_id}")
    click_and_wait(lead, by_id("action-sign"))
    lead.goto(f"/cases/{case_id}")
    assert lead.locator(by_id("form-submit")).count() == 0

    # The assisting unit finds the task in its inbox, signs and completes it.
    live.clock.advance(minutes=10)
    unit = new_page("desk")
    login(unit, live, ASSIST)
    unit.goto("/inbox")
    task_row = unit.locator(f'[data-testid="task-row"][data-case-id="{case_id}"]')
    assert task_row.count() == 1
    assert task_row.get_attribute("data-state") == "open"
    assert task_row.locator(by_id("task-due")).inner_text().strip()
    click_and_wait(unit, f'[data-testid="task-row"][data-case-id="{case_id}"] a')
    assert f"/cases/{case_id}" in unit.url
    assert unit.locator(by_id("form-submit")).count() == 0  # no case action for the assisting unit
    response = click_and_wait(unit, by_id("task-action-sign"))
    assert response.status == 200, unit.inner_text("main")
    assert _task_state(live, case_id) == TaskState.signed
    unit.locator(by_id("task-note-input")).fill("已配合疏通雨水管网")
    response = click_and_wait(unit, by_id("task-action-complete"))
    assert response.status == 200, unit.inner_text("main")
    assert _task_state(live, case_id) == TaskState.done
    assert "已配合疏通雨水管网" in unit.locator(by_id("task-note")).inner_text()
    unit.goto("/inbox")
    assert unit.locator(f'[data-testid="task-row"][data-case-id="{case_id}"]').count() == 0

    # Now the lead unit may submit.
    lead.goto(f"/cases/{case_id}")
    lead.locator(by_id("form-submit")).locator('[name="note"]').fill("占道物品已清理")
    response = click_and_wait(lead, by_id("action-submit"))
    assert response.status == 200, lead.inner_text("main")
    assert load_case(live, case_id).state == CaseState.verifying
