"""The demo district's follow-ups (回访): the events closed more than a fortnight ago were followed
up a day after closing — by the grid worker who filed them (on site) or by the desk (by telephone),
most satisfied, some basically satisfied — and the most recent of them was answered unsatisfied
just now, so it is back with its unit (重办). Those closed in the last fortnight wait in the desk's
待回访 list, the older of them overdue."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases import service as cases
from closeloop.cases.followups import pending_clause
from closeloop.demo import data as D
from models.case import ActionInput, Case
from models.enums import Satisfaction

RECENT = timedelta(days=14)
NOTES = {
    Satisfaction.satisfied: "群众对处置结果表示满意",
    Satisfaction.basically_satisfied: "问题已解决，希望加强日常巡查",
    Satisfaction.unsatisfied: "群众反映问题又出现了，要求重新处理",
}


def load_followup(session: Session, *, now: datetime, people: dict[str, Principal]) -> None:
    desk = people[D.DISPATCHER[0]]
    by_id = {p.id: p for p in people.values()}
    older = list(
        session.exec(
            select(Case)
            .where(pending_clause(), col(Case.closed_at) < now - RECENT)  # type: ignore[arg-type]
            .order_by(col(Case.closed_at), col(Case.id))
        )
    )
    for i, case in enumerate(older):
        assert case.id is not None and case.closed_at is not None
        last = i == len(older) - 1
        answer = (
            Satisfaction.unsatisfied
            if last
            else Satisfaction.basically_satisfied
            if i % 4 == 3
            else Satisfaction.satisfied
        )
        reporter = by_id.get(case.reporter_id or 0)
        actor = reporter if reporter is not None and i % 2 == 0 else desk
        at = now - timedelta(hours=1) if last else min(case.closed_at + timedelta(days=1), now)
        data = ActionInput(satisfaction=answer.value, note=NOTES[answer])
        cases.perform(session, actor=actor, case_id=case.id, action="follow_up", data=data, now=at)
