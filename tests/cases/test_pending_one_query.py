"""`pending_requests` loads every fact of an action in one query; `pending_on_demand` loads each
kind of fact by its own loader. Both must see the same facts, whatever the rows."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from closeloop.cases.lookup import case_to_act_on
from closeloop.cases.requests import Pending, pending_on_demand, pending_requests
from closeloop.errors import NotFound
from models.case import Case, CaseRequest
from models.dossier import HazardPlan, Recheck
from models.enums import CaseKind, Grade, RecheckResult, RequestStatus, RequestType, TaskState
from models.task import CaseTask
from tests.factories import NOW, Org, new_case


def _facts(p: Pending) -> tuple[object, ...]:
    def req(r: CaseRequest | None) -> int | None:
        return None if r is None else r.id

    return (req(p.extension), req(p.suspension), req(p.return_), p.open_tasks, p.dossier)


def test_the_one_query_sees_what_the_loaders_see(session: Session, org: Org) -> None:
    plain, busy, major, failed, tied = (
        new_case(session, org),
        new_case(session, org),
        new_case(session, org, kind=CaseKind.hazard, grade=Grade.major),
        new_case(session, org, kind=CaseKind.hazard, grade=Grade.major),
        new_case(session, org, kind=CaseKind.hazard, grade=Grade.general),
    )
    by = org.users["h_zj"].id or 0
    sup = org.users["sup"].id or 0

    def request(case_id: int, kind: RequestType, status: RequestStatus) -> None:
        session.add(
            CaseRequest(
                case_id=case_id,
                type=kind,
                status=status,
                days=3,
                reason="r",
                requested_by=by,
                requested_at=NOW,
            )
        )

    def task(case_id: int, state: TaskState) -> None:
        session.add(
            CaseTask(
                case_id=case_id,
                unit_code="ZJ",
                state=state,
                due_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )

    def recheck(case_id: int, result: RecheckResult, minutes: int) -> None:
        at = NOW + timedelta(minutes=minutes)
        session.add(Recheck(case_id=case_id, result=result, by=sup, at=at))
        session.flush()  # ids in this order (a tie on `at` goes to the later id)

    def plan(case_id: int) -> None:
        session.add(
            HazardPlan(
                case_id=case_id,
                measures="m",
                funds="1 万元",
                responsible="张三",
                deadline=NOW.date(),
                emergency_plan="e",
                submitted_by=by,
                submitted_at=NOW,
            )
        )

    ids = [c.id or 0 for c in (plain, busy, major, failed, tied)]
    request(ids[1], RequestType.extension, RequestStatus.pending)
    request(ids[1], RequestType.suspension, RequestStatus.pending)
    request(ids[1], RequestType.return_, RequestStatus.pending)
    request(ids[0], RequestType.extension, RequestStatus.rejected)  # decided: not pending
    request(ids[2], RequestType.suspension, RequestStatus.pending)
    for state in (TaskState.open, TaskState.signed, TaskState.signed, TaskState.done):
        task(ids[1], state)
    task(ids[2], TaskState.done)
    plan(ids[2])
    plan(ids[2])  # two plans: still one row of facts
    recheck(ids[2], RecheckResult.fail, 0)
    recheck(ids[2], RecheckResult.pass_, 5)  # the latest passes
    recheck(ids[3], RecheckResult.pass_, 0)
    recheck(ids[3], RecheckResult.fail, 5)  # the latest fails
    recheck(ids[4], RecheckResult.fail, 5)
    recheck(ids[4], RecheckResult.pass_, 5)  # same minute: the later row is the latest
    plan(ids[4])  # a plan on a case that is not a major hazard: a fact all the same
    session.flush()

    asked = [*ids, 999_999]  # and a case that does not exist
    one = pending_requests(session, asked)
    each = pending_on_demand(session, asked)
    assert [_facts(one[i]) for i in asked] == [_facts(each[i]) for i in asked]
    # And the facts are the rows above, not two equal mistakes.
    assert _facts(one[ids[0]])[:4] == (None, None, None, 0)
    assert one[ids[1]].open_tasks == 3 and None not in _facts(one[ids[1]])[:3]
    assert one[ids[2]].dossier.planned and one[ids[2]].dossier.recheck_passed
    assert one[ids[2]].suspension is not None and one[ids[2]].open_tasks == 0
    assert one[ids[3]].dossier.recheck_at is not None and not one[ids[3]].dossier.recheck_passed
    assert not one[ids[3]].dossier.planned
    assert one[ids[4]].dossier.recheck_passed and one[ids[4]].dossier.planned
    assert _facts(one[999_999]) == _facts(Pending())
    # An action's read: the case itself (the session's own object) and the same facts.
    for case_id in ids:
        case, pending = case_to_act_on(session, actor=org["admin"], case_id=case_id, unit_code=None)
        assert case is session.get(Case, case_id)
        assert _facts(pending) == _facts(one[case_id])
    with pytest.raises(NotFound):
        case_to_act_on(session, actor=org["admin"], case_id=999_999, unit_code=None)
