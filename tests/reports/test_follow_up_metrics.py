"""回访率 and 满意率 (closeloop/reports/metrics/followups.py) on hand-made data, walked through the
real services. September 2025 (Shanghai); the report time T is Tue 30 Sep 18:00.

A, B, C, D, G: events of unit ZJ closed on 10 Sep; E: an event of SW closed on 12 Sep.
A satisfied, B basically satisfied, C unsatisfied (→ 重办, rectifying at T), D never followed up,
G followed up only after T, E satisfied. H: closed in August, followed up in September (not of
this period). A hazard closed in September (hazards are not followed up).

closed_events = A B C D E G = 6; followed_up = A B C E = 4; satisfied = A B E = 3
→ follow_up_rate 4/6 = 0.6667, satisfaction_rate 3/4 = 0.75.
ZJ: 5 closed, 3 followed up, 2 satisfied → 0.6, 0.6667. SW: 1, 1, 1 → 1.0, 1.0.
"""

from datetime import date, datetime

import pytest

from closeloop.reports.metrics import service as metrics
from closeloop.reports.metrics.ranking import parse_weights
from models.enums import CaseKind, CaseState, Grade
from models.types import SHANGHAI
from tests.factories import act, case_in, evidence, new_case


def at(day: int, hour: int = 10, month: int = 9) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=SHANGHAI)


AS_OF = at(30, 18)
SEPT = {"date_from": date(2025, 9, 1), "date_to": date(2025, 9, 30), "now": at(30, 22)}


@pytest.fixture
def followed(session, org):  # type: ignore[no-untyped-def]
    a, b, c, d, g = (case_in(session, org, CaseState.closed, now=at(10)) for _ in range(5))
    act(session, org, a, "follow_up", "disp", at(11), satisfaction="satisfied")
    act(session, org, b, "follow_up", "rep1", at(11), satisfaction="basically_satisfied")
    act(session, org, c, "follow_up", "sup", at(11), satisfaction="unsatisfied", note="仍占道")
    act(session, org, g, "follow_up", "disp", at(30, 20), satisfaction="unsatisfied")
    e = new_case(session, org, category="0102", now=at(11))
    act(session, org, e, "dispatch", "disp", at(11, 11), unit_code="SW")
    act(session, org, e, "sign", "h_sw", at(11, 12))
    ids = [evidence(session, org, e, by="h_sw", now=at(12))]
    act(session, org, e, "submit", "h_sw", at(12), attachment_ids=ids)
    act(session, org, e, "approve", "disp", at(12, 15))
    act(session, org, e, "follow_up", "disp", at(15), satisfaction="satisfied")
    h = case_in(session, org, CaseState.closed, now=at(20, month=8))
    act(session, org, h, "follow_up", "disp", at(2), satisfaction="unsatisfied")
    case_in(session, org, CaseState.closed, kind=CaseKind.hazard, grade=Grade.general, now=at(9))
    assert c.state == CaseState.rectifying and d.state == CaseState.closed


def test_the_rates_in_total(session, org, followed):  # type: ignore[no-untyped-def]
    t = metrics.compute(session, actor=org["sup"], as_of=AS_OF, **SEPT).total
    assert (t.closed_events, t.followed_up, t.satisfied) == (6, 4, 3)
    assert (t.follow_up_rate, t.satisfaction_rate) == (0.6667, 0.75)


def test_the_rates_per_unit_and_street(session, org, followed):  # type: ignore[no-untyped-def]
    r = metrics.compute(session, actor=org["sup"], as_of=AS_OF, group_by="unit", **SEPT)
    units = {g.key: g for g in r.groups}
    zj, sw = units["ZJ"], units["SW"]
    assert (zj.closed_events, zj.followed_up, zj.satisfied) == (5, 3, 2)
    assert (zj.follow_up_rate, zj.satisfaction_rate) == (0.6, 0.6667)
    assert (sw.closed_events, sw.follow_up_rate, sw.satisfaction_rate) == (1, 1.0, 1.0)
    assert (r.total.follow_up_rate, r.total.satisfaction_rate) == (0.6667, 0.75)
    streets = metrics.compute(session, actor=org["sup"], as_of=AS_OF, group_by="street", **SEPT)
    s1 = next(g for g in streets.groups if g.key == "S1")
    assert (s1.closed_events, s1.followed_up, s1.satisfied) == (6, 4, 3)
    hazards = metrics.compute(session, actor=org["sup"], as_of=AS_OF, kind="hazard", **SEPT)
    assert hazards.total.closed_events == 0 and hazards.total.follow_up_rate is None


def test_later_follow_ups_count_at_a_later_report_time(session, org, followed):  # type: ignore[no-untyped-def]
    t = metrics.compute(session, actor=org["sup"], as_of=at(30, 21), **SEPT).total
    # G's unsatisfied answer (20:00) now counts: 5 of 6 followed up, 3 of 5 satisfied.
    assert (t.closed_events, t.followed_up, t.satisfied) == (6, 5, 3)
    assert (t.follow_up_rate, t.satisfaction_rate) == (0.8333, 0.6)


def test_the_weights_may_rank_by_satisfaction(session, org, followed):  # type: ignore[no-untyped-def]
    default = parse_weights("")
    assert default["follow_up_rate"] == 0 and default["satisfaction_rate"] == 0
    w = parse_weights(
        "on_time_closure_rate=0,closure_rate=0,no_rework=0,sign_on_time_rate=0,satisfaction_rate=50"
    )
    t = metrics.compute(session, actor=org["sup"], weights=w, as_of=AS_OF, **SEPT).total
    assert t.score == 75.0  # the satisfaction rate alone
    w = parse_weights(
        "on_time_closure_rate=0,closure_rate=0,no_rework=0,sign_on_time_rate=0,"
        "follow_up_rate=1,satisfaction_rate=1"
    )
    t = metrics.compute(session, actor=org["sup"], weights=w, as_of=AS_OF, **SEPT).total
    assert t.score == 70.84  # 100 × (0.6667 + 0.75) / 2 = 70.835, rounded half up
