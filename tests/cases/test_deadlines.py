"""Deadlines through the real services: dispatch (category limit, limit_days, explicit due_at),
signing in office hours, the statutory calendar with make-up days and admin overrides, unknown
years, suspension, extension, rejected verification and reopen."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.calendar.days import SHANGHAI
from closeloop.calendar.service import set_overrides, year_view
from closeloop.cases import service as cases
from closeloop.errors import Invalid
from closeloop.org import service as org_service
from models.case import ActionInput, Case, CaseRequest
from models.enums import CaseKind, CaseState, RequestStatus
from models.history import CaseHistory
from models.org import CategoryCreate
from models.system import CalendarOverrideIn
from tests.factories import NOW, Org, act, case_in, evidence, new_case


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return sh(y, m, d, 23, 59, 59)


def last_history(session: Session, case: Case) -> CaseHistory:
    row = session.exec(
        select(CaseHistory)
        .where(CaseHistory.case_id == case.id)
        .order_by(col(CaseHistory.seq).desc())
    ).first()
    assert row is not None
    return row


def dispatched(
    session: Session, o: Org, at: datetime, *, category: str = "0101", **data: object
) -> Case:
    """A case filed and dispatched at `at`."""
    case = new_case(session, o, category=category, now=at)
    return act(session, o, case, "dispatch", "disp", now=at, **data)


def rectifying(session: Session, o: Org, at: datetime = NOW, **data: object) -> Case:
    case = dispatched(session, o, at, **data)
    return act(session, o, case, "sign", "h_zj", now=at)


# --- dispatch ------------------------------------------------------------------------------------


def test_two_working_days_from_the_eve_of_national_day(session: Session, org: Org) -> None:
    case = dispatched(session, org, NOW, limit_days=2)  # Tuesday 2025-09-30 10:00 Shanghai
    assert case.due_at == end_of(2025, 10, 10)
    assert case.due_estimated is False
    assert case.deadline_version == 1
    data = last_history(session, case).data
    assert data["limit_days"] == 2
    assert datetime.fromisoformat(data["due_at"]) == end_of(2025, 10, 10)


def test_the_category_limit_counts_the_make_up_saturday(session: Session, org: Org) -> None:
    case = dispatched(session, org, NOW)  # 0101: 5 working days
    # 10-09, 10-10, 10-11 (Saturday, 调休), 10-13, 10-14.
    assert case.due_at == end_of(2025, 10, 14)
    sw = dispatched(session, org, NOW, category="0102")  # 3 working days, unit SW by routing
    assert sw.unit_code == "SW" and sw.due_at == end_of(2025, 10, 11)


def test_make_up_working_day(session: Session, org: Org) -> None:
    case = dispatched(session, org, sh(2025, 10, 9, 15), limit_days=2)
    assert case.due_at == end_of(2025, 10, 11)  # Friday, then Saturday 10-11 (调休)


def test_spring_festival_2026(session: Session, org: Org) -> None:
    # Off 2026-02-15..02-23; Saturdays 02-14 and 02-28 are make-up working days.
    friday = sh(2026, 2, 13, 10)
    assert dispatched(session, org, friday, limit_days=2).due_at == end_of(2026, 2, 24)
    assert dispatched(session, org, friday, limit_days=1).due_at == end_of(2026, 2, 14)
    assert dispatched(session, org, friday, category="0102").due_at == end_of(2026, 2, 25)


def test_late_evening_utc_is_the_next_day_in_shanghai(session: Session, org: Org) -> None:
    at = datetime(2025, 10, 9, 17, 0, tzinfo=UTC)  # 2025-10-10 01:00 Shanghai, a Friday
    case = dispatched(session, org, at, limit_days=1)
    assert case.due_at == end_of(2025, 10, 11)  # not 10-10, as the UTC date would give


def test_an_unknown_year_is_estimated(session: Session, org: Org) -> None:
    at = sh(2031, 1, 3, 10)  # a Friday in a year the calendar does not know
    case = dispatched(session, org, at, limit_days=2)
    assert case.due_at == end_of(2031, 1, 7)  # plain weekdays
    assert case.due_estimated is True
    assert last_history(session, case).data.get("estimated") is True
    public = cases.public_one(session, case, org["disp"], at)
    assert public.due_estimated is True
    # A deadline in a known year is not estimated.
    assert dispatched(session, org, NOW, limit_days=2).due_estimated is False


def test_limit_days_overrides_the_category(session: Session, org: Org) -> None:
    case = dispatched(session, org, NOW, category="0201", limit_days=1)  # category says 10
    assert case.due_at == end_of(2025, 10, 9)
    assert last_history(session, case).data["limit_days"] == 1


def test_explicit_due_at(session: Session, org: Org) -> None:
    due = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)
    case = dispatched(session, org, NOW, due_at=due)
    assert case.due_at == due
    assert case.deadline_version == 1 and case.due_estimated is False
    data = last_history(session, case).data
    assert data["source"] == "explicit"
    assert datetime.fromisoformat(data["due_at"]) == due


def test_explicit_due_at_without_offset_is_shanghai_time(session: Session, org: Org) -> None:
    case = dispatched(session, org, NOW, due_at=datetime(2025, 10, 20, 18, 0))
    assert case.due_at == sh(2025, 10, 20, 18)


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(seconds=-1), timedelta(days=-3)])
def test_explicit_due_at_must_be_in_the_future(
    session: Session, org: Org, delta: timedelta
) -> None:
    case = new_case(session, org)
    assert case.id is not None

    def state() -> tuple:
        count = session.exec(
            select(func.count()).select_from(CaseHistory).where(CaseHistory.case_id == case.id)
        ).one()  # autoflushes anything the refusal left dirty
        return (
            count,
            case.state,
            case.version,
            case.unit_code,
            case.dispatched_at,
            case.due_at,
            case.sign_due_at,
            case.deadline_version,
        )

    before = state()
    with pytest.raises(Invalid) as e:
        cases.perform(
            session,
            actor=org["disp"],
            case_id=case.id,
            action="dispatch",
            data=ActionInput(unit_code="ZJ", due_at=NOW + delta),
            now=NOW,
        )
    assert e.value.status == 422 and "due_at" in e.value.detail
    assert state() == before


# --- signing (office hours) ----------------------------------------------------------------------


def test_signing_limit_counts_office_hours(session: Session, org: Org) -> None:
    monday_17 = sh(2025, 9, 29, 17)
    case = dispatched(session, org, monday_17)  # 0101: 2 working hours to sign
    assert case.sign_due_at == sh(2025, 9, 30, 10)
    assert last_history(session, case).data["sign_due_at"] == case.sign_due_at.isoformat()
    # From 17:00 on Tuesday 9-30 the next working day is 10-09, after the holidays.
    assert dispatched(session, org, sh(2025, 9, 30, 17)).sign_due_at == sh(2025, 10, 9, 10)
    # The category's own limit: 0201 gives 4 hours.
    assert dispatched(session, org, monday_17, category="0201").sign_due_at == sh(2025, 9, 30, 12)


def test_signing_limit_defaults(session: Session, org: Org) -> None:
    org_service.create_category(
        session,
        data=CategoryCreate(
            code="0202", name="消防通道", parent_code="02", unit_code="ZJ", limit_days=4
        ),
    )
    case = dispatched(session, org, sh(2025, 9, 29, 17), category="0202")
    assert case.sign_due_at == sh(2025, 9, 30, 10)  # the default: 2 working hours
    assert case.due_at == end_of(2025, 10, 11)  # 4 working days: 9-30, 10-09, 10-10, 10-11


def test_urgent_signing_is_thirty_minutes_of_wall_clock(session: Session, org: Org) -> None:
    for at in (sh(2025, 9, 29, 17), sh(2025, 10, 1, 12), sh(2025, 9, 29, 23, 50)):
        case = new_case(session, org, now=at, urgent=True)
        act(session, org, case, "dispatch", "disp", now=at)
        assert case.sign_due_at == at + timedelta(minutes=30)


def test_signing_late_is_recorded(session: Session, org: Org) -> None:
    on_time = dispatched(session, org, sh(2025, 9, 29, 17))
    act(session, org, on_time, "sign", "h_zj", now=sh(2025, 9, 30, 10))
    assert last_history(session, on_time).data["on_time"] is True
    late = dispatched(session, org, sh(2025, 9, 29, 17))
    act(session, org, late, "sign", "h_zj", now=sh(2025, 9, 30, 10, 0, 1))
    assert last_history(session, late).data["on_time"] is False


# --- admin overrides -----------------------------------------------------------------------------


def test_override_makes_a_day_off(session: Session, org: Org) -> None:
    set_overrides(
        session,
        actor=org["admin"],
        items=[CalendarOverrideIn(day=date(2025, 10, 10), workday=False, note="区运动会")],
        now=NOW,
    )
    case = dispatched(session, org, NOW, limit_days=2)
    assert case.due_at == end_of(2025, 10, 11)  # 10-09, then 10-11 (10-10 is off now)
    view = year_view(session, year=2025)
    assert "2025-10-10" in view["days_off_on_weekdays"]


def test_override_makes_a_working_day_and_can_be_replaced(session: Session, org: Org) -> None:
    item = CalendarOverrideIn(day=date(2025, 10, 8), workday=True, note="加班")
    set_overrides(session, actor=org["admin"], items=[item], now=NOW)
    assert dispatched(session, org, NOW, limit_days=2).due_at == end_of(2025, 10, 9)
    # Signing counts it too: 17:00 on 9-30 + 2 h ends 10:00 on 10-08.
    assert dispatched(session, org, sh(2025, 9, 30, 17)).sign_due_at == sh(2025, 10, 8, 10)
    item = CalendarOverrideIn(day=date(2025, 10, 8), workday=False, note="撤销")
    set_overrides(session, actor=org["admin"], items=[item], now=NOW)
    assert dispatched(session, org, NOW, limit_days=2).due_at == end_of(2025, 10, 10)


def test_override_in_an_unknown_year(session: Session, org: Org) -> None:
    set_overrides(
        session,
        actor=org["admin"],
        items=[CalendarOverrideIn(day=date(2031, 1, 6), workday=False, note="预先录入")],
        now=NOW,
    )
    case = dispatched(session, org, sh(2031, 1, 3, 10), limit_days=2)
    assert case.due_at == end_of(2031, 1, 8)


# --- suspension ----------------------------------------------------------------------------------


def test_suspension_stops_the_clock(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    assert case.due_at == end_of(2025, 10, 14) and case.deadline_version == 1
    act(session, org, case, "suspend", "sup", now=sh(2025, 10, 9, 10), reason="等待产权单位配合")
    assert case.due_at == end_of(2025, 10, 14)  # unchanged while suspended
    # Resumed three working days later: 10-10, 10-11 (调休), 10-13.
    act(session, org, case, "resume", "sup", now=sh(2025, 10, 13, 10))
    assert case.state == CaseState.rectifying
    assert case.due_at == end_of(2025, 10, 17)  # 10-14 + 3: 15, 16, 17
    assert case.deadline_version == 2
    data = last_history(session, case).data
    assert data["paused_working_days"] == 3
    assert datetime.fromisoformat(data["old_due_at"]) == end_of(2025, 10, 14)


def test_suspension_over_holidays_only_moves_nothing(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "suspend", "sup", now=sh(2025, 9, 30, 15), reason="节前停工")
    act(session, org, case, "resume", "sup", now=sh(2025, 10, 8, 10))
    assert case.due_at == end_of(2025, 10, 14)
    assert case.deadline_version == 1
    assert last_history(session, case).data["paused_working_days"] == 0


def test_resumed_the_same_day_moves_nothing(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "suspend", "sup", now=sh(2025, 10, 9, 10), reason="x")
    act(session, org, case, "resume", "sup", now=sh(2025, 10, 9, 16))
    assert case.due_at == end_of(2025, 10, 14) and case.deadline_version == 1


# --- extension -----------------------------------------------------------------------------------


def _request(session: Session, case: Case) -> CaseRequest:
    return session.exec(
        select(CaseRequest)
        .where(CaseRequest.case_id == case.id)
        .order_by(col(CaseRequest.id).desc())
    ).first()  # type: ignore[return-value]


def test_approved_extension_moves_the_deadline(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=3)
    assert (
        case.due_at == end_of(2025, 10, 14) and case.deadline_version == 1
    )  # asking moves nothing
    act(session, org, case, "approve_extension", "sup", note="同意")
    assert case.due_at == end_of(2025, 10, 17)
    assert case.deadline_version == 2
    request = _request(session, case)
    assert request.status == RequestStatus.approved and request.decided_by == org["sup"].id
    data = last_history(session, case).data
    assert data["days"] == 3 and data["decision"] == RequestStatus.approved


def test_supervisor_may_grant_fewer_days(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=5)
    act(session, org, case, "approve_extension", "sup", days=1)
    assert case.due_at == end_of(2025, 10, 15)


def test_rejected_extension_keeps_the_deadline(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=3)
    act(session, org, case, "reject_extension", "sup", reason="理由不充分")
    assert case.due_at == end_of(2025, 10, 14) and case.deadline_version == 1
    assert _request(session, case).status == RequestStatus.rejected


def test_extension_approved_while_suspended(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    act(session, org, case, "suspend", "sup", now=sh(2025, 10, 9, 10), reason="x")
    act(session, org, case, "approve_extension", "sup", now=sh(2025, 10, 10, 10))
    assert case.state == CaseState.suspended
    assert case.due_at == end_of(2025, 10, 16) and case.deadline_version == 2
    act(session, org, case, "resume", "sup", now=sh(2025, 10, 13, 10))  # paused 3
    assert case.due_at == end_of(2025, 10, 21) and case.deadline_version == 3


def test_extension_into_an_unknown_year_is_estimated(session: Session, org: Org) -> None:
    at = sh(2026, 12, 21, 10)
    case = rectifying(session, org, at, limit_days=5)
    assert case.due_at == end_of(2026, 12, 28) and case.due_estimated is False
    act(session, org, case, "request_extension", "h_zj", now=at, reason="年底停工", days=10)
    act(session, org, case, "approve_extension", "sup", now=at)
    assert case.due_at is not None and case.due_at.year == 2027
    assert case.due_estimated is True


# --- verification and reopen ---------------------------------------------------------------------


def test_submit_sets_the_verification_deadline(session: Session, org: Org) -> None:
    case = rectifying(session, org)
    act(session, org, case, "submit", "h_zj", note="已整改")
    assert case.verify_due_at == end_of(2025, 10, 11)  # 3 working days: 9, 10, 11


def test_a_rejected_verification_keeps_the_deadline(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.verifying, kind=CaseKind.hazard)
    due, version = case.due_at, case.deadline_version
    act(session, org, case, "reject", "sup", now=sh(2025, 10, 20, 10), reason="整改不到位")
    assert case.state == CaseState.rectifying
    assert case.due_at == due and case.deadline_version == version
    assert case.rework_count == 1 and case.verify_due_at is None
    # Submitted again and approved late: it was not on time against the original deadline.
    ids = [evidence(session, org, case, now=sh(2025, 10, 21, 10))]
    act(session, org, case, "submit", "h_zj", now=sh(2025, 10, 21, 10), attachment_ids=ids)
    act(session, org, case, "approve", "sup", now=sh(2025, 10, 22, 10))
    assert last_history(session, case).data["on_time"] is False


def test_reopen_sets_a_fresh_deadline(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.closed)
    version = case.deadline_version
    act(session, org, case, "reopen", "sup", now=sh(2025, 10, 20, 10), reason="问题复发")
    assert case.state == CaseState.rectifying
    assert case.due_at == end_of(2025, 10, 27)  # 0101: 5 working days from Monday 10-20
    assert case.deadline_version == version + 1
    assert case.closed_at is None


def test_reopen_with_limit_days(session: Session, org: Org) -> None:
    case = case_in(session, org, CaseState.closed)
    act(session, org, case, "reopen", "sup", now=sh(2025, 10, 20, 10), reason="x", limit_days=2)
    assert case.due_at == end_of(2025, 10, 22)


def test_return_and_redispatch_gives_a_new_deadline_version(session: Session, org: Org) -> None:
    case = dispatched(session, org, NOW)
    act(session, org, case, "return", "h_zj", reason="不属于本单位")
    assert case.due_at is None
    act(session, org, case, "dispatch", "disp", now=sh(2025, 10, 9, 10), unit_code="SW")
    assert case.due_at == end_of(2025, 10, 15) and case.deadline_version == 2
