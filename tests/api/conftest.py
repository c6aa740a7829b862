from collections.abc import Callable

import pytest

from tests.factories import PASSWORD


@pytest.fixture
def auth(client, org) -> Callable[[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """auth("disp") → headers with a fresh bearer token for that test user."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            cache[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return cache[username]

    return headers
