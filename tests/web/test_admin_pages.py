"""The admin pages at the HTTP level: only an admin reaches them, every form needs the session's
CSRF token, and a refused form is drawn again with the field named and what was typed kept."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from closeloop.db import new_session
from models.enums import Role
from models.org import Region, Unit
from models.user import User
from tests.factories import NOW, password_hash
from tests.web.conftest import csrf_of, login

ADMIN_PAGES = ["/admin", "/admin/regions", "/admin/units", "/admin/categories"]


@pytest.mark.parametrize("username", ["rep1", "disp", "h_zj", "sup"])
def test_only_an_admin_sees_the_admin_pages(web, username: str) -> None:
    c = web(username)
    for path in ADMIN_PAGES:
        r = c.get(path)
        assert r.status_code == 403, (username, path)
        assert 'data-testid="error"' in r.text
    assert 'data-testid="nav-admin"' not in c.get("/messages").text
    # A forged post with a valid token is refused too, and creates nothing.
    token = csrf_of(c.get("/messages").text)
    r = c.post(
        "/admin/units", data={"csrf_token": token, "code": "X", "name": "x", "short_name": "x"}
    )
    assert r.status_code == 403
    with new_session(c.app.state.engine) as s:
        assert s.get(Unit, "X") is None


def test_the_admin_has_a_nav_entry_and_an_index(web) -> None:
    c = web("admin")
    page = c.get("/cases").text
    assert 'data-testid="nav-admin"' in page and 'href="/admin"' in page
    index = c.get("/admin")
    assert index.status_code == 200
    for link in ("/admin/regions", "/admin/units", "/admin/categories", "/admin/calendar"):
        assert f'href="{link}"' in index.text
    assert 'data-testid="first-run"' not in index.text  # the district exists


def test_a_form_without_the_csrf_token_is_refused(web) -> None:
    c = web("admin")
    data = {"code": "NEW", "name": "新单位", "short_name": "新"}
    assert c.post("/admin/units", data=data).status_code == 403
    assert c.post("/admin/units", data={**data, "csrf_token": "forged"}).status_code == 403
    with new_session(c.app.state.engine) as s:
        assert s.get(Unit, "NEW") is None


def test_creating_a_unit_and_a_region_from_the_pages(web) -> None:
    c = web("admin")
    token = csrf_of(c.get("/admin/units").text)
    r = c.post(
        "/admin/units",
        data={
            "csrf_token": token,
            "code": "CG",
            "name": "区城管局",
            "short_name": "城管",
            "region_code": "D1",
            "email": "cg@example.org",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/units?ok=created"
    page = c.get("/admin/units").text
    assert "区城管局" in page and "cg@example.org" in page
    r = c.post(
        "/admin/regions",
        data={
            "csrf_token": token,
            "code": "S9",
            "name": "黄贝街道",
            "level": "street",
            "parent_code": "D1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with new_session(c.app.state.engine) as s:
        region = s.get(Region, "S9")
        unit = s.get(Unit, "CG")
        assert region is not None and region.path == "/D1/S9/"
        assert unit is not None and unit.region_code == "D1"
    tree = c.get("/admin/regions").text
    # The tree is indented by level: a street one step in, a grid three.
    assert re.search(r'padding-left: 28px" data-testid="region-name">黄贝街道', tree)
    assert re.search(r'padding-left: 68px" data-testid="region-name">湖贝第一网格', tree)


def test_a_bad_input_is_redrawn_with_the_field_named_and_what_was_typed(web) -> None:
    c = web("admin")
    token = csrf_of(c.get("/admin/units").text)
    r = c.post(
        "/admin/units",
        data={"csrf_token": token, "code": "bad code!", "name": "区城管局", "short_name": "城管"},
    )
    assert r.status_code == 422
    error = re.search(r'data-testid="error">([^<]*)<', r.text)
    assert error and "代码" in error.group(1), r.text
    assert 'value="区城管局"' in r.text and 'value="bad code!"' in r.text
    # A duplicate code is a 409, in the reader's language.
    c.get("/lang?to=en&next=/admin/units")
    r = c.post(
        "/admin/units",
        data={"csrf_token": token, "code": "ZJ", "name": "重复", "short_name": "重"},
    )
    assert r.status_code == 409
    assert "already exists" in r.text and 'value="重复"' in r.text
    # An item without its unit and limit names what it needs.
    r = c.post(
        "/admin/categories",
        data={"csrf_token": token, "code": "0199", "name": "其他", "parent_code": "01"},
    )
    assert r.status_code == 422 and "unit_code" in r.text and 'value="0199"' in r.text
    r = c.post(
        "/admin/categories",
        data={
            "csrf_token": token,
            "code": "0199",
            "name": "其他",
            "parent_code": "01",
            "unit_code": "ZJ",
            "limit_days": "0",
        },
    )
    assert r.status_code == 422 and "Limit (working days): must be at least 1" in r.text


def test_an_admin_of_an_empty_district_lands_on_the_first_run_steps(client, engine) -> None:
    with new_session(engine) as s:
        s.add(
            User(
                username="root",
                display_name="管理员",
                role=Role.admin,
                password_hash=password_hash(),
                created_at=NOW,
            )
        )
        s.commit()
    c = TestClient(client.app)
    r = login(c, "root")
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    assert c.get("/", follow_redirects=False).headers["location"] == "/admin"
    page = c.get("/admin").text
    assert 'data-testid="first-run"' in page
    for link in ("/admin/import/template.xlsx", "/admin/import", "/admin/users"):
        assert f'href="{link}"' in page
    with new_session(engine) as s:
        assert s.exec(select(Region)).first() is None


def test_editing_and_deactivating_from_the_pages(web, session, org) -> None:
    from tests.factories import case_in

    case_in(session, org, "dispatched")  # ZJ holds an open case
    session.commit()
    c = web("admin")
    page = c.get("/admin/regions/S1")
    assert page.status_code == 200 and 'value="东门街道"' in page.text
    token = csrf_of(page.text)
    r = c.post(
        "/admin/regions/S1",
        data={"csrf_token": token, "name": "东门街道办", "parent_code": "D1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    tree = c.get("/admin/regions").text
    assert "东门街道办" in tree
    row = re.search(r'data-code="S1".*?</tr>', tree, re.S)
    assert row and 'data-testid="count-children">1<' in row.group(0)
    assert 'data-testid="count-cases">1<' in row.group(0)
    # An empty name is refused naming the field; what was typed stays.
    r = c.post("/admin/regions/S1", data={"csrf_token": token, "name": "", "parent_code": "D1"})
    assert r.status_code == 422 and "请填写：名称" in r.text
    # A unit holding open cases cannot be deactivated: 409 with what to do instead.
    r = c.post("/admin/units/ZJ/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 409 and "改派" in r.text
    r = c.post(
        "/admin/units/ZJ",
        data={
            "csrf_token": token,
            "name": "区住建局",
            "short_name": "住建",
            "email": "not-an-email",
        },
    )
    assert r.status_code == 422 and 'value="not-an-email"' in r.text
    # A category is deactivated and reactivated; nothing is deleted.
    r = c.post(
        "/admin/categories/0102/active",
        data={"csrf_token": token, "active": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/categories?ok=off"
    with new_session(c.app.state.engine) as s:
        from models.org import Category

        category = s.get(Category, "0102")
        assert category is not None and category.active is False
    assert c.get("/admin/nothing/S1").status_code == 404
    assert c.get("/admin/regions/NOPE").status_code == 404


def test_users_are_created_edited_reset_and_unlocked_from_the_pages(web, client) -> None:
    c = web("admin")
    token = csrf_of(c.get("/admin/users").text)
    new = {
        "csrf_token": token,
        "username": "zj2",
        "display_name": "住建 二号",
        "role": "handler",
        "unit_code": "ZJ",
        "password": "first-pass-1",
    }
    r = c.post("/admin/users", data={**new, "unit_code": ""})
    assert r.status_code == 422 and 'value="zj2"' in r.text
    assert "first-pass-1" not in r.text  # a refused form never draws the password back
    assert c.post("/admin/users", data=new, follow_redirects=False).status_code == 303
    listing = c.get("/admin/users?role=handler").text
    assert 'data-username="zj2"' in listing and 'data-username="disp"' not in listing
    row = re.search(r'data-username="zj2".*?</tr>', listing, re.S)
    assert row and "区住房和建设局" in row.group(0), "the list names the unit, not its code"
    r = c.post(
        "/admin/users/zj2",
        data={
            "csrf_token": token,
            "display_name": "住建 二号",
            "role": "handler",
            "unit_code": "SW",
            "region_code": "",
            "email": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'data-username="zj2"' in c.get("/admin/users?unit=SW").text
    # Repeated wrong passwords lock the account; the list shows it and 解锁 lifts it.
    for _ in range(10):
        login(TestClient(client.app), "zj2", "wrong-password")
    assert 'data-testid="locked"' in c.get("/admin/users?locked=1").text
    page = c.get("/admin/users/zj2").text
    assert 'data-testid="unlock"' in page
    r = c.post("/admin/users/zj2/unlock", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "zj2" in r.headers["location"]
    assert 'data-testid="unlock"' not in c.get("/admin/users/zj2").text
    # 重置密码: the one-time password is on the answer to the POST only.
    r = c.post("/admin/users/zj2/reset", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    found = re.search(r'data-testid="one-time-password">([^<]+)<', r.text)
    assert found
    password = found.group(1)
    assert password not in c.get("/admin/users/zj2").text
    assert password not in c.get("/admin/users").text
    user = TestClient(client.app)
    r = login(user, "zj2", password)
    assert r.status_code == 303
    assert user.get("/inbox", follow_redirects=False).headers["location"].startswith("/password")
    # A deactivated user's session ends at once.
    assert (
        c.post(
            "/admin/users/zj2/active",
            data={"csrf_token": token, "active": "0"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert user.get("/password", follow_redirects=False).status_code == 303
    # The last admin cannot be deactivated: 409, said on the page.
    r = c.post("/admin/users/admin/active", data={"csrf_token": token, "active": "0"})
    assert r.status_code == 409 and "管理员" in r.text
