"""Follow-up figures (回访率, 满意率) for the metrics, in aggregate SQL over the history and the
follow-up table, for the same scope (who asks, region, kinds, period, report time T).

Definitions (README, "Follow-up and satisfaction"):
- closed_events: events (only events are followed up) closed within the period and by T — a
  history entry leaves them closed with a close time in the period and not after T (an imported
  case by its ledger's close time). A case closed, reworked and closed again counts once.
- followed_up: of those, the ones with a follow-up made by T about a closure in the period;
  follow_up_rate = followed_up / closed_events.
- satisfied: of the followed-up ones, those whose latest such follow-up (by T) is satisfied or
  basically satisfied; satisfaction_rate = satisfied / followed_up. An unsatisfied answer reopens
  the case (重办), so the case stays counted with its unsatisfied answer until a later follow-up.
- Groups: unit by the unit that closed the case; street, community, grid, category and kind by
  the case's own columns. Each case falls in exactly one group, so the total is the groups' sum.
"""

from typing import Any

from sqlalchemy import case, func, join, literal, or_, select, true
from sqlmodel import Session, col

from closeloop.reports.charts import number, percent
from closeloop.reports.metrics import ranking
from closeloop.reports.metrics.queries import Scope
from closeloop.reports.metrics.sql import ratio
from models.case import Case
from models.enums import CaseKind, CaseState, HistoryAction, Satisfaction
from models.followup import FollowUp
from models.history import CaseHistory
from models.metrics import Metrics

SATISFIED = [Satisfaction.satisfied.value, Satisfaction.basically_satisfied.value]
Counts = tuple[int, int, int]  # closed_events, followed_up, satisfied
_CASE_KEYS = {
    "street": "street_code",
    "community": "community_code",
    "grid": "grid_code",
    "category": "category_code",
    "kind": "kind",
}


def scored(weights: dict[str, float]) -> bool:
    """Whether these figures count in the score with these weights (0 by default)."""
    return any(weights.get(name, 0) > 0 for name in ("follow_up_rate", "satisfaction_rate"))


def figures(
    session: Session, scope: Scope, group_by: str | None, *, counted: bool = True
) -> dict[Any, Counts]:
    """key → (closed_events, followed_up, satisfied); the key None when `group_by` is None.
    `counted=False`: the same keys, each with (0, 0, 0) — the groups these figures have,
    without reading the follow-ups (the dashboard, when the score does not count them)."""
    if CaseKind.event.value not in scope.kinds:
        return {}
    h = CaseHistory
    # The closures of the period first, from the history alone (the index on closed_at), then
    # each one's case: looked up by id (LATERAL, PostgreSQL, scope.lateral) or joined.
    closures: Any = (
        select(col(h.case_id).label("case_id"), func.max(col(h.unit_code)).label("unit_code"))
        .where(
            col(h.to_state) == CaseState.closed.value,
            col(h.closed_at) >= scope.start,
            col(h.closed_at) < scope.end,
            col(h.closed_at) <= scope.as_of,
            or_(col(h.action) == HistoryAction.import_.value, col(h.at) <= scope.as_of),
        )
        .group_by(col(h.case_id))
    )
    c = closures.subquery("closures")
    f = FollowUp
    order = (col(f.at).desc(), col(f.id).desc())
    ranked = (
        select(
            col(f.case_id).label("case_id"),
            col(f.satisfaction).label("satisfaction"),
            func.row_number().over(partition_by=col(f.case_id), order_by=order).label("n"),
        )
        .where(
            col(f.closed_at) >= scope.start,
            col(f.closed_at) < scope.end,
            col(f.at) <= scope.as_of,
        )
        .subquery("ranked")
    )
    event = col(Case.kind) == CaseKind.event.value
    names = list(_CASE_KEYS.values())
    if scope.lateral:
        found = scope.cases(
            select(*(getattr(Case, n) for n in names)).where(col(Case.id) == c.c.case_id, event)
        )
        the_case = found.limit(1).lateral("the_case")
        source: Any = join(c, the_case, true())
        columns: Any = the_case.c
    else:
        source = join(c, Case, col(Case.id) == c.c.case_id)
        columns = {n: getattr(Case, n) for n in names}
    if group_by is None:
        key: Any = literal(None)
    elif group_by == "unit":
        key = c.c.unit_code
    else:
        key = columns[_CASE_KEYS[group_by]]
    key = key.label("k")
    followed = ranked.c.case_id.is_not(None)
    happy = ranked.c.satisfaction.in_(SATISFIED)
    if counted:
        stmt = (
            select(
                key,
                func.count(),
                func.coalesce(func.sum(case((followed, 1), else_=0)), 0),
                func.coalesce(func.sum(case((happy, 1), else_=0)), 0),
            )
            .select_from(source)
            .outerjoin(ranked, (ranked.c.case_id == c.c.case_id) & (ranked.c.n == 1))
        )
    else:
        stmt = select(key, literal(0), literal(0), literal(0)).select_from(source).distinct()
    if not scope.lateral:
        stmt = scope.cases(stmt).where(event)
    if group_by is not None:
        stmt = stmt.group_by(key)
    return {
        row[0]: (int(row[1]), int(row[2] or 0), int(row[3] or 0)) for row in session.execute(stmt)
    }


def summed(parts: dict[Any, Counts]) -> Counts:
    """The total of the groups' counts (each case is in exactly one group)."""
    return (
        sum(p[0] for p in parts.values()),
        sum(p[1] for p in parts.values()),
        sum(p[2] for p in parts.values()),
    )


def fill(m: Metrics, counts: Counts | None, weights: dict[str, float]) -> None:
    """Write the figures into a Metrics and score it again (the weights may count them)."""
    closed, followed, satisfied = counts or (0, 0, 0)
    m.closed_events, m.followed_up, m.satisfied = closed, followed, satisfied
    m.follow_up_rate = ratio(followed, closed)
    m.satisfaction_rate = ratio(satisfied, followed)
    m.score = ranking.score(m, weights)


def fill_all(groups: list[Any], parts: dict[Any, Counts], weights: dict[str, float]) -> None:
    for g in groups:
        fill(g, parts.get(g.key), weights)


def sentence(m: Metrics) -> str:
    """The 通报's sentence on follow-ups ("" when no event closed in the period)."""
    if not m.closed_events:
        return ""
    return (
        # Closed within the period, whenever reported: not the cohort's 办结 figure, so said.
        f"本期内办结的网格事件（按办结时间统计，含以前各期上报的）{number(m.closed_events)}件，"
        f"已回访{number(m.followed_up)}件，"
        f"回访率{percent(m.follow_up_rate)}；回访满意（含基本满意）{number(m.satisfied)}件，"
        f"满意率{percent(m.satisfaction_rate)}。"
    )


__all__ = ["fill", "fill_all", "figures", "sentence", "summed"]
