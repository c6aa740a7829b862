"""Login, logout, CSRF, the language switch and the 360 px phone width, in the browser."""

from sqlalchemy import func
from sqlmodel import select

from closeloop.db import new_session
from models.case import Case
from models.enums import CaseState
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, no_horizontal_scroll, photo

WORKER = "lh-wg02"


def _cases(live: LiveServer) -> int:
    with new_session(live.engine) as s:
        return int(s.exec(select(func.count()).select_from(Case)).one())


def test_wrong_password_keeps_the_username_and_says_why(new_page, live: LiveServer) -> None:
    page = new_page("phone")
    page.goto("/my")
    assert "/login" in page.url, "a page needs a session"
    page.fill(by_id("login-username"), WORKER)
    page.fill(by_id("login-password"), "not-the-password")
    response = click_and_wait(page, by_id("login-submit"))
    assert response.status == 401
    assert page.locator(by_id("error")).inner_text().strip()
    assert page.locator(by_id("login-username")).input_value() == WORKER
    no_horizontal_scroll(page)


def test_logout_ends_the_session_and_back_shows_the_login(new_page, live: LiveServer) -> None:
    page = new_page("phone")
    login(page, live, WORKER)
    assert "/my" in page.url
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["closeloop_session"]["httpOnly"] is True
    assert cookies["closeloop_session"]["sameSite"] == "Lax"

    click_and_wait(page, by_id("logout"))
    assert "/login" in page.url
    assert "closeloop_session" not in {c["name"] for c in page.context.cookies()}
    page.go_back()  # the pages are `no-store`: Back asks the server again, which says log in
    assert "/login" in page.url
    assert page.locator(by_id("my-list")).count() == 0
    assert page.locator(by_id("login-form")).is_visible()


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    new_page, live: LiveServer
) -> None:
    page = new_page("phone")
    login(page, live, WORKER)
    page.goto("/report/new")
    form = page.locator(by_id("report-form"))
    form.locator(by_id("category-class")).select_option("01")
    form.locator(by_id("category-item")).select_option("0103")
    form.locator(by_id("title")).fill("伪造请求")
    form.locator(by_id("photos")).set_input_files([photo("x.png")])
    page.evaluate(
        "document.querySelector('[data-testid=report-form] [name=csrf_token]').value = 'forged'"
    )
    before = _cases(live)
    response = click_and_wait(page, by_id("report-submit"))
    assert response.status == 403
    assert page.locator(by_id("csrf-error")).is_visible()
    assert _cases(live) == before


def test_english_is_a_switch_away_and_remembered(new_page, live: LiveServer, shot) -> None:
    page = new_page("phone")
    page.goto("/login")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator(by_id("login-submit")).inner_text().strip() == "登录"
    click_and_wait(page, by_id("lang-en"))
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator(by_id("login-submit")).inner_text().strip() == "Log in"
    page.reload()
    assert page.locator(by_id("login-submit")).inner_text().strip() == "Log in"

    login(page, live, WORKER)  # remembered across the login, on every page
    assert page.get_attribute("html", "lang") == "en"
    page.goto("/report/new")
    assert page.get_attribute("html", "lang") == "en"
    no_horizontal_scroll(page)
    shot(page, "reporter-new-event-en")
    click_and_wait(page, by_id("lang-zh"))
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert "/report/new" in page.url


def test_the_grid_worker_pages_fit_a_360px_phone(new_page, live: LiveServer) -> None:
    page = new_page("phone")
    page.goto("/login")
    no_horizontal_scroll(page)
    login(page, live, "lh-wg03")
    for path in ("/my", "/report/new"):
        page.goto(path)
        no_horizontal_scroll(page)
    page.goto("/my")
    assert page.locator(by_id("case-link")).count() > 0, "the demo worker has filed events"
    click_and_wait(page, by_id("case-link"))
    assert "/cases/" in page.url
    no_horizontal_scroll(page)


def test_a_cross_site_form_cannot_act_for_a_logged_in_user(new_page, live: LiveServer) -> None:
    with new_session(live.engine) as s:
        case = s.exec(select(Case).where(Case.state == CaseState.reported)).first()
    assert case is not None
    page = new_page("desk")
    login(page, live, "lh-dispatch")
    evil = page.context.new_page()  # same browser, same cookies, another site
    evil.set_content(
        f'<form method="post" action="{live.url}/cases/{case.id}/act/cancel">'
        f'<input name="reason" value="伪造"><input name="version" value="{case.version}">'
        '<button id="go">go</button></form>'
    )
    with evil.expect_navigation():
        evil.click("#go")
    assert "/login" in evil.url or evil.locator(by_id("csrf-error")).count() == 1
    with new_session(live.engine) as s:
        after = s.get(Case, case.id)
        assert after is not None and after.state == CaseState.reported
        assert after.version == case.version
