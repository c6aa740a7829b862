"""Follow-ups running late (回访超期): a closed event not followed up by its follow-up deadline
tells the desk — the dispatchers whose region covers the case — once per closure, however often
the escalation flow runs (a claim in deadline_fire: subject "follow_up", level "overdue:<closing
time>", so a case closed again after a rework is escalated again if that closure is not followed
up either). The notices go to the outbox in the caller's transaction."""

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from closeloop.cases.followups import pending_clause
from closeloop.config import Settings
from closeloop.db import id_chunks
from closeloop.safety import fires
from closeloop.text import Msg, local_minute
from models.case import Case
from models.enums import Role
from notifications import outbox

SUBJECT = "follow_up"
EVENT = "follow_up_overdue"


def level_at(closed_at: datetime) -> str:
    """The claim's level: the closure it is about (UTC, to the second)."""
    # isoformat, not strftime("%Y-%m-%dT%H:%M:%SZ") (the same text, 10× the time: a run formats
    # every overdue follow-up's closure)
    return f"overdue:{closed_at.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()}Z"


def escalate_late(session: Session, *, now: datetime, settings: Settings | None = None) -> int:
    """Tell the desk of every follow-up overdue at `now` not told before; the notices sent.

    A follow-up that is never made stays overdue for good, so every run meets all those told
    before: they are read with their claims in one statement (fires.with_claims), and the rest
    claimed in one more; only the cases told now are loaded (it was an ORM case and an INSERT
    for each of them, every run: bench/deadline_sweep.py)."""
    closed_at, told = fires.with_claims(
        session,
        select(col(Case.id), col(Case.closed_at))
        .where(pending_clause(), col(Case.follow_up_due_at) < now)  # type: ignore[arg-type]
        .where(col(Case.closed_at).is_not(None)),
        subject=SUBJECT,
        id_column=col(Case.id),
    )
    levels = {i: level_at(at) for i, at in closed_at.items()}
    due = {i: level for i, level in levels.items() if (i, level) not in told}
    won = sorted(fires.claim_each(session, subject=SUBJECT, levels=due, now=now))
    for where in id_chunks(session, col(Case.id), won):
        for case in session.exec(select(Case).where(where).order_by(col(Case.id))):
            assert case.id is not None
            _notify(session, case, due[case.id], now)
    return len(won)


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
