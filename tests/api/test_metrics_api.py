"""GET /api/v1/reports/metrics: the contract's shape, roles, and clear errors for bad queries."""

from datetime import datetime

from models.types import SHANGHAI
from tests.factories import act, new_case

URL = "/api/v1/reports/metrics"


def _filed(engine, org) -> None:  # type: ignore[no-untyped-def]
    from closeloop.db import new_session

    with new_session(engine) as s:
        day = datetime(2025, 9, 1, 9, tzinfo=SHANGHAI)
        c = new_case(s, org, now=day)
        act(s, org, c, "dispatch", "disp", day)
        new_case(s, org, grid="G3", by="rep3", now=day)
        s.commit()


def test_contract_shape_with_groups_and_ranks(client, auth, engine, org):  # type: ignore[no-untyped-def]
    _filed(engine, org)
    r = client.get(
        URL,
        params={"from": "2025-09-01", "to": "2025-09-30", "group_by": "street"},
        headers=auth("sup"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"]) == ("2025-09-01", "2025-09-30")
    assert body["as_of"].endswith("+08:00")
    fields = {
        "reported",
        "accepted",
        "closed",
        "closure_rate",
        "on_time_closure_rate",
        "overdue_open",
        "return_rate",
        "rework_rate",
        "sign_on_time_rate",
        "handling_days_median",
        "handling_days_mean",
        "letters",
        "listed",
        "score",
    }
    assert fields <= set(body["total"])
    assert body["total"]["reported"] == 2 and body["total"]["closure_rate"] == 0.0
    groups = {g["key"]: g for g in body["groups"]}
    assert {"key", "name", "rank"} <= set(groups["S1"])
    assert groups["S1"]["name"] == "东门街道"
    assert "并列" in body["ranking"]["method"]


def test_defaults_to_this_month_and_empty_rates_are_null(client, auth, org):  # type: ignore[no-untyped-def]
    r = client.get(URL, headers=auth("disp"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == "2025-09-01" and body["to"] == "2025-09-30"  # the clock: 30 Sep 2025
    assert body["total"]["closure_rate"] is None and body["groups"] == []


def test_weights_parameter(client, auth, engine, org):  # type: ignore[no-untyped-def]
    _filed(engine, org)
    params = {
        "from": "2025-09-01",
        "to": "2025-09-30",
        "weights": "closure_rate=1,on_time_closure_rate=0,no_rework=0,sign_on_time_rate=0",
    }
    body = client.get(URL, params=params, headers=auth("sup")).json()
    assert body["ranking"]["weights"]["closure_rate"] == 1 and body["total"]["score"] == 0.0
    bad = client.get(URL, params=params | {"weights": "speed=3"}, headers=auth("sup"))
    assert bad.status_code == 422 and "weights" in bad.json()["detail"]


def test_roles_and_errors(client, auth, org):  # type: ignore[no-untyped-def]
    assert client.get(URL).status_code == 401
    r = client.get(URL, headers=auth("rep1"))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    for params, says in (
        ({"from": "2025-09-30", "to": "2025-09-01"}, "before"),
        ({"group_by": "colour"}, "group_by"),
        ({"from": "30/09/2025"}, "from"),
        ({"region_code": "ZZ"}, "does not exist"),
    ):
        r = client.get(URL, params=params, headers=auth("sup"))
        assert r.status_code == 422, (params, r.text)
        assert says in r.json()["detail"], r.json()
    assert client.get(URL, params={"region_code": "S1"}, headers=auth("sup_s2")).status_code == 403
