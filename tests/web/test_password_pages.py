"""The change-password page (api/web/routes_auth.py), a reset password's forced change, a
deactivated user's session, and the dispatch pickers showing only the district's units."""

from closeloop.db import new_session
from closeloop.org import service as org_service
from models.org import RegionCreate, UnitCreate
from models.user import UserUpdate
from tests.factories import NOW, PASSWORD, new_case
from tests.web.conftest import csrf_of, login


def _reset(engine, username: str) -> str:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        password = org_service.reset_password(s, username=username, now=NOW)
        s.commit()
    return password


def _change(client, old: str, new: str, repeat: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/password")
    assert page.status_code == 200
    return client.post(
        "/password",
        data={
            "old_password": old,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )


def test_a_reset_password_must_be_changed_before_any_page(client, engine, org):  # type: ignore[no-untyped-def]
    one_time = _reset(engine, "disp")
    r = login(client, "disp", password=one_time)
    assert r.status_code == 303
    r = client.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    page = client.get("/password")
    assert 'data-testid="password-required"' in page.text
    r = _change(client, one_time, "new-password-1", repeat="other-password")
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.text
    r = _change(client, one_time, "short")
    assert r.status_code == 422 and "new_password" in r.text
    r = _change(client, one_time, "new-password-1")
    assert r.status_code == 303 and r.headers["location"].startswith("/queue")
    # The session was renewed: the user stays signed in and reaches every page.
    assert client.get("/queue").status_code == 200
    assert 'data-testid="password-required"' not in client.get("/password").text


def test_changing_ones_password_ends_other_sessions(client, engine, org):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    other = TestClient(client.app)
    assert login(other, "sup").status_code == 303
    assert login(client, "sup").status_code == 303
    assert _change(client, PASSWORD, "a-new-password").status_code == 303
    assert client.get("/dashboard").status_code == 200
    r = other.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    other.close()


def test_a_deactivated_users_web_session_ends_at_once(client, engine, org):  # type: ignore[no-untyped-def]
    assert login(client, "h_zj").status_code == 303
    assert client.get("/inbox").status_code == 200
    with new_session(engine) as s:
        org_service.update_user(s, username="h_zj", data=UserUpdate(active=False), now=NOW)
        s.commit()
    r = client.get("/inbox", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_dispatch_pickers_show_only_the_districts_units(client, engine, org):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        org_service.create_region(s, data=RegionCreate(code="D2", name="福田区", level="district"))
        org_service.create_unit(
            s, data=UnitCreate(code="FT", name="福田城管局", short_name="福", region_code="D2")
        )
        org_service.create_unit(
            s, data=UnitCreate(code="LH", name="罗湖城管局", short_name="罗", region_code="D1")
        )
        case = new_case(s, org)
        s.commit()
        case_id = case.id
    assert login(client, "disp").status_code == 303
    for url in (f"/cases/{case_id}", "/queue"):
        html = client.get(url).text
        assert 'value="LH"' in html and 'value="ZJ"' in html, url
        assert 'value="FT"' not in html, url
