"""The closed loop through the pages, in headless Chromium: a grid worker files an event with a
photo from a phone, the dispatcher dispatches it, the department signs and submits with evidence,
the dispatcher rejects, the department resubmits, the dispatcher approves — and the supervisor's
dashboard moves. Each step is checked on the page and in the database; each role's main page is
kept as a screenshot (see conftest)."""

from sqlmodel import select

from closeloop.db import new_session
from models.enums import CaseState
from models.org import Category
from tests.e2e.helpers import (
    LiveServer,
    actions_of,
    by_id,
    click_and_wait,
    count,
    figure,
    load_case,
    login,
    no_horizontal_scroll,
    photo,
    photo_widths,
    row,
    state_of,
    wait_until,
)

WORKER, DISPATCHER, HANDLER, SUPERVISOR = "lh-wg01", "lh-dispatch", "lh-cg", "lh-supervise"
CATEGORY_CLASS, CATEGORY = "01", "0101"  # 市容环境 / 占道经营 → 城管 (CG), 3 working days
TITLE = "东门中路水果摊占用盲道"


def _case_page(page, case_id: int) -> None:
    page.goto(f"/cases/{case_id}")
    assert page.locator(by_id("case-title")).inner_text().strip() == TITLE


def _act(page, action: str, *, reason: str = "", note: str = "", files=None) -> None:
    form = page.locator(by_id(f"form-{action}"))
    if reason:
        form.locator('[name="reason"]').fill(reason)
    if note:
        form.locator('[name="note"]').fill(note)
    if files:
        form.locator(by_id("evidence")).set_input_files(files)
    response = click_and_wait(page, by_id(f"action-{action}"))
    assert response.status < 400, page.inner_text("main")


def test_an_event_goes_round_the_loop_in_the_browser(new_page, live: LiveServer, shot) -> None:
    with new_session(live.engine) as s:
        default_unit = s.exec(select(Category).where(Category.code == CATEGORY)).one().unit_code
    assert default_unit == "CG"

    # The supervisor's figures before.
    boss = new_page("desk")
    login(boss, live, SUPERVISOR)
    assert "/dashboard" in boss.url
    closed_before = count(figure(boss, "fig-closed"))
    accepted_before = count(figure(boss, "fig-accepted"))
    rate_before = figure(boss, "fig-closure-rate")

    # 1. The grid worker files an event on a phone, with a photo and the browser's location.
    phone = new_page("phone")
    phone.context.grant_permissions(["geolocation"], origin=live.url)
    phone.context.set_geolocation({"latitude": 22.5468, "longitude": 114.1236})
    login(phone, live, WORKER)
    assert "/my" in phone.url
    click_and_wait(phone, by_id("nav-report"))
    form = phone.locator(by_id("report-form"))
    assert form.locator(by_id("grid")).input_value(), "the worker's grid is preselected"
    form.locator(by_id("category-class")).select_option(CATEGORY_CLASS)
    form.locator(by_id("category-item")).select_option(CATEGORY)
    form.locator(by_id("title")).fill(TITLE)
    form.locator(by_id("description")).fill("流动摊贩推车售卖水果，占用盲道约 6 米。")
    form.locator(by_id("address")).fill("东门中路 2035 号")
    form.locator(by_id("locate")).click()
    wait_until(phone, "document.querySelector('[data-testid=lat]').value !== ''")
    form.locator(by_id("photos")).set_input_files([photo("before.png", seed=30)])
    no_horizontal_scroll(phone)
    shot(phone, "reporter-new-event")
    click_and_wait(phone, by_id("report-submit"))
    assert "/cases/" in phone.url, phone.inner_text("main")
    case_id = int(phone.url.split("/cases/")[1].split("?")[0])
    assert state_of(phone) == "reported"
    assert photo_widths(phone) == [160], "the worker's photo is on the case page"
    no_horizontal_scroll(phone)
    case = load_case(live, case_id)
    assert (case.state, case.category_code, case.kind) == (CaseState.reported, CATEGORY, "event")
    assert (round(case.lat or 0, 4), round(case.lon or 0, 4)) == (22.5468, 114.1236)

    click_and_wait(phone, by_id("nav-my"))
    mine = row(phone, case_id)
    assert mine.count() == 1
    assert state_of(phone, f'[data-testid="case-row"][data-case-id="{case_id}"]') == "reported"
    assert mine.locator(by_id("next-step")).inner_text().strip()
    no_horizontal_scroll(phone)
    shot(phone, "reporter-my-reports", full_page=False)

    # 2. The dispatcher dispatches it from the queue, the category's unit preselected.
    live.clock.advance(minutes=12)
    desk = new_page("desk")
    login(desk, live, DISPATCHER)
    assert "/queue" in desk.url
    queued = row(desk, case_id, by_id("queue-new"))
    assert queued.count() == 1
    dispatch = queued.locator(by_id("form-dispatch"))
    assert dispatch.locator('[name="unit_code"]').input_value() == default_unit
    shot(desk, "dispatcher-queue", full_page=False)
    click_and_wait(
        desk, f'[data-testid="case-row"][data-case-id="{case_id}"] {by_id("action-dispatch")}'
    )
    case = load_case(live, case_id)
    assert (case.state, case.unit_code) == (CaseState.dispatched, default_unit)

    # 3. The department signs in its inbox and submits with an after-photo.
    live.clock.advance(minutes=25)
    unit = new_page("desk")
    login(unit, live, HANDLER)
    assert "/inbox" in unit.url
    to_sign = row(unit, case_id, by_id("inbox-to-sign"))
    assert to_sign.count() == 1
    assert to_sign.locator(by_id("time-left")).inner_text().strip()
    shot(unit, "handler-inbox", full_page=False)
    click_and_wait(
        unit, f'[data-testid="case-row"][data-case-id="{case_id}"] {by_id("action-sign")}'
    )
    assert load_case(live, case_id).state == CaseState.rectifying

    live.clock.advance(hours=3)
    _case_page(unit, case_id)
    assert state_of(unit) == "rectifying"
    _act(unit, "submit", note="已劝离摊贩，盲道已清理", files=[photo("after.png", seed=200)])
    assert state_of(unit) == "verifying"

    # 4. The dispatcher rejects it with a reason (rework).
    live.clock.advance(minutes=40)
    desk.goto("/queue")
    assert desk.locator(f'{by_id("queue-verify")} a[href*="/cases/{case_id}"]').count() >= 1
    _case_page(desk, case_id)
    response = click_and_wait(desk, by_id("action-reject"))  # no reason: refused, nothing changes
    assert response.status == 422
    assert desk.locator(by_id("error")).inner_text().strip()
    assert load_case(live, case_id).state == CaseState.verifying
    _case_page(desk, case_id)
    _act(desk, "reject", reason="现场复查仍有摊位占用盲道")
    assert state_of(desk) == "rectifying"
    case = load_case(live, case_id)
    assert (case.state, case.rework_count) == (CaseState.rectifying, 1)

    # 5. The department resubmits.
    live.clock.advance(hours=2)
    _case_page(unit, case_id)
    _act(unit, "submit", note="已设置隔离栏，安排专人值守", files=[photo("after-2.png", seed=121)])
    assert state_of(unit) == "verifying"
    assert photo_widths(unit) == [160, 160, 160], "the worker's photo and both after-photos"
    shot(unit, "case-page-handler")

    # 6. The dispatcher approves: closed.
    live.clock.advance(minutes=30)
    _case_page(desk, case_id)
    _act(desk, "approve", note="复查通过")
    assert state_of(desk) == "closed"
    timeline = [
        item.get_attribute("data-action")
        for item in desk.locator(f"{by_id('timeline')} {by_id('timeline-item')}").all()
    ]
    expected = ["file", "dispatch", "sign", "submit", "reject", "submit", "approve"]
    assert [a for a in timeline if a in expected] in (expected, expected[::-1]), timeline
    assert photo_widths(desk) == [160, 160, 160]
    # No lifecycle action is left on a closed event; only its follow-up (回访) is offered.
    forms = desk.locator('[data-testid^="form-"]')
    left = [forms.nth(i).get_attribute("data-testid") for i in range(forms.count())]
    assert left == ["form-follow_up"], left
    shot(desk, "case-page")

    case = load_case(live, case_id)
    assert case.state == CaseState.closed and case.closed_at is not None
    assert case.closed_at == live.clock.now().replace(tzinfo=case.closed_at.tzinfo)
    assert actions_of(live, case_id) == [
        ("file", None, "reported"),
        ("dispatch", "reported", "dispatched"),
        ("sign", "dispatched", "rectifying"),
        ("submit", "rectifying", "verifying"),
        ("reject", "verifying", "rectifying"),
        ("submit", "rectifying", "verifying"),
        ("approve", "verifying", "closed"),
    ]

    # 7. The worker sees it closed; the supervisor's dashboard has moved.
    phone.goto("/my")
    assert state_of(phone, f'[data-testid="case-row"][data-case-id="{case_id}"]') == "closed"
    boss.reload()
    assert count(figure(boss, "fig-closed")) == closed_before + 1
    assert count(figure(boss, "fig-accepted")) == accepted_before + 1
    if closed_before != accepted_before:
        assert figure(boss, "fig-closure-rate") != rate_before
    shot(boss, "supervisor-dashboard", full_page=False)
    shot(boss, "supervisor-dashboard-full")
    assert not phone.outside_requests and not desk.outside_requests, "pages fetch nothing outside"
