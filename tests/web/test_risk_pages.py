"""The risk register's pages: the points by level and street, the review queue with its forms,
and the report form reachable from an enterprise."""

from datetime import timedelta

from closeloop.db import new_session
from closeloop.safety import risk_points, risk_reports
from models.risk import RiskPointCreate, RiskReportCreate
from tests.factories import NOW
from tests.safety.risk_factories import add_enterprise
from tests.web.conftest import csrf_of


def seed(engine, org) -> None:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        add_enterprise(s, "E1", "G1")
        for code, level in (("P1", "major"), ("P2", "low")):
            risk_points.create_point(
                s,
                actor=org["admin"],
                data=RiskPointCreate(
                    code=code, enterprise_code="E1", name=f"{code}名", level=level
                ),  # type: ignore[arg-type]
                now=NOW,
            )
        old = NOW - timedelta(days=20)
        risk_reports.create_report(
            s,
            actor=org["rep1"],
            data=RiskReportCreate(risk_point_code="P2", level="general", content="迟"),
            now=old,  # type: ignore[arg-type]
        )
        s.commit()


def test_points_page(web, engine, org) -> None:  # type: ignore[no-untyped-def]
    seed(engine, org)
    page = web("sup").get("/risk-points")
    assert page.status_code == 200
    assert 'class="risk major"' in page.text and "重大风险" in page.text
    assert 'data-street="S1"' in page.text
    page = web("sup").get("/risk-points?level=low")
    assert 'data-code="P2"' in page.text and 'data-code="P1"' not in page.text


def test_review_queue_and_report_form(web, engine, org) -> None:  # type: ignore[no-untyped-def]
    seed(engine, org)
    sup = web("sup")
    page = sup.get("/risk-reports")
    assert 'data-testid="risk-overdue"' in page.text
    csrf = csrf_of(page.text)
    r = sup.post("/risk-reports/1/review", data={"csrf_token": csrf, "decision": "reject"})
    assert r.status_code == 422 and "退回须填写原因" in r.text
    r = sup.post(
        "/risk-reports/1/review",
        data={"csrf_token": csrf, "decision": "reject", "reason": "不实"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'data-state="rejected"' in sup.get("/risk-reports").text

    rep = web("rep1")
    form = rep.get("/risk-reports/new?enterprise_code=E1")
    assert form.status_code == 200 and 'value="P1"' in form.text
    r = rep.post(
        "/risk-reports",
        data={
            "csrf_token": csrf_of(form.text),
            "enterprise_code": "E1",
            "name": "新点",
            "level": "x",
        },
    )
    assert r.status_code == 422 and "风险等级" in r.text
    r = rep.post(
        "/risk-reports",
        data={
            "csrf_token": csrf_of(form.text),
            "enterprise_code": "E1",
            "name": "新点",
            "level": "significant",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "新点" in rep.get("/risk-reports").text
    assert web("h_zj").get("/risk-reports/new").status_code == 403
