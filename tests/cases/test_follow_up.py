"""Follow-up (回访) of a closed event and the rework (重办) an unsatisfied answer causes, through
the real services (closeloop/cases/followups.py, the action table, perform)."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from closeloop.calendar.service import load_calendar
from closeloop.cases import followups
from closeloop.cases import service as cases
from closeloop.config import get_settings
from closeloop.errors import Forbidden, Invalid
from models.case import ActionInput, Case
from models.enums import CaseKind, CaseState, Grade
from models.followup import FollowUp
from models.history import CaseHistory
from models.outbox import OutboxMessage
from tests.factories import NOW, Org, act, case_in


def closed_event(session: Session, org: Org) -> Case:
    return case_in(session, org, CaseState.closed)


def follow_ups(session: Session, case: Case) -> list[FollowUp]:
    return list(session.exec(select(FollowUp).where(FollowUp.case_id == case.id)))


def actions_of(session: Session, case: Case) -> list[str]:
    rows = session.exec(
        select(CaseHistory.action)
        .where(CaseHistory.case_id == case.id)
        .order_by(col(CaseHistory.seq))
    )
    return list(rows)


def test_closing_an_event_sets_the_follow_up_deadline_in_working_days(
    session: Session, org: Org
) -> None:
    case = closed_event(session, org)
    cal = load_calendar(session)
    assert case.closed_at is not None
    # NOW is Tue 30 Sep 2025, 10:00 Shanghai: three working days after the National Day holiday
    # (1–8 Oct) end on Sat 11 Oct, a working day in 2025's calendar.
    assert case.follow_up_due_at == cal.due_after(case.closed_at, 3)[0]
    assert cal.local_date(case.follow_up_due_at).isoformat() == "2025-10-11"
    hazard = case_in(session, org, CaseState.closed, kind=CaseKind.hazard, grade=Grade.general)
    assert hazard.follow_up_due_at is None  # hazards are not followed up


def test_follow_up_days_come_from_the_settings(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.verifying)
    assert case.id is not None
    settings = get_settings().model_copy(update={"follow_up_days": 5})
    cases.perform(
        session,
        actor=org["disp"],
        case_id=case.id,
        action="approve",
        data=ActionInput(),
        now=NOW,
        settings=settings,
    )
    cal = load_calendar(session)
    assert case.follow_up_due_at == cal.due_after(NOW, 5)[0]


def test_the_desk_records_a_satisfied_follow_up(session: Session, org: Org) -> None:
    case = closed_event(session, org)
    closed_at, version = case.closed_at, case.version
    later = NOW + timedelta(days=1)
    act(session, org, case, "follow_up", "disp", later, satisfaction="satisfied", note="很满意")
    (row,) = follow_ups(session, case)
    assert (row.satisfaction, row.channel, row.note) == ("satisfied", "desk", "很满意")
    assert row.closed_at == closed_at and row.at == later and row.by_id == org["disp"].id
    assert case.state == CaseState.closed and case.version == version + 1
    assert (case.followed_up_at, case.satisfaction, case.follow_up_due_at) == (
        later,
        "satisfied",
        None,
    )
    assert actions_of(session, case)[-1] == "follow_up"


def test_the_grid_worker_who_filed_it_follows_up_on_site(session: Session, org: Org) -> None:
    case = closed_event(session, org)
    act(session, org, case, "follow_up", "rep1", satisfaction="basically_satisfied")
    (row,) = follow_ups(session, case)
    assert (row.channel, row.satisfaction) == ("on_site", "basically_satisfied")
    for other in ("rep3", "h_zj", "admin"):
        with pytest.raises(Forbidden):
            act(session, org, case, "follow_up", other, satisfaction="satisfied")


@pytest.mark.parametrize("answer", [None, "", "happy"])
def test_satisfaction_is_required_and_named(session: Session, org: Org, answer: str | None) -> None:
    case = closed_event(session, org)
    version = case.version
    with pytest.raises(Invalid) as e:
        act(session, org, case, "follow_up", "disp", satisfaction=answer)
    assert e.value.status == 422
    assert "满意、基本满意、不满意" in e.value.detail
    assert "satisfied|basically_satisfied|unsatisfied" in e.value.detail
    assert follow_ups(session, case) == [] and case.version == version


def test_unsatisfied_reworks_the_case_with_its_unit_and_a_fresh_limit(
    session: Session, org: Org
) -> None:
    case = closed_event(session, org)
    unit, reworks = case.unit_code, case.rework_count
    # Forty days after closing: past the reopen window (30 days), the reporter's word still counts.
    later = NOW + timedelta(days=40)
    act(session, org, case, "follow_up", "disp", later, satisfaction="unsatisfied", note="仍有占道")
    assert case.state == CaseState.rectifying
    assert (case.unit_code, case.rework_count) == (unit, reworks + 1)
    assert case.closed_at is None and case.follow_up_due_at is None
    assert case.satisfaction == "unsatisfied"
    cal = load_calendar(session)
    assert case.due_at == cal.due_after(later, 5)[0]  # category 0101's limit: 5 working days
    assert actions_of(session, case)[-2:] == ["follow_up", "rework"]
    rework = session.exec(
        select(CaseHistory)
        .where(CaseHistory.case_id == case.id)
        .order_by(col(CaseHistory.seq).desc())
    ).first()
    assert rework is not None and rework.from_state == "closed" and rework.to_state == "rectifying"
    assert rework.data["follow_up_id"] == follow_ups(session, case)[0].id
    told = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.event == "rework"
        )
    ).all()
    assert told and all(m.user_id == org["h_zj"].id for m in told if m.user_id)
    assert "重办" in told[0].subject
    # The unit works it again and it closes: due for a follow-up again.
    assert "submit" in cases.public_one(session, case, org["h_zj"], later).allowed_actions


def test_nobody_reworks_by_hand(session: Session, org: Org) -> None:
    case = closed_event(session, org)
    for who in ("disp", "sup", "rep1"):
        with pytest.raises(Forbidden) as e:
            act(session, org, case, "rework", who, note="x")
        assert "回访" in e.value.detail
    assert case.state == CaseState.closed


def test_reopen_clears_the_follow_up_deadline(session: Session, org: Org) -> None:
    case = closed_event(session, org)
    assert case.follow_up_due_at is not None
    act(session, org, case, "reopen", "sup", reason="问题复发")
    assert case.follow_up_due_at is None


def test_the_desk_queue_lists_due_and_overdue_follow_ups(session: Session, org: Org) -> None:
    first, second = closed_event(session, org), closed_event(session, org)
    assert first.follow_up_due_at is not None and second.follow_up_due_at is not None
    now = first.follow_up_due_at - timedelta(hours=1)
    due = followups.due(session, actor=org["disp"], now=now)
    assert [(d.case.id, d.overdue) for d in due] == [(first.id, False), (second.id, False)]
    late = first.follow_up_due_at + timedelta(hours=1)
    assert all(d.overdue for d in followups.due(session, actor=org["disp"], now=late))
    assert followups.due(session, actor=org["disp_s2"], now=late) == []  # another street
    with pytest.raises(Forbidden):
        followups.due(session, actor=org["h_zj"], now=late)
    act(session, org, first, "follow_up", "sup", late, satisfaction="satisfied")
    assert [d.case.id for d in followups.due(session, actor=org["disp"], now=late)] == [second.id]
    history = followups.of_case(session, actor=org["rep1"], case_id=first.id or 0)
    assert [(e.follow_up.satisfaction, e.by) for e in history] == [
        ("satisfied", org["sup"].display_name)
    ]
