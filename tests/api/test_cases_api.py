"""Cases over HTTP: filing, the lifecycle walked through the API, refusals, jurisdiction."""

from tests.factories import EVENT_BODY, PASSWORD

PROBLEM = "application/problem+json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _file(client, headers, **over):
    body = {**EVENT_BODY, **over}
    return client.post("/api/v1/cases", headers=headers, json=body)


def _act(client, headers, case, action, **body):
    return client.post(
        f"/api/v1/cases/{case['id']}/actions/{action}",
        headers=headers,
        json={"version": case["version"], **body},
    )


def test_reporter_files_event_with_location(client, auth):
    r = _file(client, auth("rep1"))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["state"] == "reported" and case["kind"] == "event"
    assert case["location"] == {"lat": 22.548, "lon": 114.118}
    assert case["number"].startswith("SJ2025")
    assert case["grid_code"] == "G1" and case["street_code"] == "S1"
    assert case["allowed_actions"] == []  # a reporter cannot dispatch
    as_disp = client.get(f"/api/v1/cases/{case['id']}", headers=auth("disp")).json()
    assert set(as_disp["allowed_actions"]) == {"dispatch", "cancel", "merge"}


def test_reporter_cannot_file_hazard_or_outside_grid(client, auth):
    r = _file(client, auth("rep1"), kind="hazard", grade="general")
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    r = _file(client, auth("rep1"), grid_code="G3")
    assert r.status_code == 403
    assert client.get("/api/v1/cases", headers=auth("disp")).json()["total"] == 0


def test_bad_filing_input_is_422_and_writes_nothing(client, auth):
    h = auth("disp")
    for body in (
        {"category_code": "nope"},
        {"grid_code": "S1"},
        {"category_code": "01"},
        {"kind": "hazard"},
        {"grade": "major"},
        {"title": ""},
        {"location": {"lat": 200, "lon": 0}},
        {"kind": "letter"},
        {"colour": "red"},
    ):
        r = _file(client, h, **body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["detail"]
    assert client.get("/api/v1/cases", headers=h).json()["total"] == 0


def test_whole_lifecycle_through_the_api(client, auth):
    disp, h_zj, sup = auth("disp"), auth("h_zj"), auth("sup")
    case = _file(
        client, disp, kind="hazard", grade="major", category_code="0201", title="脚手架未设防护网"
    ).json()
    assert case["number"].startswith("YH2025")
    case = _act(client, disp, case, "dispatch").json()
    assert case["state"] == "dispatched" and case["unit_code"] == "ZJ" and case["listed"]
    assert case["due_at"].startswith("2025-10-21T23:59:59+08:00")  # 10 working days, 10-11 is 调休
    r = _act(client, h_zj, case, "return")
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    case = _act(client, h_zj, case, "sign").json()
    assert case["state"] == "rectifying"
    assert "submit" not in case["allowed_actions"]  # a major hazard: its 五到位 plan first
    plan = {"measures": "补设防护网", "funds": "2 万元", "responsible": "张三"}
    plan |= {"deadline": "2025-10-20", "emergency_plan": "设置警戒区"}
    r = client.post(f"/api/v1/cases/{case['id']}/plan", headers=h_zj, json=plan)
    assert r.status_code == 201, r.text
    case = client.get(f"/api/v1/cases/{case['id']}", headers=h_zj).json()
    assert "submit" in case["allowed_actions"] and "request_extension" in case["allowed_actions"]
    case = _act(client, h_zj, case, "request_extension", days=3, reason="材料到货延迟").json()
    assert "request_extension" not in case["allowed_actions"]
    case = client.get(f"/api/v1/cases/{case['id']}", headers=sup).json()
    assert {"approve_extension", "reject_extension", "suspend"} <= set(case["allowed_actions"])
    case = _act(client, sup, case, "approve_extension").json()
    assert case["due_at"].startswith("2025-10-24T23:59:59+08:00") and case["deadline_version"] == 2
    case = _act(client, sup, case, "suspend", reason="等待业主配合").json()
    assert case["state"] == "suspended"
    case = _act(client, sup, case, "resume").json()
    r = _act(client, h_zj, case, "submit", note="已整改")
    assert r.status_code == 422 and "evidence" in r.json()["detail"]
    up = client.post(
        f"/api/v1/cases/{case['id']}/attachments",
        headers=h_zj,
        files={"file": ("after.png", PNG, "image/png")},
    )
    assert up.status_code == 201, up.text
    case = _act(
        client, h_zj, case, "submit", note="已整改", attachment_ids=[up.json()["id"]]
    ).json()
    assert case["state"] == "verifying"
    r = _act(client, disp, case, "approve")
    assert r.status_code == 403  # hazards are verified by leadership
    case = _act(client, sup, case, "reject", reason="防护网不完整").json()
    assert case["state"] == "rectifying" and case["rework_count"] == 1
    case = _act(client, h_zj, case, "submit", attachment_ids=[up.json()["id"]]).json()
    r = client.post(f"/api/v1/cases/{case['id']}/recheck", headers=sup, json={"result": "pass"})
    assert r.status_code == 201, r.text  # a major hazard closes after a passing recheck (复查)
    case = _act(client, sup, case, "approve", note="销号").json()
    assert case["state"] == "closed" and case["closed_at"]
    case = _act(client, sup, case, "reopen", reason="隐患反弹").json()
    assert case["state"] == "rectifying" and case["closed_at"] is None
    hist = client.get(f"/api/v1/cases/{case['id']}/history", headers=sup).json()
    assert [h["action"] for h in hist] == [
        "file",
        "dispatch",
        "sign",
        "plan",
        "request_extension",
        "approve_extension",
        "suspend",
        "resume",
        "submit",
        "reject",
        "submit",
        "recheck",
        "approve",
        "reopen",
    ]
    assert [h["seq"] for h in hist] == list(range(1, 15))
    assert hist[1]["from_state"] == "reported" and hist[1]["to_state"] == "dispatched"
    assert hist[9]["note"] == "防护网不完整" and hist[0]["actor"] == "disp 测试"


def test_event_cancel_merge_and_return(client, auth):
    rep, disp, h_zj = auth("rep1"), auth("disp"), auth("h_zj")
    first = _file(client, rep).json()
    dup = _file(client, rep).json()
    junk = _file(client, rep).json()
    r = _act(client, disp, dup, "merge", target_case_id=first["id"])
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert r.json()["merged_into_id"] == first["id"]
    assert (
        _act(client, disp, junk, "cancel", reason="不属于受理范围").json()["state"] == "cancelled"
    )
    case = _act(client, disp, first, "dispatch", unit_code="ZJ").json()
    case = _act(client, h_zj, case, "return", reason="不属于本单位职责").json()
    assert case["state"] == "reported" and case["unit_code"] is None
    assert client.get(f"/api/v1/cases/{case['id']}", headers=h_zj).status_code == 403
    case = _act(client, disp, case, "dispatch", unit_code="SW").json()
    assert case["unit_code"] == "SW"


def test_not_allowed_in_state_is_409_naming_state_and_actions(client, auth):
    case = _file(client, auth("rep1")).json()
    r = _act(client, auth("disp"), case, "approve")
    assert r.status_code == 409
    body = r.json()
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "reported" in body["detail"] and "dispatch" in body["detail"]
    assert body["state"] == "reported"
    assert set(body["allowed_actions"]) == {"dispatch", "cancel", "merge"}


def test_stale_version_is_409_and_changes_nothing(client, auth):
    disp = auth("disp")
    case = _file(client, auth("rep1")).json()
    assert _act(client, disp, case, "dispatch").status_code == 200
    r = _act(client, disp, case, "cancel", reason="重复")  # still sends version 1
    assert r.status_code == 409 and "version" in r.json()["detail"]
    now = client.get(f"/api/v1/cases/{case['id']}", headers=disp).json()
    assert now["state"] == "dispatched" and now["version"] == 2


def test_unknown_action_and_case(client, auth):
    case = _file(client, auth("rep1")).json()
    r = client.post(f"/api/v1/cases/{case['id']}/actions/explode", headers=auth("disp"), json={})
    assert r.status_code == 404 and "explode" in r.json()["detail"]
    assert client.get("/api/v1/cases/99999", headers=auth("disp")).status_code == 404
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch",
        headers=auth("disp"),
        content=b"{not json",
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch",
        headers=auth("disp"),
        json={"unit_code": "NOPE"},
    )
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch", headers=auth("disp"), json={"limit_days": 0}
    )
    assert r.status_code == 422


def test_jurisdiction_in_lists_and_reads(client, auth):
    rep1, rep3 = auth("rep1"), auth("rep3")
    mine = _file(client, rep1).json()
    theirs = _file(client, rep3, grid_code="G3", category_code="0102").json()
    _act(client, auth("disp"), mine, "dispatch")
    _act(client, auth("disp"), theirs, "dispatch")

    def ids(user, **params):
        r = client.get("/api/v1/cases", headers=auth(user), params=params)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    assert ids("rep1") == {mine["id"]}
    assert ids("rep3") == {theirs["id"]}
    assert ids("h_zj") == {mine["id"]}
    assert ids("h_sw") == {theirs["id"]}
    assert ids("disp") == {mine["id"], theirs["id"]}
    assert ids("disp_s2") == {theirs["id"]}
    assert ids("sup_s2") == {theirs["id"]}
    assert ids("admin") == {mine["id"], theirs["id"]}
    assert ids("disp", region_code="S1") == {mine["id"]}
    assert ids("disp", unit_code="SW") == {theirs["id"]}
    assert ids("disp", q="占道") == {mine["id"], theirs["id"]}
    assert ids("disp", q=theirs["number"]) == {theirs["id"]}
    assert ids("disp", state="dispatched", kind="event") == {mine["id"], theirs["id"]}
    assert ids("disp", overdue="true") == set()
    for user, case in (("rep1", theirs), ("h_sw", mine), ("disp_s2", mine)):
        r = client.get(f"/api/v1/cases/{case['id']}", headers=auth(user))
        assert r.status_code == 403, user
        assert (
            client.get(f"/api/v1/cases/{case['id']}/history", headers=auth(user)).status_code == 403
        )
    r = _act(client, auth("disp_s2"), mine, "cancel", reason="x")
    assert r.status_code == 403


def test_overdue_filter_and_paging(client, auth, clock):
    disp = auth("disp")
    made = [_file(client, auth("rep1"), title=f"事件{i}").json() for i in range(5)]
    _act(client, disp, made[0], "dispatch", limit_days=1)
    clock.advance(days=20)
    token = client.post("/api/v1/auth/token", data={"username": "disp", "password": PASSWORD})
    disp = {"Authorization": f"Bearer {token.json()['access_token']}"}  # the old one expired
    r = client.get("/api/v1/cases", headers=disp, params={"overdue": "true"}).json()
    assert [c["id"] for c in r["items"]] == [made[0]["id"]]
    page = client.get("/api/v1/cases", headers=disp, params={"page": 2, "page_size": 2}).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["page"] == 2
    assert client.get("/api/v1/cases", headers=disp, params={"page": 0}).status_code == 422
    assert client.get("/api/v1/cases", headers=disp, params={"state": "bogus"}).status_code == 422


def test_nul_characters_are_refused_not_a_500(client, auth):
    r = client.post("/api/v1/auth/token", data={"username": "\x00", "password": "x"})
    assert r.status_code in (401, 422) and r.headers["content-type"].startswith(PROBLEM)
    r = client.get("/api/v1/cases", headers=auth("disp"), params={"q": "占道\x00"})
    assert r.status_code in (200, 422) and r.status_code != 500
    r = _file(client, auth("rep1"), title="井盖\x00缺失")
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        assert client.get("/api/v1/cases", headers=auth("disp")).json()["total"] == 0


def test_a_refusal_names_the_case_once_per_language(client, auth):
    mine = _file(client, auth("rep1")).json()
    r = client.get(f"/api/v1/cases/{mine['id']}", headers=auth("h_sw"))
    assert r.status_code == 403
    n = mine["number"]
    assert r.json()["detail"] == (
        f"案件 {n}不在您的管辖范围内 / case {n} is outside your jurisdiction"
    )


def test_the_list_filters_by_place_category_flags_dates_and_sorts(client, auth):
    disp = auth("disp")
    east = _file(client, auth("rep1")).json()
    south = _file(client, auth("rep3"), grid_code="G3", category_code="0102").json()
    hazard = _file(
        client,
        disp,
        kind="hazard",
        grade="major",
        grid_code="G2",
        category_code="0201",
        urgent=True,
    ).json()
    _act(client, disp, hazard, "dispatch")

    def ids(**params):
        r = client.get("/api/v1/cases", headers=disp, params=params)
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"items", "total", "page", "page_size"}
        return [c["id"] for c in r.json()["items"]]

    assert set(ids(street_code="S1")) == {east["id"], hazard["id"]}
    assert ids(community_code="C2") == [south["id"]]
    assert ids(grid_code="G2") == [hazard["id"]]
    assert set(ids(category_code="01")) == {east["id"], south["id"]}
    assert ids(grade="major") == ids(listed="true") == ids(urgent="true") == [hazard["id"]]
    assert set(ids(state=["reported", "dispatched"])) == {east["id"], south["id"], hazard["id"]}
    assert ids(state="dispatched") == [hazard["id"]]
    today = "2025-09-30"  # the fixed clock: 10:00 in Shanghai
    assert len(ids(reported_from=today, reported_to=today)) == 3
    assert ids(reported_to="2025-09-29") == []
    assert ids(sort="reported_at") == [east["id"], south["id"], hazard["id"]]
    assert ids(sort="-reported_at") == ids() == [hazard["id"], south["id"], east["id"]]
    assert ids(sort="-dispatched_at")[0] == hazard["id"]


def test_bad_list_queries_are_422_naming_the_field(client, auth):
    disp = auth("disp")
    for params, field in (
        ({"street_code": "C1"}, "street_code"),
        ({"community_code": "G1"}, "community_code"),
        ({"grid_code": "S1"}, "grid_code"),
        ({"reported_from": "2025-09-30", "reported_to": "2025-09-01"}, "reported_to"),
        ({"due_from": "2025-09-30", "due_to": "2025-09-01"}, "due_to"),
        ({"closed_from": "2025-09-30", "closed_to": "2025-09-01"}, "closed_to"),
        ({"reported_from": "30/09/2025"}, "reported_from"),
        ({"sort": "title"}, "dispatched_at"),
        ({"grade": "huge"}, "grade"),
        ({"state": ["closed", "bogus"]}, "state"),
    ):
        for path in ("/api/v1/cases", "/api/v1/cases.xlsx"):
            r = client.get(path, headers=disp, params=params)
            assert r.status_code == 422, (path, params, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)
            assert field in r.text, (params, r.text)


def test_filing_with_an_idempotency_key(client, auth):
    rep1 = auth("rep1")
    key = {"Idempotency-Key": "8f14e45f-ceea-467f-a0e6-2a3b4c5d6e7f"}
    first = client.post("/api/v1/cases", headers={**rep1, **key}, json=_body())
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/cases", headers={**rep1, **key}, json=_body())
    assert again.status_code == 201 and again.json() == first.json()
    other = client.post("/api/v1/cases", headers={**rep1, **key}, json=_body(title="另一件"))
    assert other.status_code == 422 and "another request" in other.json()["detail"]
    for bad in ("", "has space", "x" * 201):
        r = client.post("/api/v1/cases", headers={**rep1, "Idempotency-Key": bad}, json=_body())
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"], bad
    assert client.get("/api/v1/cases", headers=auth("disp")).json()["total"] == 1
    plain = client.post("/api/v1/cases", headers=rep1, json=_body())
    assert plain.status_code == 201 and plain.json()["id"] != first.json()["id"]


def test_an_idempotency_key_expires_after_24_hours(client, auth, clock):
    key = {"Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/cases", headers={**auth("rep1"), **key}, json=_body())
    clock.advance(hours=24, seconds=1)
    token = client.post("/api/v1/auth/token", data={"username": "rep1", "password": PASSWORD})
    rep1 = {"Authorization": f"Bearer {token.json()['access_token']}", **key}
    later = client.post("/api/v1/cases", headers=rep1, json=_body())
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]


def _body(**over):
    body = {"kind": "event", "title": "占道经营", "category_code": "0101", "grid_code": "G1"}
    body.update(over)
    return body
