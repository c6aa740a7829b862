"""The guards around the lifecycle: reasons, evidence, merge, return, versions, the reopen window,
extension requests, major hazards and jurisdiction. A refused action changes nothing."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.cases import service as cases
from closeloop.config import Settings
from closeloop.errors import Conflict, DomainError, Forbidden, Invalid
from models.case import ActionInput, Case, CaseRequest
from models.enums import CaseKind, CaseState, Grade, RequestStatus
from models.history import CaseHistory
from tests.factories import NOW, Org, act, case_in, evidence, new_case


def history_of(session: Session, case: Case) -> list[CaseHistory]:
    return list(
        session.exec(
            select(CaseHistory).where(CaseHistory.case_id == case.id).order_by(col(CaseHistory.seq))
        )
    )


def snapshot(session: Session, case: Case) -> dict[str, Any]:
    """What a refused action must leave alone. Counting history autoflushes anything dirty."""
    count = session.exec(
        select(func.count()).select_from(CaseHistory).where(CaseHistory.case_id == case.id)
    ).one()
    requests = session.exec(
        select(func.count()).select_from(CaseRequest).where(CaseRequest.case_id == case.id)
    ).one()
    fields = (
        "state",
        "version",
        "unit_code",
        "dispatched_at",
        "due_at",
        "deadline_version",
        "sign_due_at",
        "listed",
        "merged_into_id",
        "closed_at",
        "cancelled_at",
        "rework_count",
        "submitted_at",
    )
    return {"history": count, "requests": requests} | {f: getattr(case, f) for f in fields}


def refused(
    session: Session, case: Case, error: type[DomainError], call: Callable[[], object]
) -> DomainError:
    before = snapshot(session, case)
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value.detail}"
    assert snapshot(session, case) == before, "a refused action changed the case"
    return info.value


def perform(
    session: Session, org: Org, case: Case, action: str, by: str, now=NOW, **data: object
) -> Callable[[], Case]:
    """The call, not yet made (for `refused`)."""
    assert case.id is not None
    return lambda: cases.perform(
        session, actor=org[by], case_id=case.id, action=action, data=ActionInput(**data), now=now
    )


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
    assert action in e.detail and "reason" in e.detail


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
    assert "attachment_ids" in e.detail


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
    assert "target_case_id" in e.detail


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


# --- optimistic version --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 1])
def test_stale_version_is_a_conflict_and_changes_nothing(
    session: Session, org: Org, offset: int
) -> None:
    case = case_in(session, org, CaseState.dispatched)
    current = case.version
    e = refused(
        session,
        case,
        Conflict,
        perform(session, org, case, "sign", "h_zj", version=current + offset),
    )
    assert e.status == 409
    assert str(current) in e.detail
    assert e.extra.get("current_version") == current
    act(session, org, case, "sign", "h_zj", version=current)
    assert case.state == CaseState.rectifying and case.version == current + 1


def test_every_action_bumps_the_version_even_a_request(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    v = case.version
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2, version=v)
    assert case.version == v + 1
    # The handler's old copy is now stale.
    refused(session, case, Conflict, perform(session, org, case, "submit", "h_zj", version=v))


# --- reopen window -------------------------------------------------------------------------------


def test_reopen_within_the_window(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.closed)
    act(session, org, case, "reopen", "sup", now=NOW + timedelta(days=30), reason="问题复发")
    assert case.state == CaseState.rectifying and case.closed_at is None


def test_reopen_refused_after_the_window(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.closed)
    late = NOW + timedelta(days=30, seconds=1)
    assert "reopen" not in cases.public_one(session, case, org["sup"], late).allowed_actions
    e = refused(
        session, case, Conflict, perform(session, org, case, "reopen", "sup", now=late, reason="x")
    )
    assert e.status == 409 and "30" in e.detail


def test_reopen_window_is_configurable(
    session: Session, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_in(session, org, CaseState.closed)
    assert case.id is not None
    short = Settings(reopen_window_days=5)
    call = lambda: cases.perform(  # noqa: E731
        session,
        actor=org["sup"],
        case_id=case.id,
        action="reopen",
        data=ActionInput(reason="问题复发"),
        now=NOW + timedelta(days=6),
        settings=short,
    )
    refused(session, case, Conflict, call)
    # And through the environment, as an installation sets it.
    from closeloop.config import get_settings

    monkeypatch.setenv("CLOSELOOP_REOPEN_WINDOW_DAYS", "60")
    get_settings.cache_clear()
    act(session, org, case, "reopen", "sup", now=NOW + timedelta(days=45), reason="问题复发")
    assert case.state == CaseState.rectifying


# --- extension requests --------------------------------------------------------------------------


def test_request_extension_twice_is_a_conflict(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    assert (
        "request_extension" not in cases.public_one(session, case, org["h_zj"], NOW).allowed_actions
    )
    e = refused(
        session,
        case,
        Conflict,
        perform(session, org, case, "request_extension", "h_zj", reason="再申请", days=5),
    )
    assert e.status == 409
    pending = session.exec(
        select(CaseRequest).where(
            CaseRequest.case_id == case.id, CaseRequest.status == RequestStatus.pending
        )
    ).all()
    assert [r.days for r in pending] == [2]


def test_request_extension_needs_days(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    e = refused(
        session,
        case,
        Invalid,
        perform(session, org, case, "request_extension", "h_zj", reason="材料未到"),
    )
    assert "days" in e.detail


@pytest.mark.parametrize("action", ["approve_extension", "reject_extension"])
@pytest.mark.parametrize("state", [CaseState.rectifying, CaseState.suspended])
def test_deciding_an_extension_needs_a_pending_request(
    session: Session, org: Org, action: str, state: CaseState
) -> None:
    case = case_in(session, org, state)
    e = refused(session, case, Conflict, perform(session, org, case, action, "sup", reason="x"))
    assert e.status == 409


def test_a_decided_request_cannot_be_decided_again(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    act(session, org, case, "reject_extension", "sup", reason="理由不充分")
    for action in ("approve_extension", "reject_extension"):
        refused(session, case, Conflict, perform(session, org, case, action, "sup", reason="x"))
    # ...but the handler may ask again.
    act(session, org, case, "request_extension", "h_zj", reason="补充材料", days=1)


def test_request_suspension_twice_is_a_conflict_and_suspend_grants_it(
    session: Session, org: Org
) -> None:
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_suspension", "h_zj", reason="需要第三方配合")
    refused(
        session,
        case,
        Conflict,
        perform(session, org, case, "request_suspension", "h_zj", reason="再申请"),
    )
    act(session, org, case, "suspend", "sup", reason="同意挂起")
    request = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    assert request.status == RequestStatus.approved and request.decided_by == org["sup"].id


# --- jurisdiction --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["disp_s2", "sup_s2"])
def test_desk_of_another_street_cannot_touch_a_case(session: Session, org: Org, who: str) -> None:
    reported = new_case(session, org)  # grid G1, street S1
    for action, data in (
        ("dispatch", {"unit_code": "ZJ"}),
        ("cancel", {"reason": "x"}),
        ("merge", {"target_case_id": new_case(session, org).id}),
    ):
        e = refused(
            session, reported, Forbidden, perform(session, org, reported, action, who, **data)
        )
        assert e.status == 403
    verifying = case_in(session, org, CaseState.verifying)
    refused(session, verifying, Forbidden, perform(session, org, verifying, "approve", who))
    with pytest.raises(Forbidden):
        cases.load_case(session, actor=org[who], case_id=reported.id or 0)
    assert cases.public_one(session, reported, org[who], NOW).allowed_actions == []


def test_desk_of_a_street_acts_within_it(session: Session, org: Org) -> None:
    case = new_case(session, org, by="rep3", grid="G3")  # street S2
    act(session, org, case, "dispatch", "disp_s2", unit_code="SW")
    assert case.state == CaseState.dispatched
    other = new_case(session, org, by="rep3", grid="G3")
    act(session, org, other, "cancel", "sup_s2", reason="不属于受理范围")
    assert other.state == CaseState.cancelled


def test_handler_of_another_unit_cannot_see_a_case(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.dispatched)  # unit ZJ
    e = refused(session, case, Forbidden, perform(session, org, case, "sign", "h_sw"))
    assert e.status == 403
    with pytest.raises(Forbidden):
        cases.load_case(session, actor=org["h_sw"], case_id=case.id or 0)
    page = cases.list_cases(
        session,
        actor=org["h_sw"],
        filters=cases.CaseFilter(),
        page=1,
        page_size=50,
        now=NOW,
    )
    assert page.total == 0 and page.items == []
    mine = cases.list_cases(
        session, actor=org["h_zj"], filters=cases.CaseFilter(), page=1, page_size=50, now=NOW
    )
    assert [c.id for c in mine.items] == [case.id]


def test_reporter_sees_only_what_they_filed(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.verifying)  # filed by rep1
    refused(session, case, Forbidden, perform(session, org, case, "approve", "rep3"))
    act(session, org, case, "approve", "rep1", note="现场已清理")
    assert case.state == CaseState.closed


def test_reporter_cannot_verify_a_hazard(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.verifying, kind=CaseKind.hazard)
    refused(session, case, Forbidden, perform(session, org, case, "approve", "rep1"))


def test_supervisor_refuses_a_suspension_request(session, org):
    case = case_in(session, org, CaseState.rectifying)
    with pytest.raises(Conflict, match="no pending suspension"):
        act(session, org, case, "reject_suspension", "sup", reason="不需要挂起")
    act(session, org, case, "request_suspension", "h_zj", reason="等待燃气公司停气")
    with pytest.raises(Invalid, match="reason"):
        act(session, org, case, "reject_suspension", "sup")
    act(session, org, case, "reject_suspension", "sup", reason="可以边施工边整改")
    assert case.state == CaseState.rectifying
    req = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    assert req.status == "rejected" and req.decision_note == "可以边施工边整改"
    # A new request may follow the refusal, and suspending grants it.
    act(session, org, case, "request_suspension", "h_zj", reason="燃气公司确认停气")
    act(session, org, case, "suspend", "sup", reason="同意挂起")
    statuses = sorted(r.status for r in session.exec(
        select(CaseRequest).where(CaseRequest.case_id == case.id)))
    assert statuses == ["approved", "rejected"]
