"""A grid worker inspects a place in their grid on the phone: one item fails, with a photo;
the inspection page lists the hazard filed, and its link opens the hazard case."""

from sqlmodel import select

from closeloop.db import new_session
from models.case import Case
from models.inspection import Inspection
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, photo, wait_until


def test_record_an_inspection_with_one_failed_item(new_page, live: LiveServer) -> None:
    page = new_page("phone")
    login(page, live, "lh-wg07")
    page.goto("/inspections")
    click_and_wait(page, by_id("inspection-new"))
    page.select_option(by_id("pick-enterprise"), "E-GY-002")
    page.select_option(by_id("pick-checklist"), "RM-01")
    click_and_wait(page, by_id("pick-next"))
    items = page.locator(by_id("item"))
    codes = [items.nth(i).get_attribute("data-code") for i in range(items.count())]
    assert codes == ["RM01", "RM02", "RM03", "RM04", "RM05"]
    for code in codes:
        page.check(by_id(f"result-{code}-{'fail' if code == 'RM01' else 'pass'}"))
    page.fill(by_id("note-RM01"), "东侧安全出口上锁")
    page.set_input_files(by_id("photos-RM01"), files=[photo("exit.png")])
    page.check(by_id("unannounced"))
    click_and_wait(page, by_id("inspection-submit"))
    wait_until(page, "!!document.querySelector('[data-testid=\"recorded\"]')")
    assert page.locator(by_id("hazards-found")).inner_text().strip() == "1"
    links = page.locator(by_id("hazard-link"))
    assert links.count() == 1
    number = links.first.inner_text().strip()
    click_and_wait(page, by_id("hazard-link"))
    assert number in page.content() and "松园综合市场" in page.content()
    with new_session(live.engine) as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        inspection = s.get(Inspection, case.inspection_id)
        assert inspection is not None and inspection.unannounced
        assert (case.enterprise_code, case.grid_code) == ("E-GY-002", "44030300100201")
        assert case.category_code == "0201"
