"""Return review (派单异议审核): return reasons from the admin's list; a unit that returned a case
once and has it again may only ask (request_return); a supervisor grants (back to reported) or
refuses (the case stays, its clock running)."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from closeloop.cases import reasons
from closeloop.cases import service as cases
from closeloop.errors import Conflict, Forbidden, Invalid
from models.case import ActionInput, Case, CaseRequest
from models.enums import CaseState, RequestStatus, RequestType
from models.history import CaseHistory
from models.outbox import OutboxMessage
from models.reason import ReturnReasonUpdate
from tests.cases.lifecycle_expected import MOVES, ROLES, sees, who
from tests.factories import NOW, Org, act, case_in, new_case

LATER = NOW + timedelta(hours=2)


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


def returned_once(session: Session, org: Org) -> Case:
    """Dispatched to ZJ, returned by ZJ, dispatched to ZJ again."""
    case = case_in(session, org, CaseState.dispatched)
    act(session, org, case, "return", "h_zj", reason="非本单位职责", reason_code="not_ours")
    return act(session, org, case, "dispatch", "disp", unit_code="ZJ", now=LATER)


def test_return_records_the_reason_and_the_unit(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.dispatched)
    act(session, org, case, "return", "h_zj", reason="地址对不上", reason_code="address")
    assert case.state == CaseState.reported and case.unit_code is None
    assert case.returned_units == ["ZJ"]
    data = last_entry(session, case).data
    assert (data["unit_code"], data["reason_code"], data["reason_name"]) == (
        "ZJ",
        "address",
        "地址不详",
    )


def test_a_return_without_a_reason_code_is_other(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.dispatched)
    act(session, org, case, "return", "h_zj", reason="不属于本单位")
    data = last_entry(session, case).data
    assert (data["reason_code"], data["reason_name"]) == ("other", "其他")


@pytest.mark.parametrize("code", ["nonsense", "duplicate"])
def test_an_unknown_or_inactive_reason_is_refused_and_changes_nothing(
    session: Session, org: Org, code: str
) -> None:
    reasons.update_reason(
        session, actor=org["admin"], code="duplicate", data=ReturnReasonUpdate(active=False)
    )
    case = case_in(session, org, CaseState.dispatched)
    version = case.version
    with pytest.raises(Invalid) as e:
        act(session, org, case, "return", "h_zj", reason="重复", reason_code=code)
    assert "reason_code" in e.value.detail and code in e.value.detail
    assert "not_ours" in e.value.detail and "duplicate, " not in e.value.detail  # the active ones
    session.refresh(case)
    assert (case.state, case.version, case.returned_units) == ("dispatched", version, None)


def test_a_unit_that_returned_it_once_must_ask(session: Session, org: Org) -> None:
    case = returned_once(session, org)
    shown = cases.public_one(session, case, org["h_zj"], LATER).allowed_actions
    assert "return" not in shown and "request_return" in shown
    with pytest.raises(Conflict) as e:
        act(session, org, case, "return", "h_zj", reason="还是不归我们", now=LATER)
    assert "退单申请" in e.value.detail and "request_return" in e.value.detail
    assert case.state == CaseState.dispatched

    act(
        session,
        org,
        case,
        "request_return",
        "h_zj",
        reason="确属供水管网，应由水务处理",
        reason_code="not_ours",
        now=LATER,
    )
    assert case.state == CaseState.dispatched and case.unit_code == "ZJ"
    req = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    assert (req.type, req.status) == (RequestType.return_, RequestStatus.pending)
    assert org["sup"].id in told(session, case, "request")
    # One request at a time.
    with pytest.raises(Conflict) as e:
        act(session, org, case, "request_return", "h_zj", reason="再申请", now=LATER)
    assert "退单申请" in e.value.detail


def test_a_granted_request_returns_the_case(session: Session, org: Org) -> None:
    case = returned_once(session, org)
    act(session, org, case, "request_return", "h_zj", reason="应由水务处理", reason_code="not_ours")
    act(session, org, case, "approve_return", "sup", note="同意退回", now=LATER)
    assert case.state == CaseState.reported
    assert (case.unit_code, case.due_at, case.sign_due_at) == (None, None, None)
    assert case.returned_units == ["ZJ"]
    req = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    assert (req.status, req.decided_by) == (RequestStatus.approved, org["sup"].id)
    data = last_entry(session, case).data
    assert (data["unit_code"], data["reason_code"], data["decision"]) == (
        "ZJ",
        "not_ours",
        "approved",
    )
    assert org["h_zj"].id in told(session, case, "return")
    assert org["disp"].id in told(session, case, "returned")


def test_a_refused_request_leaves_the_case_with_the_unit(session: Session, org: Org) -> None:
    case = returned_once(session, org)
    due, sign_due = case.due_at, case.sign_due_at
    act(session, org, case, "request_return", "h_zj", reason="不归我们", reason_code="other")
    with pytest.raises(Invalid):  # a refusal gives its reason
        act(session, org, case, "reject_return", "sup", now=LATER)
    act(session, org, case, "reject_return", "sup", reason="属本单位职责，请继续办理", now=LATER)
    assert (case.state, case.unit_code) == (CaseState.dispatched, "ZJ")
    assert (case.due_at, case.sign_due_at) == (due, sign_due)  # the clock runs on
    req = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    assert req.status == RequestStatus.rejected
    assert org["h_zj"].id in told(session, case, "return")
    shown = cases.public_one(session, case, org["h_zj"], LATER).allowed_actions
    assert "request_return" in shown and "return" not in shown  # may ask again, not return


def test_after_signing_every_unit_asks(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.dispatched)
    with pytest.raises(Conflict) as e:  # before signing, a first return is direct
        act(session, org, case, "request_return", "h_zj", reason="不归我们")
    assert "直接退单" in e.value.detail
    act(session, org, case, "sign", "h_zj")
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    act(session, org, case, "request_return", "h_zj", reason="签收后发现不归我们")
    act(session, org, case, "suspend", "sup", reason="等待核实")
    act(session, org, case, "approve_return", "sup", now=LATER)
    assert case.state == CaseState.reported
    assert (case.suspended_at, case.signed_at, case.returned_units) == (None, None, ["ZJ"])
    statuses = {
        r.type: r.status
        for r in session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id))
    }
    assert statuses[RequestType.return_] == RequestStatus.approved
    assert statuses[RequestType.extension] == RequestStatus.withdrawn
    assert last_entry(session, case).data["reason_code"] == "other"


def test_closing_withdraws_a_pending_return_request(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_return", "h_zj", reason="不归我们")
    act(session, org, case, "submit", "h_zj", note="已处理")
    act(session, org, case, "approve", "disp", note="通过")
    req = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    assert req.status == RequestStatus.withdrawn


def test_a_letter_case_never_asks_to_return(session: Session, org: Org) -> None:
    from tests.cases.test_lifecycle_table import letter_case_in

    own = letter_case_in(session, org, CaseState.rectifying)
    assert "request_return" not in cases.public_one(session, own, org["h_zj"], NOW).allowed_actions
    with pytest.raises(Conflict) as e:
        act(session, org, own, "request_return", "h_zj", reason="不归我们")
    assert "督办件不能退单" in e.value.detail


# The decisions for every role and state, with a request pending (the lifecycle table has none).
@pytest.mark.parametrize("action", ["approve_return", "reject_return"])
@pytest.mark.parametrize("state", ["dispatched", "rectifying", "suspended"])
@pytest.mark.parametrize("role", list(ROLES))
def test_deciding_a_return_request_by_role_and_state(
    session: Session, org: Org, action: str, state: str, role: str
) -> None:
    case = returned_once(session, org) if state == "dispatched" else None
    if case is None:
        case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_return", "h_zj", reason="不归我们", now=LATER)
    if state == "suspended":
        act(session, org, case, "suspend", "sup", reason="等待核实", now=LATER)
    assert case.state == state and case.id is not None
    user = org[ROLES[role]]
    may = sees("event", state, role) and role in who(action, "event")
    shown = cases.public_one(session, case, user, LATER).allowed_actions
    assert (action in shown) == may
    data = {"reason": "属本单位职责"} if action == "reject_return" else {}
    if not may:
        with pytest.raises(Forbidden):
            cases.perform(
                session,
                actor=user,
                case_id=case.id,
                action=action,
                data=ActionInput(**data),
                now=LATER,
            )
        return
    cases.perform(
        session, actor=user, case_id=case.id, action=action, data=ActionInput(**data), now=LATER
    )
    assert case.state == (MOVES[action][1] or state)


def test_no_decision_without_a_request(session: Session, org: Org) -> None:
    case = new_case(session, org)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    with pytest.raises(Conflict) as e:
        act(session, org, case, "approve_return", "sup")
    assert "没有待审批的退单申请" in e.value.detail
