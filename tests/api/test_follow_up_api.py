"""POST /api/v1/cases/{id}/actions/follow_up (CONTRACT, Workflow): the answer is required and
named, the desk's unsatisfied answer sends the case back to its unit (重办)."""

from closeloop.db import new_session
from models.enums import CaseState
from tests.factories import case_in


def _closed(engine, org) -> int:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        case = case_in(s, org, CaseState.closed)
        s.commit()
        assert case.id is not None
        return case.id


def test_follow_up_through_the_api(client, auth, engine, org):  # type: ignore[no-untyped-def]
    case_id = _closed(engine, org)
    url = f"/api/v1/cases/{case_id}/actions/follow_up"
    shown = client.get(f"/api/v1/cases/{case_id}", headers=auth("disp")).json()
    assert "follow_up" in shown["allowed_actions"] and "rework" not in shown["allowed_actions"]

    missing = client.post(url, headers=auth("disp"), json={"note": "电话回访"})
    assert missing.status_code == 422
    assert "satisfied|basically_satisfied|unsatisfied" in missing.json()["detail"]
    bad = client.post(url, headers=auth("disp"), json={"satisfaction": "happy"})
    assert bad.status_code == 422 and "happy" in bad.json()["detail"]
    handler = client.post(url, headers=auth("h_zj"), json={"satisfaction": "satisfied"})
    assert handler.status_code == 403
    by_hand = client.post(
        f"/api/v1/cases/{case_id}/actions/rework", headers=auth("sup"), json={"note": "x"}
    )
    assert by_hand.status_code == 403

    r = client.post(url, headers=auth("disp"), json={"satisfaction": "unsatisfied", "note": "仍有"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["rework_count"], body["unit_code"]) == ("rectifying", 1, "ZJ")
    again = client.post(url, headers=auth("disp"), json={"satisfaction": "satisfied"})
    assert again.status_code == 409  # no longer closed
