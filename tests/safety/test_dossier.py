"""The major-hazard dossier: the 五到位 plan, the recheck, the listing and delisting notices, their
numbering and the escalation of a notice left unpublished."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from closeloop.cases import service as cases
from closeloop.errors import Conflict, Forbidden, Invalid
from closeloop.safety import notice_doc, notices, plans, rechecks
from models.dossier import HazardPlan, Notice, PlanIn, Recheck, RecheckIn
from models.enums import CaseKind, CaseState, Grade, NoticeType, RecheckResult
from models.history import CaseHistory
from models.outbox import OutboxMessage
from tests.factories import NOW, Org, act, case_in, evidence

FULL = {
    "measures": "加装防护栏",
    "funds": "20 万元",
    "responsible": "李四",
    "deadline": date(2025, 10, 31),
    "emergency_plan": "设置警戒区",
}


def major(session: Session, org: Org, state: CaseState = CaseState.dispatched):  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.dispatched, kind=CaseKind.hazard, grade=Grade.major)
    if state != CaseState.dispatched:
        act(session, org, case, "sign", "h_zj")
    return case


def plan(session: Session, org: Org, case, now: datetime = NOW, **over: object) -> HazardPlan:  # type: ignore[no-untyped-def]
    return plans.submit_plan(
        session, actor=org["h_zj"], case_id=case.id, data=PlanIn(**{**FULL, **over}), now=now
    )


def listing_notice(session: Session, case_id: int) -> Notice | None:
    return session.exec(
        select(Notice).where(Notice.case_id == case_id, Notice.type == NoticeType.listing)
    ).first()


def test_every_one_of_the_five_is_required_and_named(session: Session, org: Org) -> None:
    case = major(session, org, CaseState.rectifying)
    with pytest.raises(Invalid) as e:
        plans.submit_plan(
            session,
            actor=org["h_zj"],
            case_id=case.id,
            data=PlanIn(measures="  ", responsible="李四"),
            now=NOW,
        )
    assert (
        "措施、资金、时限、应急预案" in e.value.detail
        and "责任人" not in e.value.detail.split("（")[0]
    )
    assert e.value.extra["fields"] == ["measures", "funds", "deadline", "emergency_plan"]
    with pytest.raises(Invalid, match="时限 2025-09-29 已过"):
        plan(session, org, case, deadline=date(2025, 9, 29))
    assert session.exec(select(HazardPlan)).all() == []
    assert listing_notice(session, case.id) is None


def test_plan_only_for_a_signed_major_hazard_by_its_unit(session: Session, org: Org) -> None:
    unsigned = major(session, org)
    with pytest.raises(Conflict, match="待签收"):
        plan(session, org, unsigned)
    general = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    with pytest.raises(Conflict, match="不是重大隐患"):
        plan(session, org, general)
    case = major(session, org, CaseState.rectifying)
    with pytest.raises(Forbidden):
        plans.submit_plan(session, actor=org["h_sw"], case_id=case.id, data=PlanIn(**FULL), now=NOW)
    with pytest.raises(Forbidden):
        plans.submit_plan(session, actor=org["sup"], case_id=case.id, data=PlanIn(**FULL), now=NOW)


def test_first_plan_opens_the_listing_notice_due_in_five_working_days(
    session: Session, org: Org
) -> None:
    case = major(session, org, CaseState.rectifying)
    first = plan(session, org, case)
    notice = listing_notice(session, case.id)
    assert notice is not None and notice.published_at is None and notice.number is None
    # 30 Sep 2025 (Tue): the National Day holidays run 1–8 Oct and Sat 11 Oct is a working day,
    # so the fifth working day after is Tue 14 Oct; due at its end, Shanghai time.
    assert notice.due_at == datetime(2025, 10, 14, 15, 59, 59, tzinfo=UTC)
    later = plan(session, org, case, now=NOW + timedelta(hours=3), responsible="王五")
    assert len(session.exec(select(Notice)).all()) == 1  # a later plan opens no second notice
    latest = plans.latest_plan(session, actor=org["sup"], case_id=case.id)
    assert latest.id == later.id != first.id and latest.responsible == "王五"
    assert session.get(HazardPlan, first.id).responsible == "李四"  # never edited
    entries = session.exec(
        select(CaseHistory.action)
        .where(CaseHistory.case_id == case.id)
        .order_by(col(CaseHistory.seq))
    ).all()
    assert entries[-2:] == ["plan", "plan"]


def test_submit_of_a_major_hazard_needs_its_plan(session: Session, org: Org) -> None:
    case = major(session, org, CaseState.rectifying)
    assert "submit" not in cases.public_one(session, case, org["h_zj"], NOW).allowed_actions
    ids = [evidence(session, org, case)]
    with pytest.raises(Conflict, match="先提交五到位整改方案"):
        act(session, org, case, "submit", "h_zj", note="已整改", attachment_ids=ids)
    plan(session, org, case)
    assert "submit" in cases.public_one(session, case, org["h_zj"], NOW).allowed_actions
    assert act(session, org, case, "submit", "h_zj", attachment_ids=ids).state == "verifying"


def submitted(session: Session, org: Org):  # type: ignore[no-untyped-def]
    case = major(session, org, CaseState.rectifying)
    plan(session, org, case)
    act(session, org, case, "submit", "h_zj", attachment_ids=[evidence(session, org, case)])
    return case


def recheck(session: Session, org: Org, case, result: str, note: str = "", now: datetime = NOW):  # type: ignore[no-untyped-def]
    return rechecks.record_recheck(
        session,
        actor=org["sup"],
        case_id=case.id,
        data=RecheckIn(result=RecheckResult(result), note=note),
        now=now,
    )


def test_approve_needs_a_passing_recheck_since_the_last_submit(session: Session, org: Org) -> None:
    case = submitted(session, org)
    sup = org["sup"]
    assert cases.public_one(session, case, sup, NOW).allowed_actions == ["reject"]
    with pytest.raises(Conflict, match="复查合格"):
        act(session, org, case, "approve", "sup")
    with pytest.raises(Invalid, match="说明"):
        recheck(session, org, case, "fail")
    with pytest.raises(Forbidden):
        rechecks.record_recheck(
            session,
            actor=org["disp"],
            case_id=case.id,
            data=RecheckIn(result=RecheckResult.pass_),
            now=NOW,
        )
    recheck(session, org, case, "fail", "防护栏未安装")
    with pytest.raises(Conflict, match="复查不合格"):
        act(session, org, case, "approve", "sup")
    assert case.state == "verifying"  # a failing recheck leaves it: the supervisor rejects it
    act(session, org, case, "reject", "sup", reason="复查不合格")
    later = NOW + timedelta(hours=2)
    early = NOW + timedelta(hours=1)
    act(session, org, case, "submit", "h_zj", later, attachment_ids=[evidence(session, org, case)])
    # A pass recorded before the new submit does not count; one after it does.
    session.add(
        Recheck(case_id=case.id, result="pass", note="", attachment_ids=[], by=sup.id, at=early)
    )
    session.flush()
    with pytest.raises(Conflict, match="复查合格"):
        act(session, org, case, "approve", "sup", later)
    recheck(session, org, case, "pass", now=later)
    assert "approve" in cases.public_one(session, case, sup, later).allowed_actions
    closed = act(session, org, case, "approve", "sup", later)
    assert closed.state == "closed"
    delisting = session.exec(
        select(Notice).where(Notice.case_id == case.id, Notice.type == NoticeType.delisting)
    ).one()
    # 10:00 Shanghai on 30 Sep: the fifth working day after is 14 Oct.
    assert delisting.due_at == datetime(2025, 10, 14, 15, 59, 59, tzinfo=UTC)
    assert delisting.published_at is None


def test_recheck_only_while_verifying(session: Session, org: Org) -> None:
    case = major(session, org, CaseState.rectifying)
    with pytest.raises(Conflict, match="整改中"):
        recheck(session, org, case, "pass")


def closed_major(session: Session, org: Org):  # type: ignore[no-untyped-def]
    return case_in(session, org, CaseState.closed, kind=CaseKind.hazard, grade=Grade.major)


def test_publish_numbers_without_gaps_per_type_and_year(session: Session, org: Org) -> None:
    a, b = closed_major(session, org), closed_major(session, org)
    rows = session.exec(select(Notice).order_by(col(Notice.id))).all()
    assert sorted((n.case_id, n.type) for n in rows) == sorted(
        [(a.id, "listing"), (a.id, "delisting"), (b.id, "listing"), (b.id, "delisting")]
    )
    by = {(n.case_id, n.type): n.id for n in rows}
    sup = org["sup"]
    with pytest.raises(Forbidden):
        notices.publish_notice(session, actor=org["disp"], notice_id=by[a.id, "listing"], now=NOW)
    got = [
        notices.publish_notice(session, actor=sup, notice_id=by[key], now=NOW).number
        for key in [(b.id, "listing"), (a.id, "delisting"), (a.id, "listing"), (b.id, "delisting")]
    ]
    assert got == [
        "罗应急挂〔2025〕1号",
        "罗应急摘〔2025〕1号",
        "罗应急挂〔2025〕2号",
        "罗应急摘〔2025〕2号",
    ]
    with pytest.raises(Conflict, match="已发布"):
        notices.publish_notice(session, actor=sup, notice_id=by[a.id, "listing"], now=NOW)
    listed = notices.list_notices(session, actor=sup, notice_type=NoticeType.listing)
    assert sorted(n.number or "" for n, _ in listed) == [
        "罗应急挂〔2025〕1号",
        "罗应急挂〔2025〕2号",
    ]
    assert notices.list_notices(session, actor=org["h_sw"]) == []
    assert notices.list_notices(session, actor=sup, published=False) == []


def test_a_reopened_hazard_keeps_its_delisting_notice_unpublished(
    session: Session, org: Org
) -> None:
    case = closed_major(session, org)
    act(session, org, case, "reopen", "sup", reason="复发")
    delisting = session.exec(select(Notice).where(Notice.type == NoticeType.delisting)).one()
    with pytest.raises(Conflict, match="重新打开"):
        notices.publish_notice(session, actor=org["sup"], notice_id=delisting.id, now=NOW)


def test_escalate_late_fires_once_and_not_before_due(session: Session, org: Org) -> None:
    case = major(session, org, CaseState.rectifying)
    plan(session, org, case)
    notice = listing_notice(session, case.id)
    assert notice is not None

    def told() -> list[OutboxMessage]:
        return list(
            session.exec(select(OutboxMessage).where(OutboxMessage.event == "notice_overdue"))
        )

    assert notices.escalate_late(session, now=notice.due_at) == 0  # due, not late
    assert told() == []
    late = notice.due_at + timedelta(minutes=1)
    assert notices.escalate_late(session, now=late) == 1
    sent = told()
    assert sent and {m.user_id for m in sent} == {org["sup"].id}  # the district's supervisor only
    assert notices.escalate_late(session, now=late + timedelta(days=3)) == 0
    assert len(told()) == len(sent)
    other = major(session, org, CaseState.rectifying)
    plan(session, org, other)
    n2 = listing_notice(session, other.id)
    notices.publish_notice(session, actor=org["sup"], notice_id=n2.id, now=NOW)
    assert notices.escalate_late(session, now=late + timedelta(days=30)) == 0  # published


def test_documents_say_what_the_records_say(session: Session, org: Org) -> None:
    case = closed_major(session, org)
    rows = {n.type: n for n in session.exec(select(Notice).where(Notice.case_id == case.id))}
    draft = notice_doc.render_html(session, rows["listing"], case)
    assert "草稿" in draft and "罗应急挂" not in draft
    for text in (
        "加装防护设施",
        "10 万元",
        "张三",
        "设置警戒区，专人值守",
        case.number,
        "区住房和建设局",
    ):
        assert text in draft
    notices.publish_notice(session, actor=org["sup"], notice_id=rows["delisting"].id, now=NOW)
    done = notice_doc.render_html(session, rows["delisting"], case)
    assert "罗应急摘〔2025〕1号" in done and "草稿" not in done
    assert "复查合格" in done and "2025年9月30日" in done
    pdf = notice_doc.render_pdf(session, rows["delisting"], case)
    assert pdf.startswith(b"%PDF")
