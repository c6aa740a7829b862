"""Re-dispatch (改派): the desk moves a dispatched or rectifying case to another unit with a reason;
fresh deadlines, the history keeps both units, the old unit's requests are withdrawn."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from closeloop.cases import lookup
from closeloop.cases import service as cases
from closeloop.errors import Conflict, Forbidden, Invalid
from models.case import Case, CaseRequest
from models.enums import CaseState, RequestStatus
from models.history import CaseHistory
from models.outbox import OutboxMessage
from tests.factories import NOW, Org, act, case_in

LATER = NOW + timedelta(days=14)  # past the National Day holidays


def last_entry(session: Session, case: Case) -> CaseHistory:
    row = session.exec(
        select(CaseHistory)
        .where(CaseHistory.case_id == case.id)
        .order_by(col(CaseHistory.seq).desc())
    ).first()
    assert row is not None
    return row


def told(session: Session, case: Case, event: str) -> set[int]:
    rows = session.exec(
        select(OutboxMessage).where(OutboxMessage.case_id == case.id, OutboxMessage.event == event)
    )
    return {m.user_id for m in rows if m.user_id is not None}


@pytest.mark.parametrize("by", ["disp", "sup"])
def test_redispatch_moves_the_case_with_fresh_deadlines(
    session: Session, org: Org, by: str
) -> None:
    case = case_in(session, org, CaseState.dispatched)
    old_due, old_sign_due, version = case.due_at, case.sign_due_at, case.deadline_version
    act(session, org, case, "redispatch", by, unit_code="SW", reason="派错单位", now=LATER)
    assert (case.state, case.unit_code, case.dispatched_at) == ("dispatched", "SW", LATER)
    assert case.due_at is not None and old_due is not None and case.due_at > old_due
    assert case.sign_due_at is not None and old_sign_due is not None
    assert case.sign_due_at > old_sign_due and case.deadline_version == version + 1
    entry = last_entry(session, case)
    assert (entry.action, entry.from_state, entry.to_state) == (
        "redispatch",
        "dispatched",
        "dispatched",
    )
    assert (entry.data["from_unit_code"], entry.data["unit_code"]) == ("ZJ", "SW")
    assert entry.data["due_at"] == case.due_at.isoformat() and entry.note == "派错单位"
    assert org["h_sw"].id in told(session, case, "dispatched")
    assert org["h_zj"].id in told(session, case, "redispatched")
    assert not lookup.may_see(org["h_zj"], case) and lookup.may_see(org["h_sw"], case)


def test_a_rectifying_case_is_signed_for_again_and_requests_end(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    act(session, org, case, "request_return", "h_zj", reason="不归我们")
    act(session, org, case, "redispatch", "disp", unit_code="SW", reason="改派水务", now=LATER)
    assert (case.state, case.signed_at) == ("dispatched", None)
    statuses = {
        r.status for r in session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id))
    }
    assert statuses == {RequestStatus.withdrawn}
    assert len(last_entry(session, case).data["withdrawn_request_ids"]) == 2
    act(session, org, case, "sign", "h_sw", now=LATER)
    assert case.state == CaseState.rectifying


def test_refusals_change_nothing(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.dispatched)
    version = case.version
    with pytest.raises(Invalid) as e:  # the same unit
        act(session, org, case, "redispatch", "disp", unit_code="ZJ", reason="换单位")
    assert "unit_code" in e.value.detail and "ZJ" in e.value.detail
    with pytest.raises(Invalid) as e:  # no reason
        act(session, org, case, "redispatch", "disp", unit_code="SW")
    assert "改派需要填写原因" in e.value.detail
    with pytest.raises(Invalid):  # an unknown unit
        act(session, org, case, "redispatch", "disp", unit_code="NOPE", reason="换单位")
    with pytest.raises(Forbidden):
        act(session, org, case, "redispatch", "h_zj", unit_code="SW", reason="换单位")
    session.refresh(case)
    assert (case.state, case.unit_code, case.version) == ("dispatched", "ZJ", version)


def test_not_while_suspended_nor_for_a_letter_case(session: Session, org: Org) -> None:
    from tests.cases.test_lifecycle_table import letter_case_in

    suspended = case_in(session, org, CaseState.suspended)
    with pytest.raises(Conflict):
        act(session, org, suspended, "redispatch", "sup", unit_code="SW", reason="换单位")
    own = letter_case_in(session, org, CaseState.dispatched)
    assert "redispatch" not in cases.public_one(session, own, org["sup"], NOW).allowed_actions
    with pytest.raises(Conflict) as e:
        act(session, org, own, "redispatch", "sup", unit_code="SW", reason="换单位")
    assert "督办件不能改派" in e.value.detail
