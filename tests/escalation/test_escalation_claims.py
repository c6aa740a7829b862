"""The claims: `claim` (on PostgreSQL one INSERT over arrays) inserts the same rows, in the same
order, and answers the same as the executemany every database can run (`claim_rows`); a claim
made before is not won again."""

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from closeloop.calendar.service import load_calendar
from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.escalation import plan
from closeloop.escalation.claims import claim, claim_rows
from closeloop.escalation.policy import load_policy
from closeloop.escalation.sweep import SweepContext, facts_of, load_classes
from models.case import Case
from models.enums import EscalationLevel
from models.escalation import EscalationFire
from tests.escalation.escalation_helpers import late_case, sh


def _wanted(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    now = sh("2025-10-21")
    ctx = SweepContext(
        now, load_policy(None), load_calendar(session), get_settings(), load_classes(session)
    )
    facts = [facts_of(c) for c in session.exec(select(Case).where(col(Case.id).in_(ids)))]
    a, b, c = sorted(facts, key=lambda f: f.case_id)
    return [
        plan.claim_row(ctx, a, EscalationLevel.reminder, superseded_by="supervision"),
        plan.claim_row(ctx, a, EscalationLevel.supervision),
        plan.claim_row(ctx, b, EscalationLevel.warning, via_letter=7, letter_case_id=a.case_id),
        plan.claim_row(ctx, c, EscalationLevel.due_soon),
        plan.claim_row(ctx, c, "warn_50"),
        plan.claim_row(ctx, b, EscalationLevel.sign_overdue, note="名称「甲」"),
    ]


def _claimed(session: Session, after: int) -> list[tuple[Any, ...]]:
    rows = session.exec(
        select(EscalationFire)
        .where(col(EscalationFire.id) > after)
        .order_by(col(EscalationFire.id))
    )
    return [(f.case_id, f.deadline_version, f.level, f.fired_at, f.letter_id, f.data) for f in rows]


def test_claim_inserts_and_answers_as_the_executemany(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        ids = [late_case(s, org, due="2025-09-30").id or 0 for _ in range(3)]
    with transaction(engine) as s:
        wanted = _wanted(s, ids)
        claim_rows(s, [wanted[1]])  # claimed by an earlier run
    with new_session(engine) as s:
        start = max(s.exec(select(EscalationFire.id)).all())
    results = []
    for insert in (claim, claim_rows):
        with new_session(engine) as s:
            won = insert(s, wanted)
            ids_won = sorted(won.values())
            results.append(
                (
                    sorted(won),
                    [i - ids_won[0] for i in ids_won],  # the ids, as the first one sees them
                    _claimed(s, start),
                )
            )
            s.rollback()
    fast, rows = results
    assert fast == rows
    won_keys, _, claimed = fast
    assert won_keys == sorted((w["case_id"], w["level"]) for i, w in enumerate(wanted) if i != 1)
    assert [c[:3] for c in claimed] == [
        (w["case_id"], w["deadline_version"], w["level"]) for i, w in enumerate(wanted) if i != 1
    ]
    assert claimed[1][5] == wanted[2]["data"] and claimed[4][5] == {"note": "名称「甲」"}
    assert claim(s, []) == {}
