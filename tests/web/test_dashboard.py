"""The supervisor's dashboard and the downloads behind it, on the cookie session."""

import re
from datetime import timedelta

from closeloop.letters import service as letters
from models.enums import LetterType
from tests.factories import NOW, act, case_in
from tests.web.conftest import csrf_of


def test_dashboard_shows_figures_requests_overdue_and_letters(web, session, org):
    case_in(session, org, "closed")
    late = case_in(session, org, "rectifying", now=NOW - timedelta(days=20))
    asking = case_in(session, org, "rectifying")
    act(session, org, asking, "request_extension", "h_zj", days=3, reason="采购材料")
    letter = letters.issue_letter(
        session,
        letter_type=LetterType.supervision,
        unit_code="ZJ",
        case_ids=[late.id],
        now=NOW,
        actor=org["sup"],
    )
    session.commit()
    c = web("sup")
    page = c.get("/dashboard").text
    figure = re.search(r'data-testid="fig-closure-rate">([^<]+)<', page).group(1)
    assert figure.endswith("%")
    assert 'data-testid="chart-street"' in page and "<svg" in page
    assert 'data-testid="ranking"' in page and "东门街道" in page
    overdue = page.split('data-testid="overdue-cases"')[1].split("</section>")[0]
    assert late.number in overdue
    requests = page.split('data-testid="pending-requests"')[1].split("</section>")[0]
    assert asking.number in requests and "采购材料" in requests
    assert letter.number in page
    # Approve the extension from the dashboard.
    form = re.search(
        rf'action="/cases/{asking.id}/act/approve_extension".*?</form>', requests, re.S
    )
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))
    r = c.post(f"/cases/{asking.id}/act/approve_extension", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?ok=approve_extension"
    after = c.get("/dashboard").text
    assert (
        asking.number not in after.split('data-testid="pending-requests"')[1].split("</section>")[0]
    )
    # The letter's PDF streams on the cookie session; a handler of another unit is refused.
    pdf = c.get(f"/letters/{letter.id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert web("h_sw").get(f"/letters/{letter.id}.pdf").status_code == 403


def test_dashboard_is_for_supervisors(web, org):
    r = web("h_zj").get("/dashboard")
    assert r.status_code == 403 and 'data-testid="error"' in r.text


def test_reject_suspension_needs_a_reason_and_keeps_nothing(web, session, org):
    case = case_in(session, org, "rectifying")
    act(session, org, case, "request_suspension", "h_zj", reason="产权纠纷")
    session.commit()
    c = web("sup")
    token = csrf_of(c.get("/dashboard").text)
    r = c.post(
        f"/cases/{case.id}/act/reject_suspension",
        data={"csrf_token": token, "reason": "", "version": str(case.version)},
    )
    assert r.status_code == 422 and "需要填写原因" in r.text
    assert 'data-testid="form-reject_suspension"' in r.text


def test_a_supervisor_issues_a_letter_from_the_case_page(web, session, org):
    case = case_in(session, org, "rectifying")
    session.commit()
    c = web("sup")
    page = c.get(f"/cases/{case.id}").text
    assert 'data-testid="form-letter"' in page
    token = csrf_of(page)
    r = c.post(
        f"/cases/{case.id}/letter",
        data={"csrf_token": token, "letter_type": "bogus", "reason": "多次催办未果"},
    )
    assert r.status_code == 422 and "多次催办未果" in r.text
    r = c.post(
        f"/cases/{case.id}/letter",
        data={"csrf_token": token, "letter_type": "supervision", "reason": "多次催办未果"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}?ok=letter"
    page = c.get(r.headers["location"]).text
    letters_part = page.split('data-testid="case-letters"')[1].split("</ul>")[0]
    assert "罗应急督〔2025〕1号" in letters_part
    assert "罗应急督〔2025〕1号" in web("h_zj").get("/letters").text
    desk = web("disp")
    page = desk.get(f"/cases/{case.id}").text
    assert 'data-testid="form-letter"' not in page
    r = desk.post(
        f"/cases/{case.id}/letter", data={"csrf_token": csrf_of(page), "letter_type": "supervision"}
    )
    assert r.status_code == 403 and "需要角色：督办" in r.text


def test_reports_are_listed_and_downloaded_on_the_cookie_session(web, session, org):
    from closeloop.reports import service as reports

    case_in(session, org, "closed")
    report = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-09", now=NOW
    )
    session.commit()
    c = web("sup")
    page = c.get("/dashboard").text
    part = page.split('data-testid="reports"')[1].split("</section>")[0]
    assert f'href="/reports/{report.id}.xlsx"' in part
    xlsx = c.get(f"/reports/{report.id}.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    html = c.get(f"/reports/{report.id}.html")
    assert html.status_code == 200 and "2025" in html.text
    assert c.get(f"/reports/{report.id}.doc").status_code == 404
    assert web("h_zj").get(f"/reports/{report.id}.xlsx").status_code == 403


def test_suspended_cases_are_resumed_from_the_dashboard(web, session, org):
    case = case_in(session, org, "suspended")
    hazard = case_in(session, org, "verifying", kind="hazard")
    session.commit()
    c = web("sup")
    page = c.get("/dashboard").text
    part = page.split('data-testid="suspended-cases"')[1].split("</section>")[0]
    assert case.number in part and "待您核查销号：1 件" in part
    form = re.search(rf'action="/cases/{case.id}/act/resume".*?</form>', part, re.S).group(0)
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    r = c.post(f"/cases/{case.id}/act/resume", data=data, follow_redirects=False)
    assert r.status_code == 303
    assert hazard.number in c.get("/queue").text


def test_dashboard_previews_the_next_escalation_run_and_writes_nothing(web, session, org):
    from sqlalchemy import func
    from sqlmodel import select

    from models.escalation import EscalationFire
    from models.letter import Letter

    late = case_in(session, org, "rectifying", now=NOW - timedelta(days=30))
    session.commit()
    page = web("sup").get("/dashboard").text
    preview = page.split('data-testid="escalation-preview"')[1].split("</section>")[0]
    assert "下次自动升级预览" in preview and "尚未发出" in preview
    letter_rows = re.findall(r'data-testid="preview-letter">([^<]+)<', preview)
    assert any(late.number in row and "函" in row for row in letter_rows), preview
    counts = re.search(r'data-testid="preview-counts">([^<]+)<', preview).group(1)
    assert "份" in counts and "挂牌督办" in counts
    # A preview: nothing was claimed or issued.
    assert session.exec(select(func.count()).select_from(EscalationFire)).one() == 0
    assert session.exec(select(func.count()).select_from(Letter)).one() == 0
