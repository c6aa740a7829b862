"""Return review in the metrics: re-dispatches and granted return requests count against dispatch
accuracy, (dispatches − returns − redispatches) / dispatches, per unit against the unit the case
was taken from; a re-dispatch is a dispatch to the unit it goes to, so no rate exceeds 1. September 2025, Shanghai; the report time is Tue 30 Sep 18:00."""

from datetime import date, datetime

from closeloop.reports.metrics import service as metrics
from models.types import SHANGHAI
from tests.factories import act, new_case


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 9, day, hour, 0, tzinfo=SHANGHAI)


SEPT = {"date_from": date(2025, 9, 1), "date_to": date(2025, 9, 30), "now": at(30, 18)}


def test_redispatches_and_granted_returns_count_against_accuracy(session, org):  # type: ignore[no-untyped-def]
    # A: dispatched to ZJ, re-dispatched to SW.            1 dispatch, 1 re-dispatch (ZJ's)
    a = new_case(session, org, now=at(1, 9))
    act(session, org, a, "dispatch", "disp", at(1, 10), unit_code="ZJ")
    act(session, org, a, "redispatch", "disp", at(2), unit_code="SW", reason="派错")
    # B: ZJ returns it, dispatched to ZJ again, asks, refused. 2 dispatches, 1 return
    b = new_case(session, org, now=at(1, 9))
    act(session, org, b, "dispatch", "disp", at(1, 10), unit_code="ZJ")
    act(session, org, b, "return", "h_zj", at(1, 11), reason="不归我们", reason_code="not_ours")
    act(session, org, b, "dispatch", "disp", at(2), unit_code="ZJ")
    act(session, org, b, "request_return", "h_zj", at(2, 11), reason="确实不归我们")
    act(session, org, b, "reject_return", "sup", at(3), reason="属本单位职责")
    # C: signed by ZJ, asks, granted.                       1 dispatch, 1 granted return
    c = new_case(session, org, now=at(1, 9))
    act(session, org, c, "dispatch", "disp", at(1, 10), unit_code="ZJ")
    act(session, org, c, "sign", "h_zj", at(1, 11))
    act(session, org, c, "request_return", "h_zj", at(2), reason="不归我们", reason_code="address")
    act(session, org, c, "approve_return", "sup", at(3))
    # D: dispatched to ZJ, nothing else.                     1 dispatch
    d = new_case(session, org, now=at(1, 9))
    act(session, org, d, "dispatch", "disp", at(1, 10), unit_code="ZJ")

    t = metrics.compute(session, actor=org["sup"], **SEPT).total
    # dispatches: 5 by the desk + A's re-dispatch to SW; returns: B's and C's granted
    assert (t.dispatches, t.returns, t.redispatches) == (6, 2, 1)
    assert t.return_requests.model_dump() == {"requested": 2, "granted": 1, "refused": 1}
    assert t.return_rate == 0.3333  # 2 / 6
    assert t.dispatch_accuracy == 0.5  # (6 − 2 − 1) / 6
    assert t.sign_on_time_rate == round(1 / 6, 4)  # C signed on time

    units = {
        g.key: g for g in metrics.compute(session, actor=org["sup"], group_by="unit", **SEPT).groups
    }
    zj, sw = units["ZJ"], units["SW"]
    assert (zj.dispatches, zj.returns, zj.redispatches) == (5, 2, 1)
    assert zj.dispatch_accuracy == 0.4
    # SW was given A by the re-dispatch: one dispatch, nothing undone.
    assert (sw.dispatches, sw.redispatches, sw.dispatch_accuracy, sw.return_rate) == (
        1,
        0,
        1.0,
        0.0,
    )

    # As of 2 Sep 10:30: A's re-dispatch, B's return and C's request (not yet granted).
    early = metrics.compute(
        session, actor=org["sup"], **{**SEPT, "now": at(30, 18)}, as_of=at(2, 10).replace(minute=30)
    ).total
    assert (early.dispatches, early.returns, early.redispatches) == (6, 1, 1)
    assert early.return_requests.model_dump() == {"requested": 1, "granted": 0, "refused": 0}


def test_reports_show_redispatches_next_to_returns() -> None:
    from closeloop.reports.render import HEADLINE, RANK_COLUMNS

    fields = [f for _, f, _ in HEADLINE]
    i = fields.index("return_rate")
    assert fields[i + 1 : i + 4] == ["returns", "redispatches", "dispatch_accuracy"]
    ranked = [f for _, f, _ in RANK_COLUMNS]
    assert ranked[ranked.index("return_rate") + 1] == "redispatches"
    assert "sign_on_time_rate" in ranked and "score" in ranked
