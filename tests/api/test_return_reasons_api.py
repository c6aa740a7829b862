"""Return reasons over HTTP: anyone signed in reads the list, the admin keeps it; the return
actions take a reason code from it."""

PROBLEM = "application/problem+json"


def _codes(client, headers, **params):
    r = client.get("/api/v1/return-reasons", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [x["code"] for x in r.json()]


def _case(client, auth):
    body = {
        "kind": "event",
        "title": "占道经营",
        "category_code": "0101",
        "grid_code": "G1",
        "address": "东门路12号",
    }
    case = client.post("/api/v1/cases", headers=auth("rep1"), json=body).json()
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch",
        headers=auth("disp"),
        json={"unit_code": "ZJ"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_everyone_signed_in_reads_the_list_in_order(client, auth):
    for user in ("rep1", "h_zj", "disp", "admin"):
        assert _codes(client, auth(user)) == ["not_ours", "address", "duplicate", "other"]
    assert client.get("/api/v1/return-reasons").status_code == 401


def test_the_admin_adds_renames_and_deactivates(client, auth):
    a = auth("admin")
    r = client.post(
        "/api/v1/return-reasons",
        headers=a,
        json={"code": "scope", "name": "超出职能范围", "name_en": "outside remit", "seq": 4},
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "code": "scope",
        "name": "超出职能范围",
        "name_en": "outside remit",
        "seq": 4,
        "active": True,
    }
    assert _codes(client, a) == ["not_ours", "address", "duplicate", "scope", "other"]
    r = client.post("/api/v1/return-reasons", headers=a, json={"code": "scope", "name": "又一个"})
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    r = client.patch("/api/v1/return-reasons/scope", headers=a, json={"name": "超出本单位职能"})
    assert r.status_code == 200 and r.json()["name"] == "超出本单位职能"
    r = client.patch("/api/v1/return-reasons/duplicate", headers=a, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert "duplicate" not in _codes(client, a)
    assert "duplicate" in _codes(client, a, include_inactive="true")
    assert client.patch("/api/v1/return-reasons/nope", headers=a, json={}).status_code == 404
    r = client.patch("/api/v1/return-reasons/scope", headers=a, json={"name": None})
    assert r.status_code == 422
    r = client.post("/api/v1/return-reasons", headers=a, json={"code": "bad code", "name": "x"})
    assert r.status_code == 422


def test_only_the_admin_keeps_it(client, auth):
    for user in ("disp", "sup", "h_zj"):
        r = client.post(
            "/api/v1/return-reasons", headers=auth(user), json={"code": "x", "name": "x"}
        )
        assert r.status_code == 403
        r = client.patch("/api/v1/return-reasons/other", headers=auth(user), json={"seq": 1})
        assert r.status_code == 403


def test_return_with_a_reason_code(client, auth):
    case = _case(client, auth)
    url = f"/api/v1/cases/{case['id']}/actions/return"
    r = client.post(
        url, headers=auth("h_zj"), json={"reason": "不归我们", "reason_code": "nonsense"}
    )
    assert r.status_code == 422 and "reason_code" in r.json()["detail"]
    r = client.post(
        url, headers=auth("h_zj"), json={"reason": "地址不对", "reason_code": "address"}
    )
    assert r.status_code == 200 and r.json()["state"] == "reported"
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=auth("disp")).json()
    assert history[-1]["data"]["reason_code"] == "address"
    assert history[-1]["data"]["reason_name"] == "地址不详"
    # Dispatched again to ZJ: only a request; the supervisor refuses it.
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch",
        headers=auth("disp"),
        json={"unit_code": "ZJ"},
    )
    assert (
        r.status_code == 200
        and "request_return"
        in client.get(f"/api/v1/cases/{case['id']}", headers=auth("h_zj")).json()["allowed_actions"]
    )
    r = client.post(url, headers=auth("h_zj"), json={"reason": "还是不对"})
    assert r.status_code == 409 and "request_return" in r.json()["detail"]
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/request_return",
        headers=auth("h_zj"),
        json={"reason": "确非本单位", "reason_code": "not_ours"},
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/reject_return",
        headers=auth("sup"),
        json={"reason": "属本单位职责"},
    )
    assert r.status_code == 200 and r.json()["state"] == "dispatched"
    assert r.json()["unit_code"] == "ZJ"
