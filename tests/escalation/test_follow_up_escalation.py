"""Overdue follow-ups (回访超期) tell the region's dispatchers once per closure, through the
escalation flow's deadlines (closeloop/escalation/deadlines.py)."""

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from closeloop.escalation import deadlines, followups
from models.enums import CaseState
from models.escalation import DeadlineFire
from models.outbox import OutboxMessage
from tests.factories import Org, act, case_in, evidence, quiet_run


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


def test_a_run_reads_the_follow_ups_told_before_in_as_many_statements_however_many(
    session: Session, engine: Engine, org: Org
) -> None:
    """A follow-up never made stays overdue for good: a run skips those told before in a fixed
    number of statements (not a claim per case), and still tells the new one once."""

    def quiet(now) -> int:  # type: ignore[no-untyped-def]
        return quiet_run(session, engine, lambda: followups.escalate_late(session, now=now))

    cases = [case_in(session, org, CaseState.closed) for _ in range(7)]
    assert all(c.follow_up_due_at is not None for c in cases)
    late = max(c.follow_up_due_at for c in cases if c.follow_up_due_at) + timedelta(hours=1)
    assert deadlines.run(session, now=late)["follow_ups"] == 7
    with_seven = quiet(late + timedelta(hours=1))  # told nobody, wrote nothing

    more = [case_in(session, org, CaseState.closed) for _ in range(5)]
    later = max(c.follow_up_due_at for c in more if c.follow_up_due_at) + timedelta(hours=1)
    assert deadlines.run(session, now=later)["follow_ups"] == 5
    with_twelve = quiet(later + timedelta(hours=1))
    assert with_twelve == with_seven <= 2, (with_seven, with_twelve)

    new = case_in(session, org, CaseState.closed)
    assert new.follow_up_due_at is not None
    assert followups.escalate_late(session, now=new.follow_up_due_at + timedelta(hours=1)) == 1
    assert [m.case_id for m in told(session)].count(new.id) == 1
    assert len({m.case_id for m in told(session)}) == 13
