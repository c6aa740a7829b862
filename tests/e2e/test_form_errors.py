"""Errors a user can cause, in the browser: a clear message on the page, what they typed kept,
nothing changed. And the keyboard alone is enough to log in."""

from sqlalchemy import func
from sqlmodel import col, select

from closeloop.db import new_session
from models.case import Case
from models.enums import CaseState
from models.history import CaseHistory
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, no_horizontal_scroll


def _count(live: LiveServer) -> int:
    with new_session(live.engine) as s:
        return int(s.exec(select(func.count()).select_from(Case)).one())


def test_a_file_that_is_not_a_photo_is_refused_and_the_form_kept(
    new_page, live: LiveServer
) -> None:
    page = new_page("phone")
    login(page, live, "lh-wg04")
    page.goto("/report/new")
    form = page.locator(by_id("report-form"))
    form.locator(by_id("category-class")).select_option("01")
    form.locator(by_id("category-item")).select_option("0103")
    form.locator(by_id("title")).fill("春风路垃圾桶满溢")
    form.locator(by_id("address")).fill("春风路 1001 号")
    not_a_photo = {"name": "photo.png", "mimeType": "image/png", "buffer": b"just some text\n" * 20}
    form.locator(by_id("photos")).set_input_files([not_a_photo])
    before = _count(live)
    response = click_and_wait(page, by_id("report-submit"))
    assert response.status == 415
    assert page.locator(by_id("error")).inner_text().strip()
    form = page.locator(by_id("report-form"))
    assert form.locator(by_id("title")).input_value() == "春风路垃圾桶满溢"
    assert form.locator(by_id("address")).input_value() == "春风路 1001 号"
    assert form.locator(by_id("category-item")).input_value() == "0103"
    assert _count(live) == before, "no case is filed when its photo is refused"
    no_horizontal_scroll(page)


def test_two_tabs_sign_the_same_case_one_wins_the_other_is_told(new_page, live: LiveServer) -> None:
    with new_session(live.engine) as s:
        case = s.exec(
            select(Case)
            .where(Case.unit_code == "SW", Case.state == CaseState.dispatched)
            .order_by(col(Case.id))
        ).first()
    assert case is not None and case.id is not None, "the demo has a case waiting for 水务局"
    first = new_page("desk")
    login(first, live, "lh-sw")
    second = first.context.new_page()
    for page in (first, second):
        page.goto(f"/cases/{case.id}")
    click_and_wait(first, by_id("action-sign"))
    response = click_and_wait(second, by_id("action-sign"))
    assert response.status == 409
    assert second.locator(by_id("error")).inner_text().strip()
    with new_session(live.engine) as s:
        signs = s.exec(
            select(func.count())
            .select_from(CaseHistory)
            .where(CaseHistory.case_id == case.id, CaseHistory.action == "sign")
        ).one()
        assert signs == 1
        assert s.get(Case, case.id).state == CaseState.rectifying  # type: ignore[union-attr]


def test_the_keyboard_alone_logs_in(new_page, live: LiveServer) -> None:
    page = new_page("desk")
    page.goto("/login")
    page.locator(by_id("login-username")).focus()
    page.keyboard.type("lh-dispatch")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(live.password("lh-dispatch"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/queue")
