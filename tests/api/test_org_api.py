"""The admin builds the organisation over the API."""

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
