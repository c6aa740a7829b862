"""Follow-ups running late (回访超期): a closed event not followed up by its follow-up deadline
tells the desk — the dispatchers whose region covers the case — once per closure, however often
the escalation flow runs (a claim in deadline_fire: subject "follow_up", level "overdue:<closing
time>", so a case closed again after a rework is escalated again if that closure is not followed
up either). The notices go to the outbox in the caller's transaction."""

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from closeloop.cases.followups import pending_clause
from closeloop.config import Settings
from closeloop.safety import fires
from closeloop.text import Msg, local_minute
from models.case import Case
from models.enums import Role
from notifications import outbox

SUBJECT = "follow_up"
EVENT = "follow_up_overdue"


def level_of(case: Case) -> str:
    """The claim's level: the closure it is about (UTC, to the second)."""
    assert case.closed_at is not None
    return "overdue:" + case.closed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def escalate_late(session: Session, *, now: datetime, settings: Settings | None = None) -> int:
    """Tell the desk of every follow-up overdue at `now` not told before; the notices sent."""
    late = list(
        session.exec(
            select(Case)
            .where(pending_clause(), col(Case.follow_up_due_at) < now)  # type: ignore[arg-type]
            .where(col(Case.closed_at).is_not(None))
            .order_by(col(Case.id))
        )
    )
    fired = 0
    for case in late:
        assert case.id is not None
        level = level_of(case)
        if case.id in fires.claim(session, subject=SUBJECT, ids=[case.id], level=level, now=now):
            _notify(session, case, level, now)
            fired += 1
    return fired


def _notify(session: Session, case: Case, level: str, now: datetime) -> None:
    due, closed = local_minute(case.follow_up_due_at), local_minute(case.closed_at)
    outbox.notify_region_role(
        session,
        region_path=case.region_path,
        roles=(Role.dispatcher,),
        event=EVENT,
        subject=Msg(f"回访超期：{case.number}", f"Follow-up overdue: {case.number}"),
        body=Msg(
            f"事件 {case.number}「{case.title}」已于 {closed} 办结，应于 {due} 前回访，仍未回访。",
            f"Event {case.number} “{case.title}” closed at {closed} was due for its follow-up "
            f"by {due} (Asia/Shanghai) and has not been followed up.",
        ),
        now=now,
        key=f"follow_up:{case.id}:{level}",
        case_id=case.id,
        payload={"case_id": case.id, "case_number": case.number, "level": level},
    )
