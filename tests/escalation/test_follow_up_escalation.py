"""Overdue follow-ups (回访超期) tell the region's dispatchers once per closure, through the
escalation flow's deadlines (closeloop/escalation/deadlines.py)."""

from datetime import timedelta

from sqlmodel import Session, select

from closeloop.escalation import deadlines
from models.enums import CaseState
from models.escalation import DeadlineFire
from models.outbox import OutboxMessage
from tests.factories import Org, act, case_in, evidence


def told(session: Session) -> list[OutboxMessage]:
    return list(
        session.exec(select(OutboxMessage).where(OutboxMessage.event == "follow_up_overdue"))
    )


def test_an_overdue_follow_up_tells_the_desk_once_per_closure(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.closed)
    done = case_in(session, org, CaseState.closed)
    act(session, org, done, "follow_up", "disp", satisfaction="satisfied")
    assert case.follow_up_due_at is not None
    before = case.follow_up_due_at - timedelta(minutes=1)
    assert deadlines.run(session, now=before)["follow_ups"] == 0
    late = case.follow_up_due_at + timedelta(hours=1)
    assert deadlines.preview(session, now=late)["follow_ups"] == 1
    assert told(session) == []  # the preview wrote nothing
    assert deadlines.run(session, now=late)["follow_ups"] == 1
    assert deadlines.run(session, now=late + timedelta(days=1))["follow_ups"] == 0
    messages = told(session)
    users = {m.user_id for m in messages if m.user_id}
    assert users == {org["disp"].id}  # the dispatchers covering G1 (disp_s2 covers S2 only)
    assert all(m.case_id == case.id for m in messages)
    assert "回访超期" in messages[0].subject and case.number in messages[0].subject
    fire = session.exec(select(DeadlineFire).where(DeadlineFire.subject == "follow_up")).one()
    assert fire.subject_id == case.id and fire.level.startswith("overdue:2025-09-30T")

    # Unsatisfied → rework → closed again and again not followed up: a new closure, a new notice.
    act(session, org, case, "follow_up", "disp", late, satisfaction="unsatisfied")
    act(session, org, case, "submit", "h_zj", late, attachment_ids=[evidence(session, org, case)])
    again = late + timedelta(days=1)
    act(session, org, case, "approve", "disp", again)
    assert case.follow_up_due_at is not None
    after = case.follow_up_due_at + timedelta(hours=1)
    assert deadlines.run(session, now=after)["follow_ups"] == 1
    assert (
        len(session.exec(select(DeadlineFire).where(DeadlineFire.subject == "follow_up")).all())
        == 2
    )
