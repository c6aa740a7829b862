"""The figures read by action (action counts, return review, follow-ups) give exactly the same
counts whether the history is reached case by case (Scope.lateral: LATERAL subqueries through
the index on case_history.case_id, PostgreSQL's plan for a month's cohort) or joined (the plain
form, every other plan) — by every grouping, for several periods, report times and askers, over
a district with dispatches, signings, submissions, rejections, returns, re-dispatches, return
requests granted and refused, follow-ups, imported ledgers and a reopened case. On SQLite the
LATERAL form does not exist: there both readings are the join, and the test checks the figures
against each other all the same. Also: the action counts and the return review counted in one
pass (queries.action_counts_and, what compute runs unless grouped by unit) equal each alone."""

import dataclasses
from datetime import date, datetime

from sqlmodel import Session

from closeloop.reports.metrics import followups, queries
from closeloop.reports.metrics import returns as return_review
from closeloop.reports.metrics import service as metrics
from models.enums import CaseState
from tests.factories import Org, act, case_in, new_case
from tests.reports.october import after, before, sh
from tests.reports.test_as_of_live import _import

GROUPINGS = (None, "unit", "street", "grid", "kind")


def _reviewed(session: Session, o: Org) -> None:
    """Re-dispatches and return requests in October, and follow-ups of closed events."""
    a = new_case(session, o, now=sh(10, 8, 9))
    act(session, o, a, "dispatch", "disp", sh(10, 8, 10), unit_code="ZJ")
    act(session, o, a, "redispatch", "disp", sh(10, 9), unit_code="SW", reason="派错")
    b = new_case(session, o, now=sh(10, 8, 9))
    act(session, o, b, "dispatch", "disp", sh(10, 8, 10), unit_code="ZJ")
    act(session, o, b, "sign", "h_zj", sh(10, 8, 10))
    act(session, o, b, "request_return", "h_zj", sh(10, 8, 11), reason="确实不归我们")
    act(session, o, b, "reject_return", "sup", sh(10, 9), reason="属本单位职责")
    c = new_case(session, o, now=sh(10, 8, 9))
    act(session, o, c, "dispatch", "disp", sh(10, 8, 10), unit_code="ZJ")
    act(session, o, c, "sign", "h_zj", sh(10, 8, 11))
    act(
        session, o, c, "request_return", "h_zj", sh(10, 9), reason="不归我们", reason_code="address"
    )
    act(session, o, c, "approve_return", "sup", sh(10, 10))
    done = [case_in(session, o, CaseState.closed, now=sh(10, day)) for day in (9, 12, 24)]
    act(session, o, done[0], "follow_up", "disp", sh(10, 13), satisfaction="satisfied")
    act(session, o, done[1], "follow_up", "sup", sh(10, 14), satisfaction="unsatisfied")
    act(session, o, done[2], "follow_up", "disp", sh(11, 2), satisfaction="basically_satisfied")


def _same(session: Session, o: Org, now: datetime) -> int:
    """Both readings, for every asker, period, report time and grouping; how many figures
    differed from zero (the data is not empty where it is compared)."""
    seen = 0
    lateral = session.get_bind().dialect.name == "postgresql"
    periods = [
        (date(2025, 10, 1), date(2025, 10, 31)),
        (date(2025, 9, 1), date(2025, 11, 30)),
    ]
    for who, region in (("sup", None), ("admin", "S1"), ("h_zj", None)):
        for first, last in periods:
            for as_of in (min(now, sh(11, 5)), now):
                if as_of.date() < first:
                    continue
                scope = metrics.checked_scope(
                    session,
                    actor=o[who],
                    date_from=first,
                    date_to=last,
                    now=now,
                    region_code=region,
                    as_of=as_of,
                )
                by_case = dataclasses.replace(scope, lateral=lateral)
                joined = dataclasses.replace(scope, lateral=False)
                for group_by in GROUPINGS:
                    for figures in (
                        queries.action_counts,
                        return_review.figures,
                        followups.figures,
                    ):
                        one = figures(session, by_case, group_by)
                        two = figures(session, joined, group_by)
                        assert one == two, (figures.__module__, who, first, as_of, group_by)
                        seen += sum(1 for counts in one.values() for n in counts if n)
                    if group_by == "unit":
                        continue
                    for form in (by_case, joined):  # one pass for both, as compute runs them
                        actions, reviewed = queries.action_counts_and(
                            session, form, group_by, return_review.ACTIONS
                        )
                        assert actions == queries.action_counts(session, form, group_by)
                        alone = return_review.figures(session, form, group_by)
                        assert return_review.by_case_column(reviewed) == alone
    return seen


def test_by_case_and_joined_give_the_same_figures(session, org) -> None:  # type: ignore[no-untyped-def]
    c = before(session, org)
    _import(session, org)
    _reviewed(session, org)
    after(session, org, c)
    session.flush()
    assert _same(session, org, sh(12, 1)) > 100
