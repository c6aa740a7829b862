"""The admin builds the organisation over the API."""

from tests.factories import PASSWORD

PROBLEM = "application/problem+json"


def _post(client, headers, path, body):
    return client.post(f"/api/v1/{path}", headers=headers, json=body)


def test_admin_builds_a_district(client, auth):
    a = auth("admin")
    tree = [
        ("B1", "福田区", "district", None),
        ("BS1", "园岭街道", "street", "B1"),
        ("BC1", "百花社区", "community", "BS1"),
        ("BG1", "百花一网格", "grid", "BC1"),
    ]
    for code, name, level, parent in tree:
        r = _post(
            client,
            a,
            "regions",
            {"code": code, "name": name, "level": level, "parent_code": parent},
        )
        assert r.status_code == 201, r.text
    assert r.json()["path"] == "/B1/BS1/BC1/BG1/"
    r = _post(
        client, a, "units", {"code": "CG", "name": "区城市管理和综合执法局", "short_name": "城管"}
    )
    assert r.status_code == 201
    r = _post(client, a, "categories", {"code": "03", "name": "消防安全"})
    assert r.status_code == 201
    r = _post(
        client,
        a,
        "categories",
        {
            "code": "0301",
            "name": "消防通道堵塞",
            "parent_code": "03",
            "unit_code": "CG",
            "limit_days": 2,
            "sign_hours": 1,
        },
    )
    assert r.status_code == 201 and r.json()["limit_days"] == 2
    r = _post(
        client,
        a,
        "users",
        {
            "username": "grid7",
            "password": "long-enough-pw",
            "display_name": "网格员七",
            "role": "reporter",
            "region_code": "BG1",
        },
    )
    assert r.status_code == 201 and "password" not in r.json()
    login = client.post(
        "/api/v1/auth/token", data={"username": "grid7", "password": "long-enough-pw"}
    )
    assert login.status_code == 200
    regions = client.get("/api/v1/regions", headers=auth("rep1")).json()
    assert {"B1", "BS1", "BC1", "BG1"} <= {x["code"] for x in regions}
    cats = {c["code"]: c for c in client.get("/api/v1/categories", headers=a).json()}
    assert cats["03"]["is_leaf"] is False and cats["0301"]["is_leaf"] is True
    assert "CG" in {u["code"] for u in client.get("/api/v1/units", headers=a).json()}
    assert "grid7" in {u["username"] for u in client.get("/api/v1/users", headers=a).json()}


def test_duplicates_are_409(client, auth):
    a = auth("admin")
    for path, body in (
        ("regions", {"code": "S1", "name": "x", "level": "street", "parent_code": "D1"}),
        ("units", {"code": "ZJ", "name": "x", "short_name": "x"}),
        ("categories", {"code": "01", "name": "x"}),
        (
            "users",
            {
                "username": "disp",
                "password": "long-enough-pw",
                "display_name": "x",
                "role": "admin",
            },
        ),
    ):
        r = _post(client, a, path, body)
        assert r.status_code == 409, (path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM) and r.json()["detail"]


def test_bad_organisation_input_is_422(client, auth):
    a = auth("admin")
    bad = [
        ("regions", {"code": "X1", "name": "x", "level": "grid", "parent_code": "S1"}),
        ("regions", {"code": "X2", "name": "x", "level": "street", "parent_code": None}),
        ("regions", {"code": "X3", "name": "x", "level": "district", "parent_code": "D1"}),
        ("regions", {"code": "X4", "name": "x", "level": "planet", "parent_code": None}),
        ("regions", {"code": "bad code!", "name": "x", "level": "district"}),
        ("categories", {"code": "0199", "name": "x", "parent_code": "01"}),
        (
            "categories",
            {
                "code": "019901",
                "name": "x",
                "parent_code": "0101",
                "unit_code": "ZJ",
                "limit_days": 3,
            },
        ),
        (
            "categories",
            {
                "code": "0198",
                "name": "x",
                "parent_code": "01",
                "unit_code": "NOPE",
                "limit_days": 3,
            },
        ),
        (
            "users",
            {
                "username": "h9",
                "password": "long-enough-pw",
                "display_name": "x",
                "role": "handler",
            },
        ),
        (
            "users",
            {
                "username": "r9",
                "password": "long-enough-pw",
                "display_name": "x",
                "role": "reporter",
            },
        ),
        ("users", {"username": "r8", "password": "short", "display_name": "x", "role": "admin"}),
    ]
    before = {
        p: len(client.get(f"/api/v1/{p}", headers=a).json())
        for p in ("regions", "categories", "users")
    }
    for path, body in bad:
        r = _post(client, a, path, body)
        assert r.status_code == 422, (path, body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM) and r.json()["detail"]
    after = {
        p: len(client.get(f"/api/v1/{p}", headers=a).json())
        for p in ("regions", "categories", "users")
    }
    assert before == after


def test_only_admin_changes_the_organisation(client, auth):
    for user in ("rep1", "disp", "sup", "h_zj"):
        r = _post(client, auth(user), "units", {"code": "Q", "name": "q", "short_name": "q"})
        assert r.status_code == 403, user
        assert client.get("/api/v1/users", headers=auth(user)).status_code == 403


def test_unit_contacts_are_validated(client, auth):
    a = auth("admin")
    ok = _post(
        client,
        a,
        "units",
        {
            "code": "XF",
            "name": "区消防救援大队",
            "short_name": "消防",
            "email": "xf@example.gov.cn",
            "head_email": "head@example.gov.cn",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?x=1",
        },
    )
    assert ok.status_code == 201 and ok.json()["webhook_url"].startswith("https://")
    for bad in ({"email": "not-an-email"}, {"head_email": "a@b"}, {"webhook_url": "ftp://x"}):
        r = _post(client, a, "units", {"code": "Q1", "name": "q", "short_name": "q", **bad})
        assert r.status_code == 422, (bad, r.text)
    r = _post(
        client,
        a,
        "users",
        {
            "username": "m1",
            "password": "long-enough-pw",
            "display_name": "x",
            "role": "admin",
            "email": "bad",
        },
    )
    assert r.status_code == 422


def _patch(client, headers, path, body):
    return client.patch(f"/api/v1/{path}", headers=headers, json=body)


def test_every_patch_answers_the_object(client, auth):
    a = auth("admin")
    r = _patch(client, a, "regions/S1", {"name": "东门"})
    assert r.status_code == 200 and r.json()["name"] == "东门" and r.json()["path"] == "/D1/S1/"
    r = _patch(client, a, "units/ZJ", {"short_name": "住", "region_code": "D1"})
    assert r.status_code == 200 and r.json()["region_code"] == "D1" and r.json()["active"]
    r = _patch(client, a, "categories/0101", {"limit_days": 9, "active": False})
    assert r.status_code == 200 and r.json()["limit_days"] == 9 and r.json()["active"] is False
    assert r.json()["is_leaf"] is True
    r = _patch(client, a, "users/rep1", {"display_name": "网格员一"})
    assert r.status_code == 200 and r.json()["display_name"] == "网格员一"
    assert "password" not in r.json() and "password_hash" not in r.json()


def test_patch_refusals(client, auth):
    a = auth("admin")
    for path in ("regions/NOPE", "units/NOPE", "categories/NOPE", "users/nobody"):
        r = _patch(client, a, path, {"active": True})
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    for path, body in (
        ("regions/S1", {"code": "S9"}),  # the code is not a PATCH field
        ("regions/S1", {"name": None}),
        ("units/ZJ", {"name": ""}),
        ("units/ZJ", {"region_code": "S1"}),
        ("categories/0101", {"limit_days": 0}),
        ("users/rep1", {"username": "x"}),
        ("users/rep1", {"password": "short"}),
        ("users/rep1", {"role": "handler"}),
    ):
        r = _patch(client, a, path, body)
        assert r.status_code == 422, (path, body, r.text)
    for path, body, words in (
        ("regions/C1", {"active": False}, "deactivate them first"),
        ("regions/C1", {"level": "street", "parent_code": "D1"}, "cannot change"),
        ("users/admin", {"active": False}, "last active admin"),
        ("units/ZJ", {"active": False}, "another unit_code first"),
    ):
        r = _patch(client, a, path, body)
        assert r.status_code == 409 and words in r.json()["detail"], (path, r.text)
    assert _patch(client, auth("sup"), "units/ZJ", {"name": "x"}).status_code == 403


def test_region_move_over_the_api_rewrites_cases(client, auth):
    r = client.post(
        "/api/v1/cases",
        headers=auth("rep1"),
        json={
            "kind": "event",
            "title": "占道",
            "description": "d",
            "category_code": "0101",
            "grid_code": "G1",
            "address": "a",
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    r = _patch(client, auth("admin"), "regions/C1", {"parent_code": "S2"})
    assert r.status_code == 200 and r.json()["path"] == "/D1/S2/C1/"
    regions = {x["code"]: x for x in client.get("/api/v1/regions", headers=auth("admin")).json()}
    assert regions["G1"]["path"] == "/D1/S2/C1/G1/"
    # S2's supervisor now sees the case; the street it left no longer holds it.
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth("sup_s2")).status_code == 200
    tree = {n["code"]: n for n in client.get("/api/v1/regions/tree", headers=auth("admin")).json()}
    assert tree["S2"]["cases"] == 1 and tree["S1"]["cases"] == 0 and tree["C1"]["depth"] == 2


def test_deactivated_users_token_is_refused_at_once(client, auth):
    h = auth("disp")
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    r = _patch(client, auth("admin"), "users/disp", {"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/cases", headers=h).status_code == 401
    login = client.post("/api/v1/auth/token", data={"username": "disp", "password": PASSWORD})
    assert login.status_code == 401


def test_reset_password_then_must_change(client, auth):
    old = auth("rep1")
    r = client.post("/api/v1/users/rep1/reset-password", headers=auth("admin"))
    assert r.status_code == 200 and r.json()["username"] == "rep1"
    one_time = r.json()["password"]
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    users = {u["username"]: u for u in client.get("/api/v1/users", headers=auth("admin")).json()}
    assert users["rep1"]["must_change_password"] is True
    tok = client.post("/api/v1/auth/token", data={"username": "rep1", "password": one_time})
    assert tok.status_code == 200
    h = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    r = client.get("/api/v1/cases", headers=h)
    assert r.status_code == 403 and "/api/v1/auth/password" in r.json()["detail"]
    assert client.get("/api/v1/auth/me", headers=h).json()["must_change_password"] is True
    r = client.post(
        "/api/v1/auth/password", headers=h, json={"old_password": one_time, "new_password": "x"}
    )
    assert r.status_code == 422 and "new_password" in r.json()["detail"]
    r = client.post(
        "/api/v1/auth/password",
        headers=h,
        json={"old_password": one_time, "new_password": "my-own-password"},
    )
    assert r.status_code == 204
    assert client.get("/api/v1/cases", headers=h).status_code == 401  # every token was revoked
    tok = client.post(
        "/api/v1/auth/token", data={"username": "rep1", "password": "my-own-password"}
    )
    h = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    assert client.get("/api/v1/auth/me", headers=h).json()["must_change_password"] is False


def test_unlock_over_the_api(client, auth):
    a = auth("admin")
    for _ in range(5):
        client.post("/api/v1/auth/token", data={"username": "rep1", "password": "wrong"})
    r = client.post("/api/v1/auth/token", data={"username": "rep1", "password": PASSWORD})
    assert r.status_code == 429
    assert client.post("/api/v1/users/rep1/unlock", headers=a).status_code == 204
    r = client.post("/api/v1/auth/token", data={"username": "rep1", "password": PASSWORD})
    assert r.status_code == 200
    assert client.post("/api/v1/users/ghost/unlock", headers=a).status_code == 404
    assert client.post("/api/v1/users/rep1/unlock", headers=auth("sup")).status_code == 403


def test_units_filtered_by_region(client, auth):
    a = auth("admin")
    assert (
        _post(
            client, a, "regions", {"code": "D2", "name": "福田区", "level": "district"}
        ).status_code
        == 201
    )
    r = _post(
        client,
        a,
        "units",
        {"code": "FT", "name": "福田城管", "short_name": "福", "region_code": "D2"},
    )
    assert r.status_code == 201 and r.json()["region_code"] == "D2"
    r = _post(
        client, a, "units", {"code": "XX", "name": "x", "short_name": "x", "region_code": "S1"}
    )
    assert r.status_code == 422 and "region_code" in r.json()["detail"]
    codes = lambda q: [u["code"] for u in client.get(f"/api/v1/units{q}", headers=a).json()]  # noqa: E731
    assert codes("?region_code=G1") == ["SW", "ZJ"]
    assert codes("?region_code=D2") == ["FT", "SW", "ZJ"]
    assert codes("") == ["FT", "SW", "ZJ"]
    assert client.get("/api/v1/units?region_code=NOPE", headers=a).status_code == 422
