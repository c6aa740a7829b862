"""The enterprise and place register in the browser (demo district): search, open a file, and
register one — a wrong check character is refused on the page, naming the right one; the
corrected code goes in and its file opens."""

from closeloop.safety.credit_code import check_character
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, wait_until

FIRST17 = "91440303MA5F00E2E"
GOOD = FIRST17 + check_character(FIRST17)
BAD = FIRST17 + ("1" if GOOD[17] != "1" else "2")


def test_search_open_and_register(new_page, live: LiveServer) -> None:
    page = new_page("desk")
    login(page, live, "lh-dispatch")
    click_and_wait(page, by_id("nav-enterprises"))
    assert page.locator(by_id("enterprise-row")).count() >= 7  # the demo's register

    page.fill(by_id("filter-q"), "燃气")
    click_and_wait(page, by_id("filter-submit"))
    rows = page.locator(by_id("enterprise-row"))
    assert rows.count() == 1 and rows.first.get_attribute("data-code") == "E-DM-002"
    click_and_wait(page, f"{by_id('enterprise-row')} {by_id('enterprise-link')}")
    assert page.url.endswith("/enterprises/E-DM-002")
    assert page.inner_text(by_id("enterprise-name")) == "深圳市立新燃气供应站"
    for section in ("cases", "inspections", "risk-points", "letters"):
        assert page.locator(by_id(f"enterprise-{section}")).is_visible()

    click_and_wait(page, by_id("back"))
    form = page.locator(by_id("enterprise-form"))
    form.locator(by_id("n-code")).fill("E-E2E-001")
    form.locator(by_id("n-name")).fill("深圳市测试五金有限公司")
    form.locator(by_id("n-credit_code")).fill(BAD)
    form.locator(by_id("n-grid_code")).select_option("44030300300101")
    form.locator(by_id("n-industry")).fill("工贸")
    click_and_wait(page, by_id("enterprise-submit"))
    error = page.locator(by_id("error"))
    assert error.is_visible() and f"应为 {GOOD[17]}" in error.inner_text()
    # What was typed is kept; only the credit code needs correcting.
    assert page.locator(by_id("n-name")).input_value() == "深圳市测试五金有限公司"

    page.locator(by_id("n-credit_code")).fill(GOOD)
    click_and_wait(page, by_id("enterprise-submit"))
    wait_until(page, "location.pathname === '/enterprises/E-E2E-001'")
    assert page.locator(by_id("flash")).is_visible()
    assert page.inner_text(by_id("enterprise-credit")) == GOOD
