"""The dashboard's shortcuts give exactly what the full computation gives: the six-month trend
(metrics.closure_rates, one query per filing day) equals compute(...).total.closure_rate month
by month, the backlog's indexed narrowing counts what the old NOT(...) form counted, and the
month's figures computed `shown_only` equal the full computation's in every figure the page
shows or the score reads, over the same groups — on random cases over several months, before
and after later changes (closes, a reopen, returns, follow-ups)."""

import random
from datetime import date, datetime, timedelta
from itertools import product
from typing import Any

from sqlalchemy import Select, func
from sqlmodel import Session, col

from closeloop.reports import dashboard, periods
from closeloop.reports.metrics import queries, ranking
from closeloop.reports.metrics import service as metrics
from models.case import Case
from models.enums import CaseKind, CaseState
from models.types import SHANGHAI
from tests.factories import Org, act, evidence, new_case


def sh(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=SHANGHAI)


def _close(session: Session, o: Org, case: Case, at: datetime) -> None:
    ids = [evidence(session, o, case, by="h_zj", now=at)]
    act(session, o, case, "submit", "h_zj", at, note="已整改", attachment_ids=ids)
    act(session, o, case, "approve", "disp", at, note="核查通过")


def _random_cases(session: Session, o: Org, rng: random.Random, n: int) -> list[Case]:
    """Events over June–October 2025 in two streets, in every state the metrics tell apart."""
    made = []
    for _ in range(n):
        at = sh(rng.randint(6, 10), rng.randint(1, 28), rng.randint(8, 20))
        grid = rng.choice(["G1", "G2", "G3"])
        case = new_case(session, o, grid=grid, by="disp", now=at)
        fate = rng.random()
        if fate < 0.1:
            act(session, o, case, "cancel", "disp", at + timedelta(hours=1), note="不予立案")
        elif fate > 0.2:
            act(session, o, case, "dispatch", "disp", at + timedelta(hours=1))
            act(session, o, case, "sign", "h_zj", at + timedelta(hours=2))
            if fate > 0.4:
                _close(session, o, case, at + timedelta(days=rng.randint(0, 15)))
        made.append(case)
    session.flush()
    return made


def _old_backlog(scope: queries.Scope, stmt: Select[Any]) -> Select[Any]:
    """The backlog narrowing as it was written before ix_case_backlog."""
    ended = func.coalesce(col(Case.closed_at), col(Case.cancelled_at))
    final = col(Case.state).in_([CaseState.closed.value, CaseState.cancelled.value])
    return scope.backlog(stmt).where(~(final & (ended <= scope.as_of)))


def _check(session: Session, o: Org, now: datetime) -> None:
    this = periods.containing("monthly", now.astimezone(SHANGHAI).date())
    before = periods.previous(this, 5)
    for who, region in (("sup", None), ("sup", "S1"), ("sup_s2", None), ("admin", None)):
        actor = o[who]
        rates = metrics.closure_rates(
            session,
            actor=actor,
            spans=[(p.start, p.end) for p in before],
            now=now,
            region_code=region,
        )
        full = [
            metrics.compute(
                session, actor=actor, date_from=p.start, date_to=p.end, now=now, region_code=region
            ).total.closure_rate
            for p in before
        ]
        assert rates == full, (who, region)
        for p in before:
            scope = metrics.checked_scope(
                session, actor=actor, date_from=p.start, date_to=p.end, now=now, region_code=region
            )
            for group_by in (None, "street", "unit"):
                new = queries.backlog_counts(session, scope, group_by)
                old_scope = _OldScope(*scope.__dict__.values())
                assert new == queries.backlog_counts(session, old_scope, group_by)
    _shown_equal(session, o, now)
    figures = dashboard.figures(session, actor=o["sup"], now=now)
    assert [rate for _, rate in figures.trend[:-1]] == [
        metrics.compute(
            session, actor=o["sup"], date_from=p.start, date_to=p.end, now=now, region_code="D1"
        ).total.closure_rate
        for p in before
    ]


# What `shown_only` leaves out: nothing the dashboard shows or the score reads.
NOT_SHOWN = {
    "handling_closed",
    "handling_days_median",
    "handling_days_mean",
    "letters",
    "inspections",
    "hazards_found",
    "risk_reports",
    "risk_reviewed",
    "review_rate",
    "risk_points",
    "assist_tasks",
    "assist_signed_on_time",
    "assist_sign_on_time_rate",
    "assist_done_on_time",
    "assist_done_on_time_rate",
    "emergencies",
    "emergency_alerted",
    "emergency_alert_median_minutes",
    "emergency_alerted_within_30m",
    "emergency_within_30m_rate",
}
FOLLOW_UPS = {"closed_events", "followed_up", "follow_up_rate", "satisfied", "satisfaction_rate"}


def _shown_equal(session: Session, o: Org, now: datetime) -> None:
    """compute(shown_only=True) equals compute() in every figure but NOT_SHOWN (and the
    follow-ups when the weights do not count them), total and groups, for the month so far."""
    this = periods.containing("monthly", now.astimezone(SHANGHAI).date())
    weighted = ranking.parse_weights("satisfaction_rate=20,follow_up_rate=10")
    runs = [("sup", "street", None), ("sup", None, None), ("sup_s2", "unit", None)]
    starts = (this.start, periods.previous(this, 2)[0].start)
    for (who, group_by, weights), start in product([*runs, ("sup", "street", weighted)], starts):
        args = {
            "actor": o[who],
            "date_from": start,
            "date_to": now.astimezone(SHANGHAI).date(),
            "now": now,
            "group_by": group_by,
            "weights": weights,
        }
        left_out = NOT_SHOWN if weights else NOT_SHOWN | FOLLOW_UPS
        full = metrics.compute(session, **args).model_dump()
        shown = metrics.compute(session, shown_only=True, beside=True, **args).model_dump()
        for report in (full, shown):
            report["total"] = {k: v for k, v in report["total"].items() if k not in left_out}
            report["groups"] = [
                {k: v for k, v in g.items() if k not in left_out} for g in report["groups"]
            ]
        assert shown == full, (who, group_by, start, weights)


class _OldScope(queries.Scope):
    def _open_at(self, stmt: Select[Any]) -> Select[Any]:
        return _old_backlog(self, stmt)


def test_trend_and_backlog_shortcuts_equal_the_full_computation(session, org) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(15)
    made = _random_cases(session, org, rng, 60)
    first = sh(11, 20)
    _check(session, org, first)
    # Changes after the first look: more closes, a reopen (rework), returns of open cases.
    open_ = [c for c in made if c.state in (CaseState.rectifying, CaseState.dispatched)]
    for case in open_[: len(open_) // 2]:
        _close(session, org, case, sh(11, 25))
    act(session, org, open_[0], "reopen", "sup", sh(11, 26), note="复查不合格")
    closed = [c for c in made if c.state == CaseState.closed]
    for i, case in enumerate(closed[:6]):
        answer = ("satisfied", "basically_satisfied", "unsatisfied")[i % 3]
        act(session, org, case, "follow_up", "disp", sh(11, 27), satisfaction=answer)
    session.flush()
    _check(session, org, sh(11, 28))
    _check(session, org, first)  # the earlier moment still answers as it did (from history)


def test_closure_rates_keep_computes_checks(session, org) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from closeloop.errors import Forbidden, Invalid

    now = sh(11, 20)
    with pytest.raises(Forbidden):
        metrics.closure_rates(
            session, actor=org["rep1"], spans=[(date(2025, 10, 1), date(2025, 10, 31))], now=now
        )
    with pytest.raises(Invalid):
        metrics.closure_rates(
            session,
            actor=org["sup"],
            spans=[(date(2025, 10, 1), date(2025, 10, 31))],
            now=now,
            region_code="NOPE",
        )
    assert metrics.closure_rates(session, actor=org["sup"], spans=[], now=now) == []


def test_a_reports_parts_equal_the_full_computation(session, org) -> None:  # type: ignore[no-untyped-def]
    """The parts of a report content.gather computes `shown_only` — the trend's earlier periods,
    the kinds, the communities and grids — say in every figure they show what the full
    computation (as of each period's end) says."""
    from closeloop.reports import content
    from closeloop.reports.render import TREND_COLUMNS
    from closeloop.reports.service import resolve_region

    made = _random_cases(session, org, random.Random(16), 60)
    for day in (3, 9, 17):  # hazards beside the events: the report's kinds are two
        hazard = new_case(session, org, kind=CaseKind.hazard, by="disp", now=sh(10, day))
        act(session, org, hazard, "dispatch", "disp", sh(10, day, 11))
    closed = [c for c in made if c.closed_at and sh(10, 1) <= c.closed_at < sh(11, 1)]
    for i, case in enumerate(closed[:5]):  # 回访 in the rankings of communities and grids
        answer = ("satisfied", "unsatisfied")[i % 2]
        act(session, org, case, "follow_up", "disp", sh(11, 18), satisfaction=answer)
    now = sh(11, 20)
    october = periods.containing("monthly", date(2025, 10, 1))
    region = resolve_region(session, actor=org["sup"], region_code=None)
    report = content.gather(session, actor=org["sup"], region=region, period=october, now=now)

    def full(p: periods.Period, group_by: str | None, at: datetime) -> Any:
        return metrics.compute(
            session,
            actor=org["sup"],
            date_from=p.start,
            date_to=p.end,
            now=now,
            group_by=group_by,
            region_code=region.code,
            as_of=at,
        )

    fields = [path for _, path, _ in TREND_COLUMNS]
    assert [p for p, _ in report.trend] == [*periods.previous(october, 5), october]
    for p, m in report.trend[:-1]:
        whole = full(p, None, p.end_at).total
        assert [getattr(m, f) for f in fields] == [getattr(whole, f) for f in fields], p.key
    assert report.trend[-1][1] == report.total
    assert sum(m.closed for _, m in report.trend[:-1]) > 0  # the earlier months have figures
    kinds = full(october, "kind", now).groups
    assert [(g.key, [getattr(g, f) for f in fields]) for g in report.by["kind"].groups] == [
        (g.key, [getattr(g, f) for f in fields]) for g in kinds
    ]
    assert len(kinds) == 2 and all(g.reported for g in kinds)
    # The communities' and grids' rankings: every figure but those shown_only leaves out, the
    # follow-ups included.
    for group_by in ("community", "grid"):
        whole, shown = full(october, group_by, now), report.by[group_by]
        assert [g.model_dump(exclude=NOT_SHOWN) for g in shown.groups] == [
            g.model_dump(exclude=NOT_SHOWN) for g in whole.groups
        ], group_by
        assert shown.ranking == whole.ranking
        assert sum(g.followed_up for g in shown.groups) == 5, group_by
