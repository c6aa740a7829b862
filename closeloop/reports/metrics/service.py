"""DESIGN.md's metrics for a period, in total and per unit, street, community, grid, category or
kind — computed in SQL with aggregates (closeloop/reports/metrics/queries.py), ranked by the weighted
score (closeloop/reports/metrics/ranking.py). The one place these formulas live: the API, the reports,
the bulletin and the web dashboard all call `compute`.

Definitions where DESIGN.md leaves room (README, "Metrics"):
- The period is whole days in Asia/Shanghai, `from` and `to` inclusive. The report time (as_of)
  is now unless given: closures count up to it, overdue is judged at it.
- reported: cases filed (reported_at) in the period; by default events and hazards — letters are
  cases too but are about other cases, so they are counted only with kind=letter.
- accepted = reported − cancelled (不予立案 and merged duplicates); closed: accepted cases in
  state closed with closed_at ≤ as_of (a reopened case is not closed); on time: closed_at ≤ due_at
  (the deadline as extended and moved by suspensions), or no deadline at all.
- Every figure is of the report time T, from the history (asof.py): the state each case was in,
  the deadline, close time, listing and unit it had at T.
- overdue_open (超期未办结) and listed (挂牌督办): the group's whole backlog at T — cases reported
  before the period's end and by T that at T were overdue (clock running, deadline passed) or
  listed and open — not only the period's cohort; `backlog_list` lists exactly these.
- Action rates come from the cohort's history up to as_of (imported cases: see queries.py).
- handling time: working days (statutory calendar with overrides) from the Shanghai date of
  dispatch to that of closing, over the cohort's closed cases with a dispatch time.
- Rates are rounded half up to four decimals (0.9793); a rate with a zero denominator is null.
"""

import dataclasses
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.calendar.service import load_calendar
from closeloop.db import read_beside
from closeloop.errors import Forbidden, Invalid
from closeloop.org import service as org
from closeloop.reports.metrics import asof, emergency, followups, queries, ranking, safety
from closeloop.reports.metrics import returns as return_review
from closeloop.reports.metrics import tasks as assist
from closeloop.reports.metrics.sql import ratio, rounded
from closeloop.text import Msg
from models.enums import CaseKind, LetterType, RegionLevel, Role
from models.metrics import GroupMetrics, LetterCounts, Metrics, MetricsReport
from models.org import Category, Region, Unit
from models.types import SHANGHAI

GROUP_BY = ("unit", "street", "community", "grid", "category", "kind")
DEFAULT_KINDS = (CaseKind.event.value, CaseKind.hazard.value)
MAX_DAYS = 3700  # a period of at most about ten years
KIND_NAMES = labels.METRIC_KIND
# The group of cases without that key, named in Chinese only: these names appear in reports and
# the XLSX, and the API shows the same names as the documents (like region and unit names).
NO_KEY_NAMES = {
    "unit": "未派遣",
    "category": "未分类",
    "street": "未定位",
    "community": "未定位",
    "grid": "未定位",
}
DEFAULT_WEIGHTS = ranking.DEFAULT_WEIGHTS


def compute(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    group_by: str | None = None,
    kind: str | None = None,
    region_code: str | None = None,
    as_of: datetime | None = None,
    weights: dict[str, float] | None = None,
    shown_only: bool = False,
    follow_ups: bool = False,
    beside: bool = False,
) -> MetricsReport:
    """The figures of the period (the module's docstring). `shown_only`: only what the
    dashboard shows — the cohort counts and rates, the action counts and the return review
    (the score reads them), the backlog, the score and the ranking, over exactly the same
    groups — and not the figures nothing there reads, which keep their empty values: the
    handling time, the letters' counts, safety, co-handling, emergencies, and the follow-ups
    unless the weights count them or `follow_ups` asks for them (their groups are still
    found). The handling time's query is the costliest of all.
    tests/reports/test_dashboard_figures.py asserts the shown figures equal the full
    computation's. `beside`: read the follow-ups and the backlog beside the rest, each in a
    session of its own (closeloop.db.read_beside: the dashboard); else everything is read in
    the caller's session (a report: on SQLite one snapshot for all its figures)."""
    if actor.role == Role.reporter:
        raise Forbidden(
            Msg(
                "统计报表需要受理、处置、督办或管理员角色",
                "metrics need the dispatcher, handler, supervisor or admin role",
            )
        )
    scope = _scope(session, actor, date_from, date_to, now, kind, region_code, as_of)
    if group_by is not None and group_by not in GROUP_BY:
        raise Invalid(
            Msg(f"group_by 无效：{group_by!r}", f"group_by must be one of {', '.join(GROUP_BY)}")
        )
    weights = weights or ranking.parse_weights(None)
    min_accepted, behind_score = ranking.limits()

    cohort = queries.cohort_counts(session, scope, group_by)
    # The figures read by action reach the history case by case when the cohort is small.
    lateral = queries.by_case(session, sum(counts[0] for counts in cohort.values()))
    scope = dataclasses.replace(scope, lateral=lateral)
    # Grouped by a case column (or not at all), the return review's actions are counted in the
    # action counts' pass over the history (by unit they have keys of their own: returns.py).
    together = group_by != "unit"
    more = return_review.ACTIONS if together else []
    scored = not shown_only or follow_ups or followups.scored(weights)
    # Beside (the dashboard): the follow-ups' groups and the backlog are read beside the action
    # counts, each in a session of its own: the three longest statements overlap on the server.
    follow_of = read_beside(
        session,
        lambda own: followups.figures(own, scope, group_by, counted=scored),
        beside=beside,
    )
    backlog_of = read_beside(
        session, lambda own: queries.backlog_counts(own, scope, group_by), beside=beside
    )
    actions, reviewed = queries.action_counts_and(session, scope, group_by, more)
    returned_early = return_review.by_case_column(reviewed) if together else None
    handling = (
        {}
        if shown_only
        else queries.handling_histograms(
            session, scope, group_by, load_calendar(session), date_from
        )
    )
    letters = queries.letter_counts(session, scope, group_by)
    total_letters = (
        letters if group_by is None or shown_only else queries.letter_counts(session, scope, None)
    )

    safe = safety.figures(session, scope, group_by) if group_by else {}
    backlog = backlog_of()
    keys = set(cohort) | set(actions) | set(backlog) | set(letters) | set(safe)
    follow = follow_of()  # 回访率, 满意率
    keys |= set(follow)
    if shown_only:  # the groups' letters were read for their keys only
        letters, total_letters = {}, {}
    parts = {k: _metrics(k, cohort, actions, handling, backlog, letters, weights) for k in keys}
    total = _total(parts, cohort, actions, handling, backlog, total_letters.get(None, {}), weights)
    if scored:
        followups.fill(total, followups.summed(follow), weights)
    groups: list[GroupMetrics] = []
    returned: dict[Any, tuple[int, ...]] | None = None
    if group_by:
        names = _names(session, group_by, scope, keys)
        for k, name in names.items():
            m = parts.get(k) or _metrics(k, {}, {}, {}, {}, {}, weights)
            groups.append(GroupMetrics(key=k, name=name, **m.model_dump()))
        if scored:
            followups.fill_all(groups, follow, weights)
        returned = (
            returned_early
            if returned_early is not None
            else return_review.figures(session, scope, group_by)
        )
        for g in groups:  # before ranking: they change rates the score counts
            return_review.fill(g, returned.get(g.key), weights)
        groups = ranking.rank(groups, min_accepted=min_accepted, behind_score=behind_score)
        if not shown_only:
            for g in groups:
                safety.fill(g, safe.get(g.key))
            assisted = assist.figures(session, scope, group_by)
            for g in groups:
                assist.fill(g, assisted.get(g.key))
    if not shown_only:
        safety.fill(total, safety.figures(session, scope, None).get(None))
    # Every history entry falls in exactly one group (the no-key group included), so the
    # total's return-review counts are the groups' sums: no second pass over the history.
    total_returns = (
        (tuple(map(sum, zip(*returned.values(), strict=True))) if returned else None)
        if returned is not None
        else (returned_early or {}).get(None)
    )
    return_review.fill(total, total_returns, weights)
    if not shown_only:
        assist.fill(total, assist.figures(session, scope, None).get(None))
        emergency.fill(total, emergency.figures(session, scope))  # 紧急信息30分钟直达
    return MetricsReport(
        from_=date_from,
        to=date_to,
        as_of=scope.as_of,
        kind=kind,
        group_by=group_by,
        region_code=region_code,
        total=total,
        groups=groups,
        ranking=ranking.ranking(
            weights, min_accepted=min_accepted, behind_score=behind_score, groups=groups
        ),
    )


def closure_rates(
    session: Session,
    *,
    actor: Principal,
    spans: list[tuple[date, date]],
    now: datetime,
    region_code: str | None = None,
) -> list[float | None]:
    """`compute(date_from=a, date_to=b, …).total.closure_rate` for each (a, b) of `spans`
    (consecutive or not, in any order), as of now: one query over the cases filed from the
    first day to the last, counted per filing day and summed per span. The same checks and
    errors as `compute` for the whole range."""
    if actor.role == Role.reporter:
        raise Forbidden(
            Msg(
                "统计报表需要受理、处置、督办或管理员角色",
                "metrics need the dispatcher, handler, supervisor or admin role",
            )
        )
    if not spans:
        return []
    first, last = min(a for a, _ in spans), max(b for _, b in spans)
    scope = _scope(session, actor, first, last, now, None, region_code, None)
    days = queries.cohort_by_day(session, scope)
    rates: list[float | None] = []
    for a, b in spans:
        if b < a:
            raise Invalid(Msg(f"结束日期 {b} 早于开始日期 {a}", "'to' is before 'from'"))
        reported = cancelled = closed = 0
        for day, (n, c, done, _) in days.items():
            if a <= day <= b:
                reported, cancelled, closed = reported + n, cancelled + c, closed + done
        rates.append(ratio(closed, reported - cancelled))
    return rates


def checked_scope(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    kind: str | None = None,
    region_code: str | None = None,
    as_of: datetime | None = None,
) -> queries.Scope:
    """The checked scope of a period's figures (the same checks and errors as `compute`), for
    the statistics beside the metrics (major.py)."""
    return _scope(session, actor, date_from, date_to, now, kind, region_code, as_of)


def backlog_list(
    session: Session,
    *,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    which: str,
    limit: int,
    region_code: str | None = None,
    as_of: datetime | None = None,
) -> tuple[int, list[tuple[Any, ...]]]:
    """The overdue (`which="overdue"`) or listed (`"listed"`) cases that `compute` counts in
    overdue_open and listed for the same arguments: how many, and the first `limit` by deadline,
    each as (Case, state, due_at, dispatched_at, unit_code, listed) at the report time."""
    if which not in ("overdue", "listed"):
        raise Invalid(Msg(f"which 无效：{which!r}", "which must be overdue or listed"))
    scope = _scope(session, actor, date_from, date_to, now, None, region_code, as_of)
    return queries.backlog_cases(session, scope, which=which, limit=limit)


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) of whole Shanghai days from `date_from` to `date_to` inclusive."""
    start = datetime.combine(date_from, time(0), tzinfo=SHANGHAI)
    return start, datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def _scope(
    session: Session,
    actor: Principal,
    date_from: date,
    date_to: date,
    now: datetime,
    kind: str | None,
    region_code: str | None,
    as_of: datetime | None,
) -> queries.Scope:
    if date_to < date_from:
        raise Invalid(Msg(f"结束日期 {date_to} 早于开始日期 {date_from}", "'to' is before 'from'"))
    if (date_to - date_from).days > MAX_DAYS:
        raise Invalid(
            Msg(f"统计区间最长 {MAX_DAYS} 天", f"a period may span at most {MAX_DAYS} days")
        )
    if kind is not None and kind not in tuple(CaseKind):
        allowed = ", ".join(CaseKind)
        raise Invalid(Msg(f"kind 无效：{kind!r}", f"kind must be one of {allowed}"))
    start, end = period_bounds(date_from, date_to)
    as_of = as_of or now
    if as_of.tzinfo is None:
        raise Invalid(Msg("as_of 需要时区", "as_of needs a time zone offset"))
    if as_of > now:
        raise Invalid(
            Msg(
                "统计时点晚于当前时间",
                "as_of is later than now: the figures of a moment still to come are not known yet",
            )
        )
    if as_of < start:
        raise Invalid(Msg("统计时点早于统计区间开始", "as_of is before the period starts"))
    path = None
    if region_code:
        region = session.get(Region, region_code)
        if region is None:
            raise Invalid(
                Msg(f"区域 {region_code} 不存在", f"region_code {region_code!r} does not exist")
            )
        if actor.role not in (Role.admin, Role.handler) and not region.path.startswith(
            actor.region_path or "\x00"
        ):
            raise Forbidden(
                Msg("该区域不在您的管辖范围内", "that region is outside your jurisdiction")
            )
        path = region.path
    kinds: tuple[str, ...] = (kind,) if kind else DEFAULT_KINDS
    return queries.Scope(actor, kinds, path, start, end, as_of, asof.settled(session, as_of))


def _median(hist: Counter[int]) -> float | None:
    n = sum(hist.values())
    if not n:
        return None
    ordered = sorted(hist.items())

    def nth(i: int) -> int:  # the i-th smallest value, 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if i < seen:
                return value
        raise IndexError(i)

    middle = (nth((n - 1) // 2) + nth(n // 2)) / 2
    return rounded(middle)


def _build(
    counts: tuple[int, ...],
    acts: tuple[int, ...],
    hist: Counter[int],
    back: tuple[int, ...],
    letters: dict[str, int],
    weights: dict[str, float],
) -> Metrics:
    reported, cancelled, closed, on_time = counts or (0, 0, 0, 0)
    dispatches, returns, submissions, rejections, signed = acts or (0, 0, 0, 0, 0)
    overdue, listed = back or (0, 0)
    accepted = reported - cancelled
    handled = sum(hist.values())
    return_rate = ratio(returns, dispatches)
    m = Metrics(
        reported=reported,
        cancelled=cancelled,
        accepted=accepted,
        closed=closed,
        closure_rate=ratio(closed, accepted),
        on_time_closed=on_time,
        on_time_closure_rate=ratio(on_time, accepted),
        overdue_open=overdue,
        dispatches=dispatches,
        returns=returns,
        return_rate=return_rate,
        dispatch_accuracy=ratio(dispatches - returns, dispatches),
        submissions=submissions,
        rejections=rejections,
        rework_rate=ratio(rejections, submissions),
        signed_on_time=signed,
        sign_on_time_rate=ratio(signed, dispatches),
        handling_closed=handled,
        handling_days_median=_median(hist),
        handling_days_mean=rounded(sum(d * c for d, c in hist.items()) / handled)
        if handled
        else None,
        letters=LetterCounts(
            **{t.value: letters.get(t, 0) for t in LetterType}, total=sum(letters.values())
        ),
        listed=listed,
    )
    m.score = ranking.score(m, weights)
    return m


def _metrics(
    k: Any,
    cohort: dict,
    actions: dict,
    handling: dict,
    backlog: dict,
    letters: dict,
    weights: dict[str, float],
) -> Metrics:
    return _build(
        cohort.get(k, ()),
        actions.get(k, ()),
        handling.get(k, Counter()),
        backlog.get(k, ()),
        letters.get(k, {}),
        weights,
    )


def _total(
    parts: dict,
    cohort: dict,
    actions: dict,
    handling: dict,
    backlog: dict,
    letters: dict[str, int],
    weights: dict[str, float],
) -> Metrics:
    """Every case falls in exactly one group (the no-key group included), so the total's counts
    are the groups' sums and its handling histogram their union; letters are counted apart, since
    one letter can be about cases of several groups."""

    def add(rows: dict[Any, tuple[int, ...]], width: int) -> tuple[int, ...]:
        return tuple(sum(r[i] for r in rows.values()) for i in range(width))

    hist: Counter[int] = Counter()
    for h in handling.values():
        hist.update(h)
    return _build(add(cohort, 4), add(actions, 5), hist, add(backlog, 2), letters, weights)


def _names(session: Session, group_by: str, scope: queries.Scope, keys: set[Any]) -> dict[Any, str]:
    """The groups to show: for units and regions every one in scope, even with no cases (an empty
    group is shown with zero counts and no rates); for categories and kinds those with data; and a
    no-key group ("not dispatched") when it has cases."""
    names: dict[Any, str] = {}
    actor = scope.actor
    if group_by == "unit" and actor.role == Role.handler:
        stmt = select(Unit.code, Unit.name).where(Unit.code == (actor.unit_code or "\x00"))
        names = dict(session.exec(stmt).all())
    elif group_by == "unit":
        # The units serving the scope's district (org.units_for), and any that had its cases.
        path = scope.region_path or (actor.region_path if actor.role != Role.admin else None)
        district = path.strip("/").split("/")[0] if path and path.strip("/") else None
        names = {u.code: u.name for u in org.units_for(session, region_code=district)}
        present = [k for k in keys if k is not None and k not in names]
        if present:
            held = select(Unit.code, Unit.name).where(col(Unit.code).in_(present))
            names.update(dict(session.exec(held).all()))
    elif group_by in ("street", "community", "grid"):
        stmt = select(Region.code, Region.name).where(Region.level == RegionLevel(group_by))
        path = scope.region_path or (actor.region_path if actor.role != Role.admin else None)
        if actor.role == Role.handler:
            stmt = stmt.where(col(Region.code).in_([k for k in keys if k is not None]))
        elif path:
            stmt = stmt.where(col(Region.path).startswith(path, autoescape=True))
        names = dict(session.exec(stmt).all())
    elif group_by == "category":
        present = [k for k in keys if k is not None]
        names = dict(
            session.exec(
                select(Category.code, Category.name).where(col(Category.code).in_(present))
            ).all()
        )
    elif group_by == "kind":
        names = {k: KIND_NAMES.get(k, k) for k in keys if k is not None}
    for k in keys:
        if k not in names:
            names[k] = NO_KEY_NAMES.get(group_by, "—") if k is None else str(k)
    return names


__all__ = ["DEFAULT_WEIGHTS", "GROUP_BY", "compute", "period_bounds"]
