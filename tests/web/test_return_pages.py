"""Return review on the pages: the admin keeps the reasons; the unit picks a reason when it
returns or asks; the supervisor decides a request from the dashboard; the desk re-dispatches."""

from sqlmodel import Session, select

from models.case import Case
from models.enums import CaseState
from models.history import CaseHistory
from tests.factories import Org, act, case_in
from tests.web.conftest import csrf_of


def test_the_admin_keeps_the_reasons(web) -> None:  # type: ignore[no-untyped-def]
    c = web("admin")
    assert 'href="/admin/return-reasons"' in c.get("/admin").text
    page = c.get("/admin/return-reasons")
    assert page.status_code == 200 and "非本单位职责" in page.text
    token = csrf_of(page.text)
    r = c.post(
        "/admin/return-reasons",
        data={"csrf_token": token, "code": "scope", "name": "超出职能", "seq": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = c.post(
        "/admin/return-reasons",
        data={"csrf_token": token, "code": "bad code", "name": "x"},
    )
    assert r.status_code == 422 and "bad code" in r.text  # redrawn with what was typed
    r = c.post(
        "/admin/return-reasons/duplicate",
        data={"csrf_token": token, "active": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = c.post(
        "/admin/return-reasons/scope",
        data={"csrf_token": token, "name": "", "name_en": "", "seq": "5"},
    )
    assert r.status_code == 422
    assert web("disp").get("/admin/return-reasons").status_code == 403


def _history(session: Session, case: Case) -> list[CaseHistory]:
    session.expire_all()
    rows = list(session.exec(select(CaseHistory).where(CaseHistory.case_id == case.id)))
    session.commit()  # end the read: the pages write next (SQLite locks the file)
    return rows


def test_return_with_a_reason_then_ask_then_refused(web, session: Session, org: Org) -> None:  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.dispatched)
    session.commit()
    h = web("h_zj")
    page = h.get(f"/cases/{case.id}")
    assert 'data-testid="reason-code-return"' in page.text and "地址不详" in page.text
    r = h.post(
        f"/cases/{case.id}/act/return",
        data={
            "csrf_token": csrf_of(page.text),
            "version": str(case.version),
            "reason": "地址不对",
            "reason_code": "address",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _history(session, case)[-1].data["reason_code"] == "address"
    session.refresh(case)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    session.commit()
    page = h.get(f"/cases/{case.id}")
    assert 'data-testid="form-request_return"' in page.text
    assert 'data-testid="form-return"' not in page.text
    r = h.post(
        f"/cases/{case.id}/act/request_return",
        data={
            "csrf_token": csrf_of(page.text),
            "version": str(case.version),
            "reason": "确非本单位",
            "reason_code": "not_ours",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    s = web("sup")
    dash = s.get("/dashboard")
    assert 'data-type="return"' in dash.text and "退单申请" in dash.text
    assert 'data-testid="form-reject_return"' in dash.text
    session.refresh(case)
    session.commit()
    r = s.post(
        f"/cases/{case.id}/act/reject_return",
        data={
            "csrf_token": csrf_of(dash.text),
            "version": str(case.version),
            "reason": "属本单位职责",
            "next": "/dashboard",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _history(session, case)[-1].action == "reject_return"


def test_the_desk_redispatches_from_the_case_page(web, session: Session, org: Org) -> None:  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.rectifying)
    session.commit()
    d = web("disp")
    page = d.get(f"/cases/{case.id}")
    assert 'data-testid="form-redispatch"' in page.text
    assert 'data-testid="reason-redispatch"' in page.text
    data = {"csrf_token": csrf_of(page.text), "version": str(case.version), "unit_code": "ZJ"}
    r = d.post(f"/cases/{case.id}/act/redispatch", data={**data, "reason": "换单位"})
    assert r.status_code == 422 and "ZJ" in r.text  # the same unit, redrawn
    r = d.post(
        f"/cases/{case.id}/act/redispatch",
        data={**data, "unit_code": "SW", "reason": "派错单位"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = d.get(f"/cases/{case.id}")
    assert 'data-testid="redispatched-units"' in page.text
