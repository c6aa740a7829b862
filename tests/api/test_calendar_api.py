"""The working-day calendar over the API, and admin overrides that move deadlines."""


def test_known_year_from_the_package(client, auth):
    r = client.get("/api/v1/calendar", params={"year": 2025}, headers=auth("disp"))
    body = r.json()
    assert r.status_code == 200 and body["known"] is True and body["source"] == "chinesecalendar"
    assert "2025-10-01" in body["days_off_on_weekdays"]
    assert "2025-10-11" in body["workdays_on_weekends"]


def test_admin_enters_next_years_notice_and_deadlines_follow(client, auth):
    a = auth("admin")
    r = client.get("/api/v1/calendar", params={"year": 2031}, headers=a).json()
    assert r["known"] is False and r["source"] == "weekdays (estimated)"
    notice = [
        {"day": "2031-01-01", "workday": False, "note": "元旦"},
        {"day": "2031-01-02", "workday": False, "note": "元旦"},
        {"day": "2031-01-04", "workday": True, "note": "调休上班"},
    ]
    r = client.post("/api/v1/calendar", headers=a, json=notice)
    assert r.status_code == 201 and len(r.json()) == 3
    view = client.get("/api/v1/calendar", params={"year": 2031}, headers=a).json()
    assert view["known"] is True and view["source"] == "overrides"
    assert "2031-01-01" in view["days_off_on_weekdays"]
    assert "2031-01-04" in view["workdays_on_weekends"]
    r = client.post(
        "/api/v1/calendar", headers=a, json={"day": "2031-01-02", "workday": True, "note": "更正"}
    )
    assert r.status_code == 201
    view = client.get("/api/v1/calendar", params={"year": 2031}, headers=a).json()
    assert "2031-01-02" not in view["days_off_on_weekdays"]


def test_override_moves_a_dispatch_deadline(client, auth):
    a = auth("admin")
    # 2025-10-09 and 10-10 become local days off: 2 working days from 09-30 now end 10-13.
    client.post(
        "/api/v1/calendar",
        headers=a,
        json=[
            {"day": "2025-10-09", "workday": False, "note": "台风停工"},
            {"day": "2025-10-10", "workday": False, "note": "台风停工"},
        ],
    )
    case = client.post(
        "/api/v1/cases",
        headers=auth("rep1"),
        json={"kind": "event", "title": "积水", "category_code": "0102", "grid_code": "G1"},
    ).json()
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/dispatch", headers=auth("disp"), json={"limit_days": 2}
    )
    # 10-11 (a 调休 Saturday) and 10-13 are the two working days left.
    assert r.json()["due_at"] == "2025-10-13T23:59:59+08:00"


def test_bad_calendar_input(client, auth):
    a = auth("admin")
    r = client.post(
        "/api/v1/calendar",
        headers=a,
        json=[{"day": "2031-01-05", "workday": True}, {"day": "2031-01-05", "workday": False}],
    )
    assert r.status_code == 422 and "twice" in r.json()["detail"]
    assert client.post("/api/v1/calendar", headers=a, json=[]).status_code == 422
    assert (
        client.post(
            "/api/v1/calendar", headers=a, json={"day": "not-a-date", "workday": True}
        ).status_code
        == 422
    )
    assert client.get("/api/v1/calendar", params={"year": 99999}, headers=a).status_code == 422
