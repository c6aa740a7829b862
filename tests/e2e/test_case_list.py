"""The case list in the browser: filter by street and reported dates, export exactly that list;
the filter form lays out at 360 px and at 1366 px; a double tap on the filing button files one
case."""

from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func
from sqlmodel import col, select

from closeloop.db import new_session
from models.case import Case
from models.types import SHANGHAI
from tests.e2e.helpers import (
    LiveServer,
    by_id,
    click_and_wait,
    login,
    no_horizontal_scroll,
    wait_until,
)

STREET = "440303003"  # 东门街道


def _numbers(page) -> list[str]:
    return [r.get_attribute("data-number") for r in page.locator(by_id("case-row")).all()]


def test_filter_by_street_and_dates_then_export(new_page, live: LiveServer, tmp_path: Path) -> None:
    with new_session(live.engine) as s:
        street_cases = list(
            s.exec(
                select(Case)
                .where(col(Case.region_path).contains(f"/{STREET}/"))
                .order_by(col(Case.reported_at))
            )
        )
    assert len(street_cases) > 10, "the demo has cases in 东门街道"
    last = street_cases[len(street_cases) // 2].reported_at.astimezone(SHANGHAI).date()
    first = last - timedelta(days=6)
    expected = [
        c for c in street_cases if first <= c.reported_at.astimezone(SHANGHAI).date() <= last
    ]
    assert 0 < len(expected) <= 50
    expected.sort(key=lambda c: (c.reported_at, c.id), reverse=True)

    page = new_page("desk")
    login(page, live, "lh-dispatch")
    page.goto("/cases")
    form = page.locator(by_id("case-filter"))
    form.locator(by_id("filter-street")).select_option(STREET)
    # The communities and grids offered narrow to the street's.
    wait_until(
        page,
        "[...document.querySelectorAll('#grid_code option')].filter((o) => !o.hidden && o.value)"
        f".every((o) => o.dataset.path.includes('/{STREET}/'))",
    )
    form.locator(by_id("filter-reported-from")).fill(first.isoformat())
    form.locator(by_id("filter-reported-to")).fill(last.isoformat())
    click_and_wait(page, by_id("filter-submit"))
    assert f"street_code={STREET}" in page.url and f"reported_from={first}" in page.url
    assert _numbers(page) == [c.number for c in expected]
    form = page.locator(by_id("case-filter"))
    assert form.locator(by_id("filter-street")).input_value() == STREET
    assert form.locator(by_id("filter-reported-to")).input_value() == last.isoformat()

    with page.expect_download() as info:
        page.locator(by_id("export-xlsx")).click()
    saved = tmp_path / "cases.xlsx"
    info.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("案件编号", "类型", "状态")
    assert [r[0] for r in rows[1:]] == [c.number for c in expected]
    assert {r[5] for r in rows[1:]} == {"东门街道"}


def test_the_filter_form_at_360_and_1366_px(new_page, live: LiveServer, shot) -> None:
    phone = new_page("phone")
    login(phone, live, "lh-dispatch")
    phone.goto("/cases?street_code=440303003&state=rectifying&state=dispatched")
    no_horizontal_scroll(phone, 360)
    # Stacked: each field below the previous one.
    tops = phone.evaluate(
        "[...document.querySelectorAll('.case-filters > .field')].map((f) => f.offsetTop)"
    )
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    shot(phone, "case-list-filters-360")

    desk = new_page("desk")
    desk.set_viewport_size({"width": 1366, "height": 900})
    login(desk, live, "lh-dispatch")
    desk.goto("/cases")
    no_horizontal_scroll(desk, 1366)
    columns = desk.evaluate(
        "getComputedStyle(document.querySelector('.case-filters')).gridTemplateColumns"
        ".split(' ').length"
    )
    assert columns >= 3
    street_top, unit_top = (
        desk.locator(f"#{name}").bounding_box()["y"] for name in ("street_code", "unit_code")
    )
    assert abs(street_top - unit_top) < 2 or columns >= 4
    shot(desk, "case-list-filters-1366")


def test_a_double_tap_on_the_filing_button_files_one_case(new_page, live: LiveServer) -> None:
    def count() -> int:
        with new_session(live.engine) as s:
            return int(s.exec(select(func.count()).select_from(Case)).one())

    page = new_page("phone")
    login(page, live, "lh-wg04")
    page.goto("/report/new")
    form = page.locator(by_id("report-form"))
    form.locator(by_id("category-class")).select_option("01")
    form.locator(by_id("category-item")).select_option("0103")
    form.locator(by_id("title")).fill("春风路垃圾桶满溢（双击）")
    # What the button looked like just after the first tap (kept across the navigation).
    page.evaluate(
        """() => {
          const b = document.querySelector('[data-testid=report-submit]');
          b.form.addEventListener('submit', () => setTimeout(() => sessionStorage.setItem(
            'button', JSON.stringify([b.disabled, b.textContent.trim()])), 0));
        }"""
    )
    before = count()
    with page.expect_navigation(wait_until="load"):
        page.locator(by_id("report-submit")).dblclick()
    assert "/cases/" in page.url and "ok=file" in page.url
    assert count() == before + 1
    assert page.evaluate("JSON.parse(sessionStorage.getItem('button'))") == [True, "提交中…"]
