"""The return-review figures of the metrics (派单异议审核): re-dispatches (改派) and return requests
(退单申请: requested, granted, refused), counted like the other action figures over the cohort's
history up to the report time T (queries.action_counts), for the same scope.

- Grouped by unit, a re-dispatch counts against the unit the case was taken from (its dispatch
  was the wrong one) and a return request for the unit that asked.
- A granted return request is a return (退单) that went through review: it is added to `returns`.
- dispatch_accuracy (派遣准确率) = (dispatches − returns − redispatches) / dispatches; a
  re-dispatch is not itself a dispatch (`dispatches` counts the desk's dispatch actions).
"""

from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from closeloop.reports.metrics.queries import Scope, _by, _count, _key, _rows, group_key
from closeloop.reports.metrics.sql import ratio
from models.case import Case
from models.enums import Action
from models.history import CaseHistory
from models.metrics import Metrics, ReturnRequestCounts

ACTIONS = [Action.redispatch, Action.request_return, Action.approve_return, Action.reject_return]

Counts = tuple[int, ...]  # redispatches, requested, granted, refused


def figures(session: Session, scope: Scope, group_by: str | None) -> dict[Any, Counts]:
    """key → (redispatches, return requests made, granted, refused)."""
    h = CaseHistory
    action = col(h.action)
    key = group_key(group_by, None)
    if group_by == "unit":
        key = func.coalesce(
            h.data["from_unit_code"].as_string(), h.data["unit_code"].as_string(), col(h.unit_code)
        )
    stmt: Select[Any] = (
        select(_key(key), *(_count(action == a) for a in ACTIONS))
        .select_from(h)
        .join(Case, col(Case.id) == col(h.case_id))
    )
    stmt = scope.cohort(stmt).where(action.in_(ACTIONS), col(h.at) <= scope.as_of)
    return _rows(session, stmt.group_by(*_by(key)))


def fill(m: Metrics, counts: Counts | None) -> None:
    """Write the figures into a Metrics and recompute the rates they change."""
    redispatches, requested, granted, refused = counts or (0, 0, 0, 0)
    m.redispatches = redispatches
    m.return_requests = ReturnRequestCounts(requested=requested, granted=granted, refused=refused)
    m.returns += granted
    m.return_rate = ratio(m.returns, m.dispatches)
    m.dispatch_accuracy = ratio(m.dispatches - m.returns - redispatches, m.dispatches)
