"""The return-review figures of the metrics (派单异议审核): re-dispatches (改派) and return requests
(退单申请: requested, granted, refused), counted like the other action figures over the cohort's
history up to the report time T (queries.action_counts), for the same scope.

- Grouped by unit, a re-dispatch counts against the unit the case was taken from (its dispatch
  was the wrong one) and a return request for the unit that asked.
- A granted return request is a return (退单) that went through review: it is added to `returns`.
- A re-dispatch sends the case to a unit: it is a dispatch to the new unit (added to
  `dispatches`), and counts against the unit it was taken from. Every dispatch is undone at most
  once (by a return, a granted return request or a re-dispatch away), so every rate stays
  within 0–1: return_rate = returns / dispatches, sign_on_time_rate = signed on time / dispatches,
  dispatch_accuracy (派遣准确率) = (dispatches − returns − redispatches) / dispatches.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from closeloop.reports.metrics import ranking
from closeloop.reports.metrics.queries import (
    Scope,
    _by,
    _count,
    _key,
    _rows,
    entries,
    group_key,
)
from closeloop.reports.metrics.sql import not_indexed, ratio
from models.enums import Action
from models.metrics import Metrics, ReturnRequestCounts

ACTIONS = [Action.redispatch, Action.request_return, Action.approve_return, Action.reject_return]

Counts = tuple[int, ...]  # redispatches, requested, granted, refused, received


def figures(session: Session, scope: Scope, group_by: str | None) -> dict[Any, Counts]:
    """key → (redispatches, return requests made, granted, refused)."""
    h, cases_and_entries = entries(
        scope, lambda e: col(e.action).in_(ACTIONS), lambda e: col(e.at) <= scope.as_of
    )
    action = col(h.action)
    key: Any = None if group_by is None else not_indexed(group_key(group_by, None))
    if group_by == "unit":
        key = func.coalesce(
            h.data["from_unit_code"].as_string(), h.data["unit_code"].as_string(), col(h.unit_code)
        )
    stmt: Select[Any] = select(_key(key), *(_count(action == a) for a in ACTIONS)).select_from(
        cases_and_entries
    )
    stmt = scope.cohort(stmt)
    rows = _rows(session, stmt.group_by(*_by(key)))
    if group_by != "unit":
        return by_case_column(rows)
    # Per unit, a re-dispatch is also a dispatch to the unit it went to.
    h, cases_and_entries = entries(
        scope, lambda e: col(e.action) == Action.redispatch, lambda e: col(e.at) <= scope.as_of
    )
    to_unit = func.coalesce(h.data["unit_code"].as_string(), col(h.unit_code))
    received_stmt: Select[Any] = select(
        _key(to_unit), _count(col(h.action) == Action.redispatch)
    ).select_from(cases_and_entries)
    received_stmt = scope.cohort(received_stmt)
    received = _rows(session, received_stmt.group_by(*_by(to_unit)))
    keys = set(rows) | set(received)
    zero = (0, 0, 0, 0)
    return {k: (*rows.get(k, zero), received.get(k, (0,))[0]) for k in keys}


def by_case_column(counts: dict[Any, tuple[int, ...]]) -> dict[Any, Counts]:
    """`figures` for a grouping by a case column (not by unit) or none, from the counts of
    ACTIONS per key (queries.action_counts_and, the action counts' pass): the unit given and
    the unit taken from fall in the same group."""
    return {k: (*v, v[0]) for k, v in counts.items()}


def fill(m: Metrics, counts: Counts | None, weights: Mapping[str, float]) -> None:
    """Write the figures into a Metrics, recompute the rates they change and score it again
    (the sign-on-time rate is a component of the score)."""
    redispatches, requested, granted, refused, received = counts or (0, 0, 0, 0, 0)
    m.redispatches = redispatches
    m.return_requests = ReturnRequestCounts(requested=requested, granted=granted, refused=refused)
    m.dispatches += received
    m.returns += granted
    m.return_rate = ratio(m.returns, m.dispatches)
    m.dispatch_accuracy = ratio(m.dispatches - m.returns - redispatches, m.dispatches)
    m.sign_on_time_rate = ratio(m.signed_on_time, m.dispatches)
    m.score = ranking.score(m, weights)
