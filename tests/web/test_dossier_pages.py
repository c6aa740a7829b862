"""The dossier on the pages: the handler's plan form, the supervisor's publish button and recheck
form, the notices list with the late ones marked."""

from models.enums import CaseKind, CaseState, Grade
from tests.factories import act, case_in
from tests.web.conftest import csrf_of

PLAN = {
    "measures": "加装泄漏报警装置",
    "funds": "8 万元",
    "responsible": "吴海涛",
    "deadline": "2025-10-31",
    "emergency_plan": "划定警戒区",
}


def test_plan_then_publish_on_the_case_page(web, session, org, clock):  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.dispatched, kind=CaseKind.hazard, grade=Grade.major)
    act(session, org, case, "sign", "h_zj")
    session.commit()
    h = web("h_zj")
    page = h.get(f"/cases/{case.id}").text
    assert 'data-testid="plan-form"' in page and 'data-testid="dossier-no-plan"' in page
    bad = h.post(f"/cases/{case.id}/plan", data={**PLAN, "funds": "", "csrf_token": csrf_of(page)})
    assert bad.status_code == 422 and "资金" in bad.text and "加装泄漏报警装置" in bad.text
    r = h.post(
        f"/cases/{case.id}/plan",
        data={**PLAN, "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    s = web("sup")
    page = s.get(f"/cases/{case.id}").text
    assert "吴海涛" in page and 'data-testid="action-publish"' in page
    assert 'data-testid="recheck-form"' not in page  # not yet awaiting verification
    listing = s.get("/notices").text
    assert "草稿" in listing and 'data-testid="notice-overdue"' not in listing
    notice_id = int(page.split('action="/notices/')[1].split("/")[0])
    r = s.post(
        f"/notices/{notice_id}/publish",
        data={"csrf_token": csrf_of(page), "next": f"/cases/{case.id}"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = s.get(f"/cases/{case.id}").text
    assert "罗应急挂〔2025〕1号" in page and 'data-testid="action-publish"' not in page
    assert s.get(f"/notices/{notice_id}.pdf").content.startswith(b"%PDF")


def test_a_late_notice_is_marked(web, session, org, clock):  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard, grade=Grade.major)
    session.commit()
    c = web("sup")
    page = c.get("/notices").text
    assert case.number in page and 'data-testid="notice-overdue"' not in page
    clock.advance(days=30)  # past the 5 working days (and the page session): log in again
    assert 'data-testid="notice-overdue"' in web("sup").get("/notices").text
