"""Login, logout, cookie flags, CSRF, redirects and the language switch."""

from fastapi.testclient import TestClient

from models.case import Case
from tests.factories import new_case
from tests.web.conftest import csrf_of, login


def _set_cookie(response, name: str) -> str:
    headers = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    found = [h for h in headers if h.startswith(name + "=")]
    assert found, headers
    return found[0]


def test_login_sets_a_strict_session_cookie_and_lands_on_the_role_page(client, org):
    r = login(client, "h_zj")
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    cookie = _set_cookie(r, "closeloop_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie
    assert client.get("/inbox").status_code == 200


def test_cookie_is_secure_behind_https(client, org):
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "disp", "password": "password-123", "csrf_token": csrf_of(page.text)},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "secure" in _set_cookie(r, "closeloop_session").lower()


def test_wrong_password_shows_the_message_and_keeps_the_username(client, org):
    r = login(client, "disp", password="wrong-password")
    assert r.status_code == 401
    assert 'data-testid="error"' in r.text and "用户名或密码错误" in r.text
    assert 'value="disp"' in r.text
    assert "closeloop_session" not in client.cookies


def test_login_without_its_csrf_token_is_refused(client, org):
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": "disp", "password": "password-123", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and 'data-testid="csrf-error"' in r.text
    assert "closeloop_session" not in client.cookies


def test_pages_redirect_to_login_and_back(client, org):
    r = client.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fqueue"
    r = login(client, "disp", next_="/queue")
    assert r.headers["location"] == "/queue"


def test_next_never_leaves_the_site(client, org):
    r = login(client, "disp", next_="//evil.example/x")
    assert r.headers["location"] == "/queue"


def test_logout_revokes_the_token_for_pages_and_api(client, org):
    login(client, "disp")
    token = client.cookies["closeloop_session"]
    page = client.get("/queue")
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "max-age=0" in _set_cookie(r, "closeloop_session").lower()
    # The old cookie no longer opens anything, and the same token is dead on the API too.
    other = TestClient(client.app)
    other.cookies.set("closeloop_session", token)
    assert other.get("/queue", follow_redirects=False).headers["location"].startswith("/login")
    api = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_csrf_refusal_changes_nothing(web, engine, session, org):
    case = new_case(session, org)
    session.commit()
    c = web("disp")
    r = c.post(
        f"/cases/{case.id}/act/cancel",
        data={"reason": "不属于受理范围", "version": str(case.version)},
    )
    assert r.status_code == 403 and 'data-testid="csrf-error"' in r.text
    r = c.post(f"/cases/{case.id}/act/cancel", data={"reason": "x", "csrf_token": "0" * 64})
    assert r.status_code == 403
    session.expire_all()
    fresh = session.get(Case, case.id)
    assert fresh.state == "reported" and fresh.version == case.version


def test_csrf_token_of_another_session_is_refused(web, session, org):
    case = new_case(session, org)
    session.commit()
    token_of_other = csrf_of(web("sup").get("/dashboard").text)
    r = web("disp").post(
        f"/cases/{case.id}/act/cancel", data={"reason": "x", "csrf_token": token_of_other}
    )
    assert r.status_code == 403


def test_language_switch_is_remembered(web, org):
    c = web("disp")
    assert '<html lang="zh-CN">' in c.get("/queue").text
    r = c.get("/lang?to=en&next=/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    page = c.get("/queue").text
    assert '<html lang="en">' in page and "Dispatch queue" in page
    assert '<html lang="zh-CN">' in c.get("/lang?to=zh&next=/queue").text


def test_an_expired_session_goes_back_to_login(web, clock, org):
    c = web("disp")
    assert c.get("/queue").status_code == 200
    clock.advance(minutes=481)  # CLOSELOOP_TOKEN_MINUTES is 480
    r = c.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fqueue"
    assert "max-age=0" in _set_cookie(r, "closeloop_session").lower()


def test_a_deactivated_user_is_logged_out_of_the_pages(web, session, org):
    from closeloop.auth import service as auth
    from models.user import User

    c = web("h_zj")
    assert c.get("/inbox").status_code == 200
    user = session.get(User, org["h_zj"].id)
    user.active = False
    auth.revoke_all(session, user=user)
    session.commit()
    assert c.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")
