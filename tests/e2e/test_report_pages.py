"""Issue 12, point 6 in the browser: a supervisor generates last month's report from the reports
page, watches its steps, then downloads the PDF, the 通报 PDF and the workbook."""

from sqlmodel import select

from closeloop.db import new_session
from models.report import Report
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, wait_until

SUPERVISOR = "lh-supervise"


def test_a_supervisor_generates_a_monthly_report_from_the_page(
    new_page, live: LiveServer, shot
) -> None:
    page = new_page("desk")
    login(page, live, SUPERVISOR)
    click_and_wait(page, by_id("nav-reports"))
    assert page.url.endswith("/reports")

    page.select_option(by_id("report-cadence"), "monthly")
    # Only closed months are offered: the clock is on 18 November 2025, so October comes first.
    offered = page.eval_on_selector_all(
        '#period option[data-cadence="monthly"]', "(os) => os.map((o) => o.value)"
    )
    assert offered[0] == "2025-10" and "2025-11" not in offered
    visible = page.eval_on_selector_all(
        "#period optgroup:not([hidden])", "(gs) => gs.map((g) => g.dataset.cadence)"
    )
    assert visible == ["monthly"]  # the script shows the chosen cadence's periods only
    page.select_option(by_id("report-period"), "2025-10")
    response = click_and_wait(page, by_id("report-submit"))
    assert response.status < 400, page.inner_text("main")
    assert "/reports/" in page.url
    report_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    # Progress, then the links: the page follows the generation by itself.
    state = page.locator(by_id("report-state"))
    assert state.get_attribute("data-status") in ("generating", "ready")
    assert page.locator(by_id("report-steps")).is_visible()
    shot(page, "report-generating")
    # The page reloads itself at each step; a locator's wait survives the reloads.
    page.locator('[data-testid="report-state"][data-status="ready"]').wait_for(timeout=120_000)
    wait_until(page, "document.readyState === 'complete'")
    assert page.locator(by_id("report-links")).is_visible()
    assert "完成 ✓" in page.inner_text(by_id("report-steps"))
    shot(page, "report-ready")

    for testid, start in (("dl-pdf", b"%PDF"), ("dl-bulletin-pdf", b"%PDF"), ("dl-xlsx", b"PK")):
        href = page.locator(by_id(testid)).first.get_attribute("href")
        got = page.request.get(href)
        assert got.status == 200, (testid, got.status)
        assert got.body().startswith(start), testid
    with page.expect_download() as download:
        page.locator(by_id("dl-xlsx")).first.click()
    assert download.value.suggested_filename.endswith(".xlsx")

    with new_session(live.engine) as s:
        report = s.exec(select(Report).where(Report.id == report_id)).one()
    assert (report.status, report.cadence, report.period) == ("ready", "monthly", "2025-10")
    assert report.bulletin_number and report.title.endswith("闭环分析报告")

    # The list shows it with its downloads, the 通报 among them.
    click_and_wait(page, by_id("back-to-reports"))
    row = page.locator(f'[data-testid="report-row"][data-report-id="{report_id}"]')
    assert row.get_attribute("data-status") == "ready"
    assert row.locator(by_id("dl-bulletin-pdf")).is_visible()
