"""Co-handling over HTTP: dispatch with assisting units, the tasks of a case, their actions, and the
lead unit's submit held while a task is unfinished."""

from closeloop.db import new_session
from tests.factories import new_case

PROBLEM = "application/problem+json"


def _filed(engine, org) -> int:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        case = new_case(s, org)
        s.commit()
        assert case.id is not None
        return case.id


def _dispatch(client, auth, case_id: int, **body):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/cases/{case_id}/actions/dispatch",
        headers=auth("disp"),
        json={"unit_code": "ZJ", **body},
    )


def _task_act(client, headers, case_id, task_id, action, **body):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/cases/{case_id}/tasks/{task_id}/actions/{action}", headers=headers, json=body
    )


def test_the_co_handled_case_over_http(client, auth, engine, org):  # type: ignore[no-untyped-def]
    case_id = _filed(engine, org)
    r = _dispatch(client, auth, case_id, assist_unit_codes=["SW"])
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/cases/{case_id}/tasks", headers=auth("h_sw"))
    assert r.status_code == 200, r.text
    [task] = r.json()
    assert {"id", "unit_code", "state", "due_at", "note", "sign_due_at", "overdue"} <= task.keys()
    assert (task["unit_code"], task["state"]) == ("SW", "open")
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth("h_sw")).status_code == 200

    assert (
        client.post(
            f"/api/v1/cases/{case_id}/actions/sign", headers=auth("h_zj"), json={}
        ).status_code
        == 200
    )
    r = client.post(f"/api/v1/cases/{case_id}/actions/submit", headers=auth("h_zj"), json={})
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    assert "协办任务" in r.json()["detail"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=auth("h_zj")).json()
    assert "submit" not in case["allowed_actions"]

    r = _task_act(client, auth("h_zj"), case_id, task["id"], "sign")
    assert r.status_code == 403, r.text
    r = _task_act(client, auth("h_sw"), case_id, task["id"], "complete", note="完成")
    assert r.status_code == 409, r.text
    r = _task_act(client, auth("h_sw"), case_id, task["id"], "sign")
    assert r.status_code == 200 and r.json()["state"] == "signed"
    r = _task_act(client, auth("h_sw"), case_id, task["id"], "complete")
    assert r.status_code == 422 and "note" in r.json()["detail"]
    r = _task_act(client, auth("h_sw"), case_id, task["id"], "complete", note="管网已疏通")
    assert r.status_code == 200 and r.json()["state"] == "done"
    assert r.json()["note"] == "管网已疏通"
    case = client.get(f"/api/v1/cases/{case_id}", headers=auth("h_zj")).json()
    assert "submit" in case["allowed_actions"]
    r = client.post(f"/api/v1/cases/{case_id}/actions/submit", headers=auth("h_zj"), json={})
    assert r.status_code == 200 and r.json()["state"] == "verifying"
    hist = client.get(f"/api/v1/cases/{case_id}/history", headers=auth("disp")).json()
    assert [h["action"] for h in hist][-3:] == ["task_sign", "task_complete", "submit"]


def test_dispatch_refuses_bad_assisting_units(client, auth, engine, org):  # type: ignore[no-untyped-def]
    case_id = _filed(engine, org)
    for codes, named in ((["NOPE"], "NOPE"), (["ZJ"], "ZJ"), (["SW", "SW"], "SW")):
        r = _dispatch(client, auth, case_id, assist_unit_codes=codes)
        assert r.status_code == 422, r.text
        assert "assist_unit_codes" in r.json()["detail"] and named in r.json()["detail"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=auth("disp")).json()
    assert case["state"] == "reported"
    assert client.get(f"/api/v1/cases/{case_id}/tasks", headers=auth("disp")).json() == []


def test_waive_and_jurisdiction(client, auth, engine, org):  # type: ignore[no-untyped-def]
    case_id = _filed(engine, org)
    assert _dispatch(client, auth, case_id, assist_unit_codes=["SW"]).status_code == 200
    [task] = client.get(f"/api/v1/cases/{case_id}/tasks", headers=auth("disp")).json()
    # rep3 filed nothing here; disp_s2 covers another street: neither sees the case's tasks.
    for user in ("rep3", "disp_s2"):
        r = client.get(f"/api/v1/cases/{case_id}/tasks", headers=auth(user))
        assert r.status_code == 403, (user, r.text)
    r = _task_act(client, auth("h_sw"), case_id, task["id"], "waive", reason="不需要")
    assert r.status_code == 403
    r = _task_act(client, auth("disp"), case_id, task["id"], "waive")
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = _task_act(client, auth("disp"), case_id, task["id"], "waive", reason="无需水务配合")
    assert r.status_code == 200 and r.json()["state"] == "waived"
    assert r.json()["reason"] == "无需水务配合"
    r = _task_act(client, auth("disp"), case_id, 999999, "waive", reason="x")
    assert r.status_code == 404
    r = _task_act(client, auth("disp"), case_id, task["id"], "finish")
    assert r.status_code == 422
