"""Every formula of DESIGN.md's metrics on small hand-made data, walked through the real services.

September 2025 (Shanghai). Working days: Mon 1 – Fri 5, Mon 8 – Fri 12, Mon 15 …; the report time
is Tue 30 Sep 18:00. The expected figures are worked out by hand in the comments.
"""

from datetime import date, datetime, timedelta

import pytest

from closeloop.errors import Forbidden, Invalid
from closeloop.letters import service as letters
from closeloop.reports.metrics import service as metrics
from models.enums import CaseKind, Grade, LetterType
from models.types import SHANGHAI
from tests.factories import act, evidence, new_case


def at(day: int, hour: int = 10, month: int = 9) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=SHANGHAI)


AS_OF = at(30, 18)
SEPT = {"date_from": date(2025, 9, 1), "date_to": date(2025, 9, 30), "now": AS_OF}


@pytest.fixture
def september(session, org):  # type: ignore[no-untyped-def]
    """A: closed on time (2 working days). B: signed late, reworked once, closed late (10 working
    days). C: returned by SW, re-dispatched to ZJ, signed on time, overdue. D: cancelled. E: major
    hazard, listed, signed on time, overdue. F: reported in August, overdue (backlog only).
    X: reported in October (outside). A supervision letter about C on 20 Sep."""
    a = new_case(session, org, now=at(1, 9))
    act(session, org, a, "dispatch", "disp", at(1, 10))
    act(session, org, a, "sign", "h_zj", at(1, 10, 9) + timedelta(minutes=30))
    act(session, org, a, "submit", "h_zj", at(3), attachment_ids=[evidence(session, org, a)])
    act(session, org, a, "approve", "disp", at(3, 15))

    b = new_case(session, org, now=at(1, 9))
    act(session, org, b, "dispatch", "disp", at(1, 10))  # due Mon 8 Sep; sign due 12:00
    act(session, org, b, "sign", "h_zj", at(2))
    act(session, org, b, "submit", "h_zj", at(4), attachment_ids=[evidence(session, org, b)])
    act(session, org, b, "reject", "disp", at(4, 15), reason="未整改到位")
    act(session, org, b, "submit", "h_zj", at(15), attachment_ids=[evidence(session, org, b)])
    act(session, org, b, "approve", "disp", at(15, 15))

    c = new_case(session, org, grid="G3", category="0102", by="rep3", now=at(2, 9))
    act(session, org, c, "dispatch", "disp", at(2, 10))  # to SW, the category's unit
    act(session, org, c, "return", "h_sw", at(2, 11), reason="不属于本单位职责")
    act(session, org, c, "dispatch", "disp", at(2, 14), unit_code="ZJ")
    act(session, org, c, "sign", "h_zj", at(2, 15))

    d = new_case(session, org, grid="G3", by="rep3", now=at(3, 9))
    act(session, org, d, "cancel", "disp", at(3, 10), reason="重复上报")

    e = new_case(
        session,
        org,
        kind=CaseKind.hazard,
        grade=Grade.major,
        grid="G2",
        category="0201",
        now=at(5, 9),
    )
    act(session, org, e, "dispatch", "disp", at(5, 10))
    act(session, org, e, "sign", "h_zj", at(5, 11))

    f = new_case(session, org, now=at(29, 9, month=8))
    act(session, org, f, "dispatch", "disp", at(29, 10, month=8))

    x = new_case(session, org, now=at(1, 9, month=10))
    act(session, org, x, "dispatch", "disp", at(1, 10, month=10))

    assert c.id is not None
    letters.issue_letter(
        session,
        letter_type=LetterType.supervision,
        unit_code="ZJ",
        case_ids=[c.id],
        now=at(20),
        actor=org["sup"],
    )
    session.flush()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def test_totals_follow_every_formula(session, org, september):  # type: ignore[no-untyped-def]
    t = metrics.compute(session, actor=org["sup"], **SEPT).total
    assert (t.reported, t.cancelled, t.accepted, t.closed) == (5, 1, 4, 2)
    assert t.closure_rate == 0.5  # 2 / 4
    assert (t.on_time_closed, t.on_time_closure_rate) == (1, 0.25)  # only A beat its deadline
    assert t.overdue_open == 3  # C, E and F (F from August: the backlog counts)
    assert t.listed == 1  # E, a major hazard, listed from dispatch on
    assert (t.dispatches, t.returns, t.return_rate, t.dispatch_accuracy) == (5, 1, 0.2, 0.8)
    assert (t.submissions, t.rejections, t.rework_rate) == (3, 1, 0.3333)
    assert (t.signed_on_time, t.sign_on_time_rate) == (3, 0.6)  # A, C (by ZJ), E; not B
    assert (t.handling_closed, t.handling_days_median, t.handling_days_mean) == (2, 6.0, 6.0)
    assert t.letters.model_dump() == {"reminder": 0, "supervision": 1, "warning": 0, "total": 1}
    # 40·0.25 + 30·0.5 + 20·(1 − 0.3333) + 10·0.6 = 44.334
    assert t.score == 44.33


def test_groups_by_street_rank_and_sum_to_the_total(session, org, september, rank_small_groups):  # type: ignore[no-untyped-def]
    r = metrics.compute(session, actor=org["sup"], group_by="street", **SEPT)
    by = {g.key: g for g in r.groups}
    assert set(by) == {"S1", "S2"}
    s1, s2 = by["S1"], by["S2"]
    assert (s1.name, s1.reported, s1.accepted, s1.closed, s1.overdue_open) == (
        "东门街道",
        3,
        3,
        2,
        2,
    )
    assert (s1.closure_rate, s1.on_time_closure_rate, s1.sign_on_time_rate) == (
        0.6667,
        0.3333,
        0.6667,
    )
    assert s1.score == 53.33 and s1.rank == 1 and not s1.tied
    # S2: C and D. No submission → no rework rate: that component is left out, the rest re-weighted:
    # (40·0 + 30·0 + 10·0.5) / 80 · 100 = 6.25
    assert (s2.reported, s2.accepted, s2.closed, s2.closure_rate, s2.rework_rate) == (
        2,
        1,
        0,
        0.0,
        None,
    )
    assert (s2.return_rate, s2.score, s2.rank) == (0.5, 6.25, 2)
    assert s2.letters.supervision == 1 and s1.letters.total == 0
    for field in ("reported", "accepted", "closed", "overdue_open", "dispatches", "returns"):
        assert sum(getattr(g, field) for g in r.groups) == getattr(r.total, field)
    assert r.ranking.weights["on_time_closure_rate"] == 40


def test_by_unit_a_return_counts_against_the_unit_that_returned(
    session, org, september, rank_small_groups
):  # type: ignore[no-untyped-def]
    r = metrics.compute(session, actor=org["sup"], group_by="unit", **SEPT)
    by = {g.key: g for g in r.groups}
    zj, sw, none = by["ZJ"], by["SW"], by[None]
    assert (zj.reported, zj.dispatches, zj.returns, zj.signed_on_time) == (4, 4, 0, 3)
    assert (zj.closure_rate, zj.sign_on_time_rate, zj.score, zj.rank) == (0.5, 0.75, 45.83, 1)
    # SW was sent C and returned it: its dispatch accuracy is 0, and with no accepted case of its
    # own it has no score and no rank.
    assert (sw.reported, sw.dispatches, sw.returns, sw.return_rate, sw.dispatch_accuracy) == (
        0,
        1,
        1,
        1.0,
        0.0,
    )
    assert (sw.score, sw.rank) == (None, None)
    assert (none.name, none.reported, none.cancelled, none.rank) == ("未派遣", 1, 1, None)
    assert zj.letters.supervision == 1


def test_kind_filter_and_grouping(session, org, september):  # type: ignore[no-untyped-def]
    hazards = metrics.compute(session, actor=org["sup"], kind="hazard", **SEPT).total
    assert (hazards.reported, hazards.closed, hazards.listed, hazards.closure_rate) == (
        1,
        0,
        1,
        0.0,
    )
    letter_cases = metrics.compute(session, actor=org["sup"], kind="letter", **SEPT).total
    assert letter_cases.reported == 1  # the 督办函's own case, counted only when asked for
    kinds = {
        g.key: g for g in metrics.compute(session, actor=org["sup"], group_by="kind", **SEPT).groups
    }
    assert set(kinds) == {"event", "hazard"}
    assert (kinds["event"].name, kinds["event"].reported) == ("网格事件", 4)


def test_as_of_counts_closures_up_to_the_report_time(session, org, september):  # type: ignore[no-untyped-def]
    early = metrics.compute(session, actor=org["sup"], as_of=at(10, 18), **SEPT).total
    assert early.closed == 1  # B closed on the 15th
    assert early.handling_days_median == 2.0


def test_empty_period_has_no_rates_and_no_ranks(session, org, september):  # type: ignore[no-untyped-def]
    r = metrics.compute(
        session,
        actor=org["sup"],
        date_from=date(2025, 7, 1),
        date_to=date(2025, 7, 31),
        now=AS_OF,
        group_by="grid",
    )
    t = r.total
    assert (t.reported, t.accepted, t.closed) == (0, 0, 0)
    assert t.closure_rate is None and t.on_time_closure_rate is None and t.return_rate is None
    assert t.rework_rate is None and t.handling_days_median is None and t.score is None
    assert {g.key for g in r.groups} == {"G1", "G2", "G3"}  # every grid shown, even empty
    assert all(g.rank is None and g.score is None for g in r.groups)


def test_equal_scores_share_a_rank(session, org, rank_small_groups):  # type: ignore[no-untyped-def]
    for grid, by in (("G1", "rep1"), ("G3", "rep3")):
        c = new_case(session, org, grid=grid, by=by, now=at(1, 9))
        act(session, org, c, "dispatch", "disp", at(1, 10), unit_code="ZJ")
        act(session, org, c, "sign", "h_zj", at(1, 11))
        act(session, org, c, "submit", "h_zj", at(2), attachment_ids=[evidence(session, org, c)])
        act(session, org, c, "approve", "disp", at(2, 15))
    session.flush()
    groups = metrics.compute(session, actor=org["sup"], group_by="street", **SEPT).groups
    assert [(g.key, g.rank, g.tied, g.score) for g in groups] == [
        ("S1", 1, True, 100.0),
        ("S2", 1, True, 100.0),
    ]


def test_weights_change_the_score(session, org, september):  # type: ignore[no-untyped-def]
    from closeloop.reports.metrics.ranking import parse_weights

    w = parse_weights("on_time_closure_rate=0,closure_rate=100,no_rework=0,sign_on_time_rate=0")
    t = metrics.compute(session, actor=org["sup"], weights=w, **SEPT).total
    assert t.score == 50.0  # the closure rate alone
    with pytest.raises(Invalid, match="names"):
        parse_weights("speed=10")
    with pytest.raises(Invalid, match="all be zero"):
        parse_weights("on_time_closure_rate=0,closure_rate=0,no_rework=0,sign_on_time_rate=0")


def test_jurisdiction_narrows_the_figures(session, org, september):  # type: ignore[no-untyped-def]
    s2 = metrics.compute(session, actor=org["sup_s2"], group_by="street", **SEPT)
    assert s2.total.reported == 2 and [g.key for g in s2.groups] == ["S2"]
    mine = metrics.compute(session, actor=org["h_sw"], **SEPT).total
    assert mine.reported == 0  # SW holds no case now
    with pytest.raises(Forbidden):
        metrics.compute(session, actor=org["rep1"], **SEPT)
    with pytest.raises(Forbidden):
        metrics.compute(session, actor=org["sup_s2"], region_code="S1", **SEPT)
    narrowed = metrics.compute(session, actor=org["sup"], region_code="C1", **SEPT).total
    assert narrowed.reported == 3  # A, B (G1) and E (G2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_to": date(2025, 8, 1)}, "before 'from'"),
        ({"group_by": "colour"}, "group_by must be one of"),
        ({"kind": "fire"}, "kind must be one of"),
        ({"region_code": "NOPE"}, "does not exist"),
        ({"as_of": at(1, 0, month=1)}, "before the period starts"),
        ({"date_from": date(2000, 1, 1)}, "at most"),
    ],
)
def test_bad_queries_say_what_is_wrong(session, org, change, message):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match=message):
        metrics.compute(session, actor=org["sup"], **(SEPT | change))
