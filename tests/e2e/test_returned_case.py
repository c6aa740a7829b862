"""A returned case (退单) in headless Chromium: the dispatcher dispatches an event to its
category's unit, the unit returns it with a reason and lands on its inbox with a confirmation,
the dispatcher sees the case marked in the queue with the reason and the unit, and on the case
page that unit is not preselected again."""

from sqlmodel import select

from closeloop.auth import service as auth
from closeloop.cases import service as cases
from closeloop.db import new_session
from models.case import CaseCreate
from models.enums import CaseKind, CaseState
from models.org import Category, Unit
from models.user import User
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, load_case, login, row

WORKER, DISPATCHER, HANDLER = "lh-wg01", "lh-dispatch", "lh-cg"
CATEGORY = "0101"  # 占道经营 → 城管 (CG)
REASON = "该路段属市政道路管养范围，不属本单位"


def _file(live: LiveServer) -> tuple[int, str, str]:
    """An event filed by the grid worker through the service; its id, number and unit name."""
    with new_session(live.engine) as s:
        user = s.exec(select(User).where(User.username == WORKER)).one()
        category = s.exec(select(Category).where(Category.code == CATEGORY)).one()
        unit = s.exec(select(Unit).where(Unit.code == category.unit_code)).one()
        case = cases.file_case(
            s,
            actor=auth.principal_of(s, user),
            now=live.clock.now(),
            data=CaseCreate(
                kind=CaseKind.event,
                title="东门北路井盖破损",
                category_code=CATEGORY,
                grid_code=user.region_code or "",
                address="东门北路 1008 号",
            ),
        )
        s.commit()
        assert case.id is not None
        return case.id, case.number, unit.name


def test_a_returned_case_is_marked_and_not_sent_back(new_page, live: LiveServer) -> None:
    case_id, number, unit_name = _file(live)

    # The dispatcher dispatches it to the category's unit, preselected.
    live.clock.advance(minutes=5)
    desk = new_page("desk")
    login(desk, live, DISPATCHER)
    queued = row(desk, case_id, by_id("queue-new"))
    assert queued.locator(by_id("returned-mark")).count() == 0
    assert queued.locator('[name="unit_code"]').input_value() == "CG"
    click_and_wait(
        desk, f'[data-testid="case-row"][data-case-id="{case_id}"] {by_id("action-dispatch")}'
    )
    assert load_case(live, case_id).state == CaseState.dispatched

    # The unit returns it with a reason and lands on its inbox with a confirmation.
    live.clock.advance(minutes=20)
    unit = new_page("desk")
    login(unit, live, HANDLER)
    unit.goto(f"/cases/{case_id}")
    form = unit.locator(by_id("form-return"))
    form.locator('[name="reason"]').fill(REASON)
    response = click_and_wait(unit, by_id("action-return"))
    assert response.status == 200, unit.inner_text("main")
    assert "/inbox" in unit.url
    assert unit.locator(by_id("flash")).inner_text().strip() == f"已退回案件 {number}"
    assert "不在您的管辖范围内" not in unit.inner_text("main")
    assert row(unit, case_id).count() == 0
    assert load_case(live, case_id).state == CaseState.reported

    # The dispatcher sees it marked in the queue, with the reason and the unit.
    desk.goto("/queue")
    queued = row(desk, case_id, by_id("queue-new"))
    mark = queued.locator(by_id("returned-mark"))
    assert mark.count() == 1
    assert REASON in mark.inner_text() and unit_name in mark.inner_text()
    assert queued.locator('[name="unit_code"]').input_value() == ""
    assert REASON in queued.locator(by_id("refused-default")).inner_text()

    # Opened, the case page does not preselect the unit that returned it either.
    desk.goto(f"/cases/{case_id}")
    picker = desk.locator(f'{by_id("form-dispatch")} [name="unit_code"]')
    assert picker.input_value() == ""
    note = desk.locator(f"{by_id('form-dispatch')} {by_id('refused-default')}")
    assert note.inner_text().strip() == f"该单位已退回此案件：{REASON}"
