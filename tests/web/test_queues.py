"""closeloop/cases/queues.py: time left, possible duplicates, the unit work list and the requests
waiting for a supervisor (the queries behind the pages)."""

from datetime import UTC, datetime, timedelta

from closeloop.calendar.service import load_calendar
from closeloop.cases import queues
from closeloop.cases.queues import TimeLeft
from tests.factories import NOW, act, case_in, new_case


def test_time_left_counts_working_days_across_the_national_day_holiday(session):
    cal = load_calendar(session)
    now = NOW  # Tuesday 30 September 2025, 10:00 Shanghai; 1–8 October are off
    due = datetime(2025, 10, 10, 15, 59, 59, tzinfo=UTC)  # Friday 10 October 23:59:59 local
    assert queues.time_left(cal, due, now) == TimeLeft(2, overdue=False)  # 9th and 10th
    assert queues.time_left(cal, now + timedelta(hours=2), now) == TimeLeft(0, overdue=False)
    late = datetime(2025, 9, 26, 15, 59, 59, tzinfo=UTC)  # Friday 26 September
    # 28 September (Sunday) was a make-up working day, 29 and 30 are working days.
    assert queues.time_left(cal, late, now) == TimeLeft(3, overdue=True)
    assert queues.time_left(cal, now - timedelta(hours=1), now) == TimeLeft(0, overdue=True)
    assert queues.time_left(cal, None, now) is None


def test_possible_duplicates_same_category_and_grid_within_three_days(session, org):
    base = new_case(session, org)
    twin = new_case(session, org, now=NOW + timedelta(days=2))
    new_case(session, org, now=NOW + timedelta(days=6))  # 4 days after the twin: too far
    new_case(session, org, category="0102")  # other category
    new_case(session, org, grid="G2", by="disp")  # other grid
    cancelled = new_case(session, org, now=NOW + timedelta(hours=1))
    act(session, org, cancelled, "cancel", "disp", reason="重复")
    found = queues.possible_duplicates(session, actor=org["disp"], cases=[base, twin])
    assert [c.id for c in found[base.id]] == [twin.id]
    assert [c.id for c in found[twin.id]] == [base.id]


def test_possible_duplicates_stay_inside_jurisdiction(session, org):
    mine = new_case(session, org, grid="G3", by="disp_s2")
    other = new_case(session, org, grid="G3", by="disp")
    assert queues.possible_duplicates(session, actor=org["disp"], cases=[mine])[mine.id] == [other]
    # A reporter sees only their own cases, so nobody else's report is offered as a duplicate.
    assert queues.possible_duplicates(session, actor=org["rep3"], cases=[mine])[mine.id] == []


def test_unit_worklist_sections(session, org):
    cal = load_calendar(session)
    to_sign = case_in(session, org, "dispatched")
    soon = case_in(session, org, "rectifying")  # 0101: 5 working days → not soon at NOW
    # Due Tuesday 14 October (5 working days: 9, 10, 11 (make-up), 13, 14); on Friday 10
    # October that is 3 working days away.
    later = NOW + timedelta(days=10)
    late = case_in(session, org, "rectifying", now=NOW - timedelta(days=20))
    box = queues.unit_worklist(session, actor=org["h_zj"], cal=cal, now=later)
    ids = {
        k: [r.case.id for r in getattr(box, k)] for k in ("to_sign", "due_soon", "overdue", "other")
    }
    assert ids["to_sign"] == [to_sign.id]
    assert soon.id in ids["due_soon"] and late.id in ids["overdue"]
    assert queues.unit_worklist(session, actor=org["h_sw"], cal=cal, now=later).to_sign == []


def test_pending_decisions_for_a_supervisor(session, org):
    case = case_in(session, org, "rectifying")
    act(session, org, case, "request_extension", "h_zj", days=3, reason="采购材料")
    [d] = queues.pending_decisions(session, actor=org["sup"], now=NOW)
    assert d.case.id == case.id and d.request.days == 3
    assert "approve_extension" in d.case.allowed_actions
    assert queues.pending_decisions(session, actor=org["sup_s2"], now=NOW) == []


def test_signing_overdue_and_overdue_lists_most_late_first(session, org, web):  # type: ignore[no-untyped-def]
    from closeloop.cases import service as cases
    from closeloop.cases.service import CaseFilter

    fresh = case_in(session, org, "dispatched")  # sign due 2 office hours after NOW
    assert not queues.sign_overdue(fresh, NOW) and queues.sign_overdue(
        fresh, NOW + timedelta(days=1)
    )
    older = case_in(session, org, "rectifying", now=NOW - timedelta(days=30))
    newer = case_in(session, org, "rectifying", now=NOW - timedelta(days=20))
    session.commit()
    late = cases.list_cases(
        session, actor=org["sup"], filters=CaseFilter(overdue=True), page=1, page_size=10, now=NOW
    )
    assert [c.id for c in late.items] == [older.id, newer.id]  # the earliest deadline first
    assert cases.is_overdue(older, NOW) and not cases.is_overdue(fresh, NOW)
    session.commit()  # end the test's read: SQLite serialises writers, and the page logs in

    mine = web("rep1").get("/my").text
    assert "已超期" in mine  # the grid worker is told their report is overdue and chased
