"""The guards on when and by whom: optimistic versions, the reopen window, extension and
suspension requests, and jurisdiction. A refused action changes nothing."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from closeloop.cases import service as cases
from closeloop.config import Settings
from closeloop.errors import Conflict, Forbidden, Invalid
from models.case import ActionInput, CaseRequest
from models.enums import CaseKind, CaseState, RequestStatus
from tests.cases.guarding import perform, refused
from tests.factories import NOW, Org, act, case_in, new_case

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
    statuses = sorted(
        r.status for r in session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id))
    )
    assert statuses == ["approved", "rejected"]
