"""The guards on what an action needs: reasons, evidence, major hazards, merge and return. A
refused action changes nothing."""

import pytest
from sqlmodel import Session

from closeloop.cases import service as cases
from closeloop.cases.actions import TABLE
from closeloop.errors import Forbidden, Invalid
from models.case import Case
from models.enums import Action, CaseKind, CaseState, Grade
from tests.cases.guarding import history_of, perform, refused, snapshot
from tests.factories import NOW, Org, act, case_in, evidence, new_case

# --- required reasons ----------------------------------------------------------------------------

# (action, state to start in, who, other inputs the action needs)
NEEDS_REASON = [
    ("cancel", CaseState.reported, "disp", {}),
    ("return", CaseState.dispatched, "h_zj", {}),
    ("suspend", CaseState.rectifying, "sup", {}),
    ("reject", CaseState.verifying, "disp", {}),
    ("reopen", CaseState.closed, "sup", {}),
    ("request_extension", CaseState.rectifying, "h_zj", {"days": 2}),
    ("reject_extension", CaseState.rectifying, "sup", {}),
    ("request_suspension", CaseState.rectifying, "h_zj", {}),
]


def _prepared(session: Session, org: Org, action: str, state: CaseState) -> Case:
    case = case_in(session, org, state)
    if action == "reject_extension":
        act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    return case


@pytest.mark.parametrize(("action", "state", "by", "extra"), NEEDS_REASON, ids=lambda v: str(v))
@pytest.mark.parametrize("reason", [None, "", "   \n"], ids=["missing", "empty", "blank"])
def test_reason_is_required(
    session: Session,
    org: Org,
    action: str,
    state: CaseState,
    by: str,
    extra: dict,
    reason: str | None,
) -> None:
    case = _prepared(session, org, action, state)
    e = refused(
        session, case, Invalid, perform(session, org, case, action, by, reason=reason, **extra)
    )
    assert e.status == 422
    # The action by its name, never its code (issue 12 point 10): 退单需要填写原因 / ... needs a reason.
    name = TABLE[Action(action)].name
    assert f"{name.zh}需要填写原因" in e.detail and f"{name.en} needs a reason" in e.detail
    assert f"{action} " not in e.detail


@pytest.mark.parametrize(("action", "state", "by", "extra"), NEEDS_REASON, ids=lambda v: str(v))
def test_with_a_reason_it_goes_through_and_is_recorded(
    session: Session, org: Org, action: str, state: CaseState, by: str, extra: dict
) -> None:
    case = _prepared(session, org, action, state)
    act(session, org, case, action, by, reason="  说明理由  ", **extra)
    last = history_of(session, case)[-1]
    assert last.action == action
    assert last.note is not None and "说明理由" in last.note


# --- evidence ------------------------------------------------------------------------------------


@pytest.mark.parametrize("grade", [Grade.general, Grade.major])
@pytest.mark.parametrize("ids", [None, []], ids=["none", "empty"])
def test_hazard_submit_needs_evidence(
    session: Session, org: Org, grade: Grade, ids: list[int] | None
) -> None:
    case = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard, grade=grade)
    e = refused(
        session, case, Invalid, perform(session, org, case, "submit", "h_zj", attachment_ids=ids)
    )
    assert "需附证明材料" in e.detail and "needs evidence" in e.detail


def test_hazard_submit_refuses_another_cases_attachment(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    other = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    foreign = evidence(session, org, other)
    refused(
        session,
        case,
        Invalid,
        perform(session, org, case, "submit", "h_zj", attachment_ids=[foreign]),
    )
    # One of its own with one foreign is refused too, and so is an id that does not exist.
    own = evidence(session, org, case)
    for ids in ([own, foreign], [own, 987_654]):
        e = refused(
            session,
            case,
            Invalid,
            perform(session, org, case, "submit", "h_zj", attachment_ids=ids),
        )
        assert str(ids[1]) in e.detail


def test_hazard_submit_with_its_own_evidence(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    ids = [evidence(session, org, case), evidence(session, org, case)]
    act(session, org, case, "submit", "h_zj", attachment_ids=ids)
    assert case.state == CaseState.verifying
    assert history_of(session, case)[-1].data["attachment_ids"] == ids


def test_event_submit_needs_no_evidence(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "submit", "h_zj", note="已清理")
    assert case.state == CaseState.verifying


def test_event_submit_still_refuses_a_foreign_attachment(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    other = case_in(session, org, CaseState.rectifying)
    foreign = evidence(session, org, other)
    refused(
        session,
        case,
        Invalid,
        perform(session, org, case, "submit", "h_zj", attachment_ids=[foreign]),
    )


# --- major hazards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "grade", "listed"),
    [
        (CaseKind.hazard, Grade.major, True),
        (CaseKind.hazard, Grade.general, False),
        (CaseKind.event, None, False),
    ],
)
def test_major_hazard_is_listed_on_dispatch(
    session: Session, org: Org, kind: CaseKind, grade: Grade | None, listed: bool
) -> None:
    case = new_case(session, org, kind=kind, grade=grade)
    assert case.listed is False
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    assert case.listed is listed
    assert history_of(session, case)[-1].data.get("listed", False) is listed


def test_only_a_supervisor_closes_a_major_hazard(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.verifying, kind=CaseKind.hazard, grade=Grade.major)
    for who in ("disp", "h_zj", "admin"):
        refused(session, case, Forbidden, perform(session, org, case, "approve", who))
        refused(session, case, Forbidden, perform(session, org, case, "reject", who, reason="x"))
    act(session, org, case, "approve", "sup", note="销号")
    assert case.state == CaseState.closed


def test_a_returned_major_hazard_is_listed_again_on_redispatch(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.dispatched, kind=CaseKind.hazard, grade=Grade.major)
    act(session, org, case, "return", "h_zj", reason="不属于本单位")
    act(session, org, case, "dispatch", "sup", unit_code="SW")
    assert case.listed is True


# --- merge ---------------------------------------------------------------------------------------


def test_merge_needs_a_target(session: Session, org: Org) -> None:
    case = new_case(session, org)
    e = refused(session, case, Invalid, perform(session, org, case, "merge", "disp"))
    assert "合并需要指定目标案件" in e.detail and "needs the target case" in e.detail


def test_merge_not_into_itself(session: Session, org: Org) -> None:
    case = new_case(session, org)
    refused(
        session, case, Invalid, perform(session, org, case, "merge", "disp", target_case_id=case.id)
    )


def test_merge_not_into_a_cancelled_or_missing_case(session: Session, org: Org) -> None:
    case = new_case(session, org)
    cancelled = case_in(session, org, CaseState.cancelled)
    merged = new_case(session, org)
    act(session, org, merged, "merge", "disp", target_case_id=new_case(session, org).id)
    for target in (cancelled.id, merged.id, 987_654):
        refused(
            session,
            case,
            Invalid,
            perform(session, org, case, "merge", "disp", target_case_id=target),
        )


def test_merge_not_into_a_case_outside_jurisdiction(session: Session, org: Org) -> None:
    case = new_case(session, org, by="rep3", grid="G3")
    elsewhere = new_case(session, org)  # G1, outside S2
    refused(
        session,
        case,
        Forbidden,
        perform(session, org, case, "merge", "disp_s2", target_case_id=elsewhere.id),
    )


def test_merge_keeps_the_link_and_the_history(session: Session, org: Org) -> None:
    target = case_in(session, org, CaseState.rectifying)
    target_before = snapshot(session, target)
    case = new_case(session, org)
    act(session, org, case, "merge", "disp", target_case_id=target.id, note="同一处占道")
    assert case.state == CaseState.cancelled
    assert case.merged_into_id == target.id
    last = history_of(session, case)[-1]
    assert (last.action, last.from_state, last.to_state) == ("merge", "reported", "cancelled")
    assert last.data["target_case_id"] == target.id
    assert last.data["target_number"] == target.number
    assert last.note == "同一处占道"
    assert cases.public_one(session, case, org["disp"], NOW).merged_into_id == target.id
    assert snapshot(session, target) == target_before  # the surviving case is untouched
    # A merged case is done: nothing more can be taken on it.
    assert cases.public_one(session, case, org["disp"], NOW).allowed_actions == []


# --- return --------------------------------------------------------------------------------------


def test_return_clears_the_unit_and_the_case_can_be_redispatched(
    session: Session, org: Org
) -> None:
    case = case_in(session, org, CaseState.dispatched)
    old_due = case.due_at
    act(session, org, case, "return", "h_zj", reason="不属于本单位职责")
    assert case.state == CaseState.reported
    assert case.unit_code is None
    assert case.dispatched_at is None and case.due_at is None and case.sign_due_at is None
    last = history_of(session, case)[-1]
    assert (last.from_state, last.to_state) == ("dispatched", "reported")
    assert last.data["unit_code"] == "ZJ"
    assert old_due is not None and last.data["due_at"] == old_due.isoformat()
    # The unit that returned it no longer sees it; the desk does and can send it elsewhere.
    refused(session, case, Forbidden, perform(session, org, case, "sign", "h_zj"))
    assert cases.public_one(session, case, org["h_zj"], NOW).allowed_actions == []
    assert "dispatch" in cases.public_one(session, case, org["disp"], NOW).allowed_actions
    act(session, org, case, "dispatch", "disp", unit_code="SW")
    assert case.state == CaseState.dispatched and case.unit_code == "SW"
    assert case.due_at is not None and case.dispatched_at == NOW
    act(session, org, case, "sign", "h_sw")
    assert case.state == CaseState.rectifying


def test_dispatch_to_an_unknown_unit_is_refused(session: Session, org: Org) -> None:
    case = new_case(session, org)
    refused(session, case, Invalid, perform(session, org, case, "dispatch", "disp", unit_code="XX"))
