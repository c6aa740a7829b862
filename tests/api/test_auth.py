import re

import pytest

from tests.factories import PASSWORD

PROBLEM = "application/problem+json"


def _login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_returns_bearer_token(client, org):
    r = _login(client, "disp")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "disp" and me.json()["role"] == "dispatcher"


def test_wrong_password_is_401_problem(client, org):
    r = _login(client, "disp", "wrong-password")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["status"] == 401 and "password" in r.json()["detail"]


def test_failed_logins_are_throttled(client, org):
    for _ in range(5):
        assert _login(client, "disp", "nope").status_code == 401
    r = _login(client, "disp")  # even the right password waits out the window
    assert r.status_code == 429
    assert r.headers["content-type"].startswith(PROBLEM)
    assert int(r.headers["retry-after"]) > 0
    assert _login(client, "sup").status_code == 200  # other users are not affected


def test_throttle_window_passes(client, org, clock):
    for _ in range(5):
        _login(client, "disp", "nope")
    clock.advance(minutes=16)
    assert _login(client, "disp").status_code == 200


def test_token_expires(client, org, clock):
    token = _login(client, "disp").json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    clock.advance(minutes=481)
    r = client.get("/api/v1/cases", headers=h)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_logout_revokes_token(client, org):
    token = _login(client, "disp").json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 200
    assert client.get("/api/v1/cases", headers=h).status_code == 401
    other = _login(client, "disp").json()["access_token"]
    assert (
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    )


def test_forged_token_is_401(client, org):
    r = client.get("/api/v1/cases", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)


def test_every_endpoint_needs_a_token(client, org):
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, methods in spec["paths"].items():
        if path in ("/healthz", "/api/v1/auth/token"):
            continue
        concrete = re.sub(r"\{\w+_id\}", "1", path).replace("{action}", "sign")
        for method in methods:
            r = client.request(method.upper(), concrete)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)
            checked += 1
    assert checked >= 15


def test_healthz_needs_no_token(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/calendar"])
def test_admin_only_endpoints_refuse_others(client, auth, path):
    method = client.get if path.endswith("users") else client.post
    kwargs = {} if path.endswith("users") else {"json": {"day": "2027-01-04", "workday": False}}
    r = method(path, headers=auth("disp"), **kwargs)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith(PROBLEM)
