"""Authentication reads the database once per request (closeloop.auth.service.principal_for):
one statement for the user, their region's path, the logout list and the signing key. Nothing is
cached between requests, so every change to a user counts from the very next request."""

import jwt
import pytest

from closeloop.auth import service as auth
from closeloop.config import get_settings
from closeloop.db import new_session
from closeloop.errors import Unauthorized
from models.org import Region
from tests.factories import PASSWORD, statements


def _token(client, username: str = "sup", password: str = PASSWORD) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("key_in_settings", [False, True])
def test_one_statement_resolves_a_token(engine, client, org, clock, monkeypatch, key_in_settings):
    if key_in_settings:
        monkeypatch.setenv("CLOSELOOP_SECRET_KEY", "k" * 40)
        get_settings.cache_clear()
    token = _token(client, "sup")
    with new_session(engine) as s, statements(engine) as seen:
        user, claims = auth.principal_for(s, token=token, now=clock.now())
        # the CSRF key of the pages reads the signing key again: kept from the same statement
        assert auth.signing_secret(s)
    assert len([q for q in seen if q.lstrip().upper().startswith("SELECT")]) == 1, seen
    assert (user.username, user.role, user.region_code) == ("sup", "supervisor", "D1")
    with new_session(engine) as s:
        assert user.region_path == s.get(Region, "D1").path  # type: ignore[union-attr]
    assert claims["sub"] == str(user.id)


def test_forged_and_malformed_tokens_are_refused(engine, client, org, clock):
    token = _token(client, "sup")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not the key", algorithm="HS256")
    odd = [forged, "x.y.z", jwt.encode({**claims, "sub": "abc"}, "k", algorithm="HS256")]
    odd.append(jwt.encode({**claims, "sub": str(2**40)}, "k", algorithm="HS256"))
    with new_session(engine) as s:
        for bad in odd:
            with pytest.raises(Unauthorized) as refused:
                auth.principal_for(s, token=bad, now=clock.now())
            assert "invalid" in refused.value.msg.en
    for bad in odd:
        assert client.get("/api/v1/auth/me", headers=_bearer(bad)).status_code == 401


def test_every_change_counts_from_the_next_request(client, org, auth):  # type: ignore[no-untyped-def]
    admin = auth("admin")
    # a role change (tokens are not revoked by it): the next request acts with the new role
    h = _bearer(_token(client, "disp"))
    assert client.get("/api/v1/auth/me", headers=h).json()["role"] == "dispatcher"
    r = client.patch("/api/v1/users/disp", headers=admin, json={"role": "supervisor"})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/auth/me", headers=h).json()["role"] == "supervisor"
    # a region change: the jurisdiction's path follows at once
    r = client.patch("/api/v1/users/disp", headers=admin, json={"region_code": "S2"})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/auth/me", headers=h).json()["region_code"] == "S2"
    # logout: that token is refused at the next request
    h = _bearer(_token(client, "sup"))
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 200
    assert client.get("/api/v1/cases", headers=h).status_code == 401
    # a disabled user
    h = _bearer(_token(client, "rep1"))
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    r = client.patch("/api/v1/users/rep1", headers=admin, json={"active": False})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/cases", headers=h).status_code == 401
    # a password reset by an admin: the old token is refused, the one-time password must change
    h = _bearer(_token(client, "h_zj"))
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    r = client.post("/api/v1/users/h_zj/reset-password", headers=admin)
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/cases", headers=h).status_code == 401
    one_time = r.json()["password"]
    h = _bearer(_token(client, "h_zj", one_time))
    assert client.get("/api/v1/cases", headers=h).status_code == 403
    assert client.get("/api/v1/auth/me", headers=h).json()["must_change_password"] is True
