"""Risk reports and their review: who reports and reviews, the deadline in working days, approving
applies the report to the register, rejecting needs a reason, a report is reviewed once; a late
review escalates once per level."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from closeloop.calendar.days import SHANGHAI
from closeloop.errors import Conflict, Forbidden, Invalid
from closeloop.safety import risk_points, risk_reports
from models.enums import RiskReportState
from models.outbox import OutboxMessage
from models.risk import RiskPoint, RiskPointCreate, RiskReportCreate, RiskReview
from tests.factories import NOW, Org, quiet_run
from tests.safety.risk_factories import add_enterprise


@pytest.fixture
def ents(session: Session, org: Org) -> None:
    add_enterprise(session, "E1", "G1")
    add_enterprise(session, "E3", "G3")
    risk_points.create_point(
        session,
        actor=org["admin"],
        data=RiskPointCreate(code="P1", enterprise_code="E1", name="储罐区", level="general"),  # type: ignore[arg-type]
        now=NOW,
    )


def new_point(**kw: object) -> RiskReportCreate:
    body = {"enterprise_code": "E1", "name": "喷漆房", "level": "significant", "content": "新增"}
    return RiskReportCreate(**(body | kw))  # type: ignore[arg-type]


def test_report_numbered_and_due_in_working_days(session: Session, org: Org, ents: None) -> None:
    a = risk_reports.create_report(session, actor=org["rep1"], data=new_point(), now=NOW)
    b = risk_reports.create_report(
        session,
        actor=org["disp"],
        data=RiskReportCreate(risk_point_code="P1", level="major", content="升级"),  # type: ignore[arg-type]
        now=NOW,
    )
    assert (a.number, b.number) == ("FX2025000001", "FX2025000002")
    assert a.state == RiskReportState.pending and a.reported_by == org["rep1"].id
    # Tuesday 30 September 2025 + 3 working days: 1–8 October are the National Day holidays,
    # 11 October (a Saturday) is a working day.
    assert a.review_due_at.astimezone(SHANGHAI).date().isoformat() == "2025-10-11"
    assert (b.enterprise_code, b.name, b.street_code) == ("E1", "储罐区", "S1")


def test_who_may_report(session: Session, org: Org, ents: None) -> None:
    with pytest.raises(Forbidden):  # E3 is not in rep1's grid
        risk_reports.create_report(
            session, actor=org["rep1"], data=new_point(enterprise_code="E3"), now=NOW
        )
    for who in ("h_zj", "sup", "admin"):
        with pytest.raises(Forbidden):
            risk_reports.create_report(session, actor=org[who], data=new_point(), now=NOW)
    with pytest.raises(Invalid, match="enterprise_code"):
        risk_reports.create_report(session, actor=org["disp"], data=new_point(name=""), now=NOW)
    with pytest.raises(Invalid, match="belongs to E1"):
        risk_reports.create_report(
            session,
            actor=org["disp"],
            data=RiskReportCreate(risk_point_code="P1", enterprise_code="E3", level="low"),  # type: ignore[arg-type]
            now=NOW,
        )
    change = RiskReportCreate(risk_point_code="P1", level="low")  # type: ignore[arg-type]
    risk_reports.create_report(session, actor=org["disp"], data=change, now=NOW)
    with pytest.raises(Conflict, match="waiting"):
        risk_reports.create_report(session, actor=org["rep1"], data=change, now=NOW)


def test_review_applies_or_rejects_once(session: Session, org: Org, ents: None) -> None:
    new = risk_reports.create_report(
        session, actor=org["rep1"], data=new_point(measures="通风"), now=NOW
    )
    change = risk_reports.create_report(
        session,
        actor=org["rep1"],
        data=RiskReportCreate(risk_point_code="P1", level="major", measures="双人巡查"),  # type: ignore[arg-type]
        now=NOW,
    )
    later = NOW + timedelta(hours=2)
    with pytest.raises(Forbidden):
        risk_reports.review(
            session,
            actor=org["disp"],
            report_id=new.id or 0,
            data=RiskReview(decision="approve"),
            now=later,  # type: ignore[arg-type]
        )
    with pytest.raises(Forbidden):  # E1 is in S1, not S2
        risk_reports.review(
            session,
            actor=org["sup_s2"],
            report_id=new.id or 0,
            data=RiskReview(decision="approve"),
            now=later,  # type: ignore[arg-type]
        )
    done = risk_reports.review(
        session,
        actor=org["sup"],
        report_id=new.id or 0,
        data=RiskReview(decision="approve"),
        now=later,  # type: ignore[arg-type]
    )
    assert done.state == RiskReportState.approved and done.reviewed_at == later
    created = session.get(RiskPoint, done.risk_point_code)
    assert created is not None
    assert (created.enterprise_code, created.name, created.level, created.measures) == (
        "E1",
        "喷漆房",
        "significant",
        "通风",
    )
    assert created.region_path == "/D1/S1/C1/G1/"
    with pytest.raises(Conflict):
        risk_reports.review(
            session,
            actor=org["sup"],
            report_id=new.id or 0,
            data=RiskReview(decision="reject", reason="x"),
            now=later,  # type: ignore[arg-type]
        )
    with pytest.raises(Invalid, match="reason"):
        risk_reports.review(
            session,
            actor=org["sup"],
            report_id=change.id or 0,
            data=RiskReview(decision="reject", reason="  "),
            now=later,  # type: ignore[arg-type]
        )
    rejected = risk_reports.review(
        session,
        actor=org["sup"],
        report_id=change.id or 0,
        data=RiskReview(decision="reject", reason="措施不具体"),
        now=later,  # type: ignore[arg-type]
    )
    assert (rejected.state, rejected.reason) == ("rejected", "措施不具体")
    point = session.get(RiskPoint, "P1")
    assert point is not None and point.level == "general"  # a rejection changes nothing
    again = risk_reports.create_report(
        session,
        actor=org["rep1"],
        data=RiskReportCreate(risk_point_code="P1", level="major", measures="双人巡查"),
        now=later,  # type: ignore[arg-type]
    )
    risk_reports.review(
        session,
        actor=org["sup"],
        report_id=again.id or 0,
        data=RiskReview(decision="approve"),
        now=later,  # type: ignore[arg-type]
    )
    session.refresh(point)
    assert (point.level, point.measures) == ("major", "双人巡查")


def test_list_pending_first_and_overdue(session: Session, org: Org, ents: None) -> None:
    old = risk_reports.create_report(session, actor=org["rep1"], data=new_point(name="旧"), now=NOW)
    done = risk_reports.create_report(
        session, actor=org["rep1"], data=new_point(name="审"), now=NOW
    )
    risk_reports.review(
        session,
        actor=org["sup"],
        report_id=done.id or 0,
        data=RiskReview(decision="approve"),
        now=NOW,  # type: ignore[arg-type]
    )
    fresh_at = NOW + timedelta(days=14)
    fresh = risk_reports.create_report(
        session, actor=org["disp"], data=new_point(name="新"), now=fresh_at
    )
    later = fresh_at + timedelta(hours=1)
    rows = risk_reports.list_reports(session, actor=org["sup"], now=later)
    assert [r.id for r in rows] == [old.id, fresh.id, done.id]
    overdue = risk_reports.list_reports(session, actor=org["sup"], now=later, overdue=True)
    assert [r.id for r in overdue] == [old.id]
    mine = risk_reports.list_reports(session, actor=org["rep1"], now=later)
    assert {r.id for r in mine} == {old.id, done.id}  # a grid worker sees their own
    assert risk_reports.list_reports(session, actor=org["sup_s2"], now=later) == []


def test_escalate_late_fires_once_per_level(session: Session, org: Org, ents: None) -> None:
    report = risk_reports.create_report(session, actor=org["rep1"], data=new_point(), now=NOW)
    due = report.review_due_at
    assert risk_reports.escalate_late(session, now=due - timedelta(minutes=1)) == 0
    assert risk_reports.escalate_late(session, now=due + timedelta(seconds=1)) == 1
    assert risk_reports.escalate_late(session, now=due + timedelta(hours=1)) == 0
    messages = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    told = {m.user_id for m in messages}
    assert told == {org["sup"].id}  # the supervisors covering E1's grid (not S2's)
    # 3 more working days: Mon 13, Tue 14, Wed 15 October → the district's 督办 notice.
    assert risk_reports.escalate_late(session, now=due + timedelta(days=3)) == 0
    assert risk_reports.escalate_late(session, now=due + timedelta(days=5)) == 1
    assert risk_reports.escalate_late(session, now=due + timedelta(days=9)) == 0
    last = session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()  # type: ignore[union-attr]
    assert last is not None and "督办" in last.subject
    # A reviewed report is never escalated.
    other = risk_reports.create_report(
        session, actor=org["rep1"], data=new_point(name="B"), now=NOW
    )
    risk_reports.review(
        session,
        actor=org["sup"],
        report_id=other.id or 0,
        data=RiskReview(decision="approve"),
        now=NOW,  # type: ignore[arg-type]
    )
    assert risk_reports.escalate_late(session, now=due + timedelta(days=30)) == 0


def test_a_run_reads_the_reviews_told_before_in_as_many_statements_however_many(
    session: Session, engine: Engine, org: Org, ents: None
) -> None:
    """A review never made stays late for good: a run skips the reports told at both levels in
    a fixed number of statements, and still tells a new late one once per level."""

    def report(name: str):  # type: ignore[no-untyped-def]
        return risk_reports.create_report(
            session, actor=org["rep1"], data=new_point(name=name), now=NOW
        )

    def quiet(now) -> int:  # type: ignore[no-untyped-def]
        return quiet_run(session, engine, lambda: risk_reports.escalate_late(session, now=now))

    first = [report(f"A{i}") for i in range(3)]
    long_late = max(r.review_due_at for r in first) + timedelta(days=30)
    assert risk_reports.escalate_late(session, now=long_late) == 6  # both levels each
    with_three = quiet(long_late)  # told nobody, wrote nothing
    for i in range(4):
        report(f"B{i}")
    assert risk_reports.escalate_late(session, now=long_late) == 8
    with_seven = quiet(long_late)
    assert with_seven == with_three <= 3, (with_three, with_seven)
    new = report("C")
    assert risk_reports.escalate_late(session, now=long_late) == 2
    levels = {
        m.payload["level"]
        for m in session.exec(select(OutboxMessage))
        if m.payload.get("risk_report_id") == new.id
    }
    assert levels == {risk_reports.LATE, risk_reports.SUPERVISE}
