"""The harness itself: the live server answers and Chromium renders it."""

import json

from tests.e2e.helpers import LiveServer, by_id


def test_the_live_server_answers_and_chromium_renders_it(new_page, live: LiveServer, shot) -> None:
    page = new_page("desk")
    response = page.goto("/healthz")
    assert response is not None and response.status == 200
    assert json.loads(page.inner_text("body")) == {"status": "ok"}

    # /docs is served (its Swagger UI script comes from a CDN, which this harness refuses).
    response = page.goto("/docs", wait_until="domcontentloaded")
    assert response is not None and response.status == 200
    assert "Closeloop" in page.title()

    page = new_page("desk")  # a fresh page: /docs may still be asking its CDN
    response = page.goto("/login")
    assert response is not None and response.status == 200
    assert page.locator(by_id("login-form")).is_visible()
    path = shot(page, "login", full_page=False)
    assert path.stat().st_size > 5000, "a blank page would be a few hundred bytes"
    assert page.outside_requests == [], "the pages fetch nothing from outside"
