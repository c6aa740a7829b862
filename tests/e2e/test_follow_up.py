"""Follow-up (回访) in headless Chromium: an event closed through the services appears in the
desk's 待回访 list on the queue page; the dispatcher records the reporter as unsatisfied there,
and the case goes back to its unit (重办: rectifying, rework 1) and leaves the list."""

from sqlmodel import select

from closeloop.auth import service as auth
from closeloop.cases import service as cases
from closeloop.db import new_session
from models.case import ActionInput, CaseCreate
from models.enums import Action, CaseKind, CaseState
from models.user import User
from tests.e2e.helpers import LiveServer, actions_of, by_id, click_and_wait, load_case, login

WORKER, DISPATCHER, HANDLER = "lh-wg01", "lh-dispatch", "lh-cg"
NOTE = "群众反映占道摊贩又回来了"


def _closed(live: LiveServer) -> tuple[int, str]:
    """An event filed, dispatched, rectified and approved through the services."""
    with new_session(live.engine) as s:

        def who(username: str):  # type: ignore[no-untyped-def]
            return auth.principal_of(s, s.exec(select(User).where(User.username == username)).one())

        worker, desk, unit = who(WORKER), who(DISPATCHER), who(HANDLER)
        now = live.clock.now()
        case = cases.file_case(
            s,
            actor=worker,
            now=now,
            data=CaseCreate(
                kind=CaseKind.event,
                title="回访测试：东门北路占道经营",
                category_code="0101",
                grid_code=worker.region_code or "",
                address="东门北路 1010 号",
            ),
        )
        assert case.id is not None
        for action, actor, data in (
            (Action.dispatch, desk, ActionInput(unit_code="CG")),
            (Action.sign, unit, ActionInput()),
            (Action.submit, unit, ActionInput(note="已清理")),
            (Action.approve, desk, ActionInput(note="核查通过")),
        ):
            cases.perform(s, actor=actor, case_id=case.id, action=action, data=data, now=now)
        s.commit()
        return case.id, case.number


def test_the_desk_follows_up_and_an_unsatisfied_answer_reworks(new_page, live: LiveServer) -> None:
    case_id, number = _closed(live)
    live.clock.advance(minutes=30)
    desk = new_page("desk")
    login(desk, live, DISPATCHER)
    desk.goto("/queue")
    section = by_id("queue-follow-up")
    entry = desk.locator(f'{section} [data-testid="follow-up-row"][data-case-id="{case_id}"]')
    assert entry.count() == 1, desk.locator(section).inner_text()[:600] + str(
        load_case(live, case_id)
    )
    assert number in entry.inner_text()
    assert entry.locator(by_id("follow-up-overdue")).count() == 0  # just closed: not yet late
    entry.locator('[name="satisfaction"]').select_option("unsatisfied")
    entry.locator('[name="note"]').fill(NOTE)
    response = click_and_wait(
        desk,
        f'{section} [data-testid="follow-up-row"][data-case-id="{case_id}"] '
        f"{by_id('action-follow_up')}",
    )
    assert response.status == 200, desk.inner_text("main")
    assert "/queue" in desk.url

    case = load_case(live, case_id)
    assert (case.state, case.rework_count, case.unit_code) == (CaseState.rectifying, 1, "CG")
    assert [a for a, _, _ in actions_of(live, case_id)][-2:] == ["follow_up", "rework"]
    assert desk.locator(f'{section} [data-case-id="{case_id}"]').count() == 0

    # The case page shows the follow-up with its answer and note.
    desk.goto(f"/cases/{case_id}")
    shown = desk.locator(by_id("follow-up"))
    assert shown.count() == 1 and shown.get_attribute("data-satisfaction") == "unsatisfied"
    assert "不满意" in shown.inner_text() and NOTE in shown.inner_text()
