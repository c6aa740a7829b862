from models.enums import CaseState
from tests.factories import PASSWORD, case_in


def test_login_and_file(client, org):
    r = client.post("/api/v1/auth/token", data={"username": "rep1", "password": PASSWORD})
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = client.post(
        "/api/v1/cases",
        headers=h,
        json={"kind": "event", "title": "占道", "category_code": "0101", "grid_code": "G1"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "reported"


def test_walk(session, org):
    c = case_in(session, org, CaseState.closed)
    assert c.state == "closed"
