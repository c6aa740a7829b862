"""A bureau sets its district up from the pages, in the browser, on an EMPTY database (its own
server, not the demo's): the first-run steps, the template downloaded and imported, a unit and a
user created, a region renamed, a unit deactivated, a password reset and used once; and the
calendar page for a known year and for one the package does not know."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from closeloop.auth import security
from closeloop.clock import FixedClock
from closeloop.config import get_settings
from closeloop.db import make_engine, new_session, upgrade
from models.enums import Role
from models.org import Region, Unit
from models.user import User
from tests.e2e.conftest import DESK, E2E_NOW, serving
from tests.e2e.helpers import PATIENCE_MS, LiveServer, by_id, click_and_wait

ADMIN_PASSWORD = "setup-admin-pass-1"


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app on a fresh database holding one admin and nothing else."""
    from api.app import create_app

    root = tmp_path_factory.mktemp("e2e-empty")
    mp = pytest.MonkeyPatch()
    mp.setenv("CLOSELOOP_DATA_DIR", str(root / "data"))
    mp.setenv("CLOSELOOP_SCHEDULER", "off")
    get_settings.cache_clear()
    url = f"sqlite:///{root / 'empty.db'}"
    upgrade(url)
    engine = make_engine(url)
    with new_session(engine) as s:
        s.add(
            User(
                username="root",
                display_name="系统管理员",
                role=Role.admin,
                password_hash=security.hash_password(ADMIN_PASSWORD),
                created_at=E2E_NOW,
            )
        )
        s.commit()
    app = create_app(engine=engine, clock=FixedClock(E2E_NOW))
    try:
        with serving(app) as base:
            yield LiveServer(base, engine, FixedClock(E2E_NOW), {"root": ADMIN_PASSWORD})
    finally:
        engine.dispose()
        mp.undo()
        get_settings.cache_clear()


@pytest.fixture
def desk(browser: Any, empty: LiveServer) -> Iterator[Callable[[], Any]]:
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(
            base_url=empty.url,
            viewport=DESK,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
        )
        context.set_default_timeout(PATIENCE_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _login(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.fill(by_id("login-username"), username)
    page.fill(by_id("login-password"), password)
    click_and_wait(page, by_id("login-submit"))


def test_a_district_is_set_up_and_run_from_the_pages(
    desk: Callable[[], Any], empty: LiveServer, shot: Callable[[Any, str], Path], tmp_path: Path
) -> None:
    page = desk()
    _login(page, "root", ADMIN_PASSWORD)
    # 1. An empty district: the admin lands on the three steps.
    assert page.url.endswith("/admin")
    steps = page.locator(by_id("first-run"))
    assert steps.is_visible()
    assert steps.locator("li").count() == 3
    shot(page, "admin-first-run")
    # 2. The template downloads and imports; the counts show.
    with page.expect_download() as download:
        page.locator(by_id("first-template")).click()
    assert download.value.suggested_filename.endswith(".xlsx")
    template = tmp_path / download.value.suggested_filename
    download.value.save_as(template)
    assert template.read_bytes()[:2] == b"PK"  # an XLSX (a zip)
    click_and_wait(page, by_id("first-import"))
    page.locator(by_id("import-file")).set_input_files(template)
    click_and_wait(page, by_id("import-submit"))
    assert page.locator(by_id("import-done")).is_visible(), page.inner_text("main")
    regions = int(page.locator(by_id("created-regions")).inner_text())
    assert regions > 0 and int(page.locator(by_id("created-units")).inner_text()) > 0
    shot(page, "admin-import-result")
    with new_session(empty.engine) as s:
        assert len(s.exec(select(Region)).all()) == regions
        street = s.exec(select(Region).where(Region.level == "street")).first()
        district = s.exec(select(Region).where(Region.level == "district")).first()
        assert street is not None and district is not None
    # 3. A unit is created, then deactivated (it holds no case).
    page.goto("/admin/units")
    form = page.locator(by_id("unit-form"))
    form.locator(by_id("code")).fill("CGJ")
    form.locator(by_id("name")).fill("区城市管理局")
    form.locator(by_id("short_name")).fill("城管")
    form.locator(by_id("region_code")).select_option(district.code)
    click_and_wait(page, by_id("unit-submit"))
    assert page.locator('[data-testid="unit-row"][data-code="CGJ"]').is_visible()
    page.locator('[data-testid="unit-row"][data-code="CGJ"] [data-testid="edit-unit"]').click()
    page.wait_for_url("**/admin/units/CGJ")
    click_and_wait(page, by_id("toggle-active"))
    row = page.locator('[data-testid="unit-row"][data-code="CGJ"]')
    assert row.locator(by_id("active")).get_attribute("data-active") == "0"
    with new_session(empty.engine) as s:
        unit = s.get(Unit, "CGJ")
        assert unit is not None and unit.active is False
    # 4. A region is renamed.
    page.goto(f"/admin/regions/{street.code}")
    page.locator(by_id("e-name")).fill("新设街道")
    click_and_wait(page, by_id("edit-submit"))
    assert (
        "新设街道"
        in page.locator(f'[data-testid="region-row"][data-code="{street.code}"]').inner_text()
    )
    # 5. A user is created; their password is reset, shown once, and they must change it.
    page.goto("/admin/users")
    form = page.locator(by_id("user-form"))
    form.locator(by_id("username")).fill("disp1")
    form.locator(by_id("display_name")).fill("受理员一")
    form.locator(by_id("role")).select_option("dispatcher")
    form.locator(by_id("region_code")).select_option(district.code)
    form.locator(by_id("password")).fill("initial-pass-1")
    click_and_wait(page, by_id("user-submit"))
    page.goto("/admin/users/disp1")
    click_and_wait(page, by_id("reset-password"))
    one_time = page.locator(by_id("one-time-password")).inner_text().strip()
    assert len(one_time) >= 8 and one_time not in page.url
    shot(page, "admin-one-time-password")
    page.goto("/admin/users/disp1")
    assert one_time not in page.content()
    user = desk()
    _login(user, "disp1", one_time)
    assert "/password" in user.url, user.url
    assert user.locator(by_id("password-form")).is_visible()


def test_the_calendar_shows_a_known_year_and_flags_an_unknown_one(
    desk: Callable[[], Any], empty: LiveServer, shot: Callable[[Any, str], Path]
) -> None:
    page = desk()
    _login(page, "root", ADMIN_PASSWORD)
    page.goto("/admin/calendar?year=2025")
    holidays = page.locator(by_id("holiday")).all_inner_texts()
    assert any("春节" in h and "2025-01-28" in h for h in holidays), holidays
    assert any("国庆节" in h for h in holidays)
    assert page.locator(by_id("makeup")).count() == 5
    assert page.locator(by_id("year-estimated")).count() == 0
    shot(page, "calendar-2025")
    page.locator(by_id("year-input")).fill("2031")
    click_and_wait(page, by_id("year-submit"))
    assert "2031" in page.locator(by_id("year-estimated")).inner_text()
    assert page.locator(by_id("notice-form")).is_visible()
