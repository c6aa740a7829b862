"""The reports page: the region's reports with every download (the 通报 too), the generate form
offering closed periods only, generation in the background with a progress page, who may use it,
and CSRF."""

import re

from sqlmodel import select

from api import report_runner
from closeloop.reports import service as reports
from models.report import Report
from tests.factories import NOW, case_in
from tests.web.conftest import csrf_of


def _options(page: str, cadence: str) -> list[str]:
    group = page.split(f'data-cadence="{cadence}">', 1)[1].split("</optgroup>")[0]
    return re.findall(r'<option value="([^"]+)"', group)


def _generate(c, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = c.get("/reports").text
    return c.post("/reports", data={"csrf_token": csrf_of(page), **data}, follow_redirects=False)


def test_the_page_lists_reports_with_every_download(web, session, org):
    case_in(session, org, "closed")
    monthly = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-08", now=NOW
    )
    weekly = reports.generate(
        session, actor=org["disp"], cadence="weekly", period="2025-W38", now=NOW
    )
    session.commit()
    c = web("sup")
    page = c.get("/reports").text
    assert 'data-testid="nav-reports"' in page and 'aria-current="page"' in page
    rows = re.findall(r'<tr data-testid="report-row" data-report-id="(\d+)"', page)
    assert rows == [str(weekly.id), str(monthly.id)]  # newest first
    part = page.split(f'data-report-id="{monthly.id}"')[1].split("</tr>")[0]
    for href in (".html", ".pdf", ".xlsx", "/bulletin.pdf", "/bulletin.html"):
        assert f'href="/reports/{monthly.id}{href}"' in part
    assert "罗湖区 2025年8月" in part and "已生成" in part and "sup 测试" in part
    assert "罗应急通〔2025〕1号" in part
    only = c.get("/reports?cadence=weekly").text
    assert re.findall(r'data-testid="report-row" data-report-id="(\d+)"', only) == [str(weekly.id)]
    bulletin = c.get(f"/reports/{monthly.id}/bulletin.pdf")
    assert bulletin.status_code == 200 and bulletin.content.startswith(b"%PDF")
    assert "罗应急通〔2025〕1号" in c.get(f"/reports/{monthly.id}/bulletin.html").text
    # The dashboard's report entries link the 通报 and the reports page.
    dash = c.get("/dashboard").text.split('data-testid="reports"')[1].split("</section>")[0]
    assert f'href="/reports/{monthly.id}/bulletin.pdf"' in dash and 'href="/reports"' in dash
    # English: the same list in the reader's language.
    c.get("/lang?to=en&next=/reports")
    english = c.get("/reports").text
    assert "Monthly" in english and "2025-08" in english and "Bulletin (通报)" in english


def test_the_form_offers_only_closed_periods_and_refuses_an_open_one(web, org):
    c = web("sup")
    page = c.get("/reports").text  # now: Tuesday 30 September 2025
    monthly = _options(page, "monthly")
    assert monthly[0] == "2025-08" and len(monthly) == 12 and "2025-09" not in monthly
    weekly = _options(page, "weekly")
    assert weekly[0] == "2025-W39" and len(weekly) == 12 and "2025-W40" not in weekly
    assert _options(page, "quarterly")[:2] == ["2025-Q2", "2025-Q1"]
    assert re.findall(r'<option value="(\w+)" selected>', page.split('id="region_code"')[1])[
        :1
    ] == ["D1"]
    refused = _generate(c, {"cadence": "monthly", "period": "2025-09", "region_code": "D1"})
    assert refused.status_code == 422
    assert "尚未结束" in refused.text and 'data-testid="report-form"' in refused.text
    mismatched = _generate(c, {"cadence": "monthly", "period": "2025-W39", "region_code": ""})
    assert mismatched.status_code == 422 and "2025-09" in mismatched.text  # the expected form
    other = web("sup_s2")
    outside = _generate(other, {"cadence": "monthly", "period": "2025-08", "region_code": "D1"})
    assert outside.status_code == 403


def test_generating_returns_at_once_and_the_report_page_shows_the_steps(web, session, org):
    case_in(session, org, "closed")
    session.commit()
    c = web("sup")
    r = _generate(c, {"cadence": "monthly", "period": "2025-08", "region_code": "D1"})
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    report_id = int(location.rsplit("/", 1)[1])
    page = c.get(location).text
    status = re.search(r'data-testid="report-state"[^>]*data-status="(\w+)"', page).group(1)
    if status == "generating":  # the steps, while the background thread works
        assert 'data-testid="step-metrics"' in page and 'data-testid="step-done"' in page
        assert "/static/reports.js" in page
    report_runner.wait(report_id)
    polled = c.get(f"/reports/{report_id}/status")
    assert polled.json() == {"id": report_id, "status": "ready", "progress": None, "error": None}
    done = c.get(location).text
    assert 'data-status="ready"' in done and "计算指标 ✓" in done and "完成 ✓" in done
    assert f'href="/reports/{report_id}/bulletin.pdf"' in done
    assert c.get(f"/reports/{report_id}.pdf").content.startswith(b"%PDF")
    session.expire_all()
    row = session.exec(select(Report).where(Report.id == report_id)).one()
    assert (row.status, row.generated_by, row.region_code) == ("ready", org["sup"].id, "D1")


def test_a_report_being_generated_shows_its_step_and_no_files(web, session, org):
    report = reports.start(session, actor=org["sup"], cadence="monthly", period="2025-08", now=NOW)
    session.commit()
    c = web("sup")
    page = c.get(f"/reports/{report.id}").text
    assert 'data-status="generating"' in page and 'data-progress="metrics"' in page
    assert 'aria-current="step"' in page and f"/reports/{report.id}.pdf" not in page
    listing = c.get("/reports").text.split(f'data-report-id="{report.id}"')[1].split("</tr>")[0]
    assert "生成中（计算指标）" in listing and "bulletin.pdf" not in listing
    refused = c.get(f"/reports/{report.id}/bulletin.pdf")
    assert refused.status_code == 409 and "正在生成" in refused.text
    again = _generate(c, {"cadence": "monthly", "period": "2025-08", "region_code": "D1"})
    assert again.status_code == 409 and f"报告 {report.id}" in again.text


def test_roles_that_may_not_generate_get_403_and_csrf_is_required(web, session, org):
    for who in ("rep1", "h_zj"):
        c = web(who)
        assert 'data-testid="nav-reports"' not in c.get("/messages").text
        assert c.get("/reports").status_code == 403
        token = csrf_of(c.get("/messages").text)
        r = c.post(
            "/reports",
            data={"csrf_token": token, "cadence": "monthly", "period": "2025-08"},
            follow_redirects=False,
        )
        assert r.status_code == 403
    disp = web("disp")
    assert 'data-testid="nav-reports"' in disp.get("/queue").text
    assert 'data-testid="report-form"' in disp.get("/reports").text
    forged = disp.post(
        "/reports",
        data={"csrf_token": "forged", "cadence": "monthly", "period": "2025-08"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert session.exec(select(Report)).all() == []
