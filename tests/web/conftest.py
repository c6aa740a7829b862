import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next_: str = ""):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert page.status_code == 200
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next_,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )


@pytest.fixture
def web(client, org) -> Callable[[str], TestClient]:  # type: ignore[no-untyped-def]
    """web("rep1") → a TestClient of the same app, logged in on the pages as that user."""
    made: list[TestClient] = []

    def as_user(username: str) -> TestClient:
        c = TestClient(client.app)
        made.append(c)
        r = login(c, username)
        assert r.status_code == 303, r.text
        return c

    yield as_user
    for c in made:
        c.close()
