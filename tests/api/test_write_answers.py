"""Filing and a case action run in one thread hop with the sign-in done first (api/deps.signed_in,
Reader.run): the same answers, refusals and commits as the plain FastAPI route gave."""

import json

from closeloop.cases import service as cases
from closeloop.db import new_session
from models.case import CasePublic
from tests.factories import EVENT_BODY, NOW

BODY = EVENT_BODY


def _expected(engine, org, username: str, case_id: int) -> CasePublic:
    """The case as the service shows it to `username`, validated as a response model is."""
    with new_session(engine) as s:
        actor = org[username]
        case = cases.load_case(s, actor=actor, case_id=case_id)
        return CasePublic.model_validate(cases.public_one(s, case, actor, NOW).model_dump())


def test_filing_and_an_action_answer_the_validated_model_and_commit(engine, client, auth, org):
    r = client.post("/api/v1/cases", headers=auth("rep1"), json=BODY)
    assert r.status_code == 201, r.text
    filed = r.json()
    expected = _expected(engine, org, "rep1", filed["id"])
    assert filed == json.loads(expected.model_dump_json())  # committed before the answer
    r = client.post(
        f"/api/v1/cases/{filed['id']}/actions/dispatch",
        headers=auth("disp"),
        json={"version": filed["version"]},
    )
    assert r.status_code == 200, r.text
    # The bytes FastAPI's response_model gave: the validated model's JSON.
    assert r.content == _expected(engine, org, "disp", filed["id"]).model_dump_json().encode()
    assert r.headers["content-type"] == "application/json"
    assert r.json()["state"] == "dispatched" and r.json()["version"] == filed["version"] + 1


def test_a_refused_action_writes_nothing_and_keeps_the_problem_answer(engine, client, auth, org):
    filed = client.post("/api/v1/cases", headers=auth("rep1"), json=BODY).json()
    r = client.post(
        f"/api/v1/cases/{filed['id']}/actions/dispatch",
        headers=auth("disp"),
        json={"version": filed["version"], "unit_code": "NOPE"},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")
    assert "NOPE" in r.json()["detail"]
    again = client.get(f"/api/v1/cases/{filed['id']}", headers=auth("disp")).json()
    assert again["state"] == "reported" and again["version"] == filed["version"]


def test_sign_in_is_checked_before_the_body(client, auth):
    """No token: 401 even with a body that would be refused (as a dependency, the sign-in runs
    before the parameters are validated); a bad body with a token: 422."""
    bad = {**BODY, "kind": "nonsense"}
    assert client.post("/api/v1/cases", json=bad).status_code == 401
    r = client.post("/api/v1/cases/1/actions/dispatch", json={"version": "x"})
    assert r.status_code == 401
    r = client.post("/api/v1/cases", headers=auth("rep1"), json=bad)
    assert r.status_code == 422


def test_a_user_who_must_change_the_password_may_not_file(client, auth):
    r = client.post("/api/v1/users/rep1/reset-password", headers=auth("admin"))
    one_time = r.json()["password"]
    tok = client.post("/api/v1/auth/token", data={"username": "rep1", "password": one_time})
    h = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    r = client.post("/api/v1/cases", headers=h, json=BODY)
    assert r.status_code == 403 and "/api/v1/auth/password" in r.json()["detail"]
    r = client.post("/api/v1/cases/1/actions/dispatch", headers=h, json={})
    assert r.status_code == 403
