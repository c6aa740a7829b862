"""A risk report reviewed in headless Chromium: a grid worker's report of a new risk point at a
demo enterprise waits in the supervisor's review queue; the supervisor approves it and the new
point appears on the register with its level colour."""

from sqlmodel import select

from closeloop.auth import service as auth
from closeloop.db import new_session
from closeloop.safety import risk_reports
from models.risk import RiskPoint, RiskReport, RiskReportCreate
from models.user import User
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login

WORKER, SUPERVISOR = "lh-wg01", "lh-supervise"
ENTERPRISE = "E-DM-001"  # in lh-wg01's grid 44030300300101


def test_a_supervisor_approves_a_pending_risk_report(new_page, live: LiveServer) -> None:
    with new_session(live.engine) as s:
        user = s.exec(select(User).where(User.username == WORKER)).one()
        report = risk_reports.create_report(
            s,
            actor=auth.principal_of(s, user),
            data=RiskReportCreate(
                enterprise_code=ENTERPRISE,
                name="浏览器测试抛光工位",
                level="significant",  # type: ignore[arg-type]
                content="新增粉尘抛光工位",
            ),
            now=live.clock.now(),
        )
        s.commit()
        number = report.number

    live.clock.advance(minutes=10)
    page = new_page("desk")
    login(page, live, SUPERVISOR)
    page.goto("/risk-reports?state=pending")
    row = page.locator(f'[data-testid="risk-report-row"][data-number="{number}"]')
    assert row.count() == 1
    with page.expect_navigation(wait_until="load"):
        row.locator(by_id("risk-approve")).click()
    assert by_id("flash") and "已审核通过" in page.inner_text(by_id("flash"))

    with new_session(live.engine) as s:
        done = s.exec(select(RiskReport).where(RiskReport.number == number)).one()
        assert done.state == "approved" and done.risk_point_code
        point = s.get(RiskPoint, done.risk_point_code)
        assert point is not None and point.name == "浏览器测试抛光工位"
    click_and_wait(page, by_id("nav-risk-points"))
    shown = page.locator(f'[data-testid="risk-point-row"][data-code="{point.code}"]')
    assert shown.locator(".risk.significant").count() == 1
