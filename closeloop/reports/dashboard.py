"""The supervisor's dashboard (督办看板): this month's figures and trend, the cases and requests
waiting for a supervisor, letters, reports, and what the next escalation run would fire. All of
it from the services the API uses; the page only draws it."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases import queues, views
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from closeloop.clock import local_today
from closeloop.db import read_beside
from closeloop.errors import DomainError
from closeloop.escalation import service as escalation
from closeloop.letters import service as letters
from closeloop.reports import periods
from closeloop.reports import service as reports
from closeloop.reports.metrics import service as metrics
from models.case import CasePage, CasePublic
from models.enums import CaseState, Role
from models.letter import LetterPublic
from models.metrics import GroupMetrics, MetricsReport
from models.report import ReportPublic

TREND_MONTHS = 6


@dataclass
class Figures:
    """This month so far, by street, and the closure rate of the last six months."""

    month: MetricsReport  # the figures this page shows only (metrics.compute's shown_only)
    start: date
    today: date
    by_street: list[tuple[str, float | None]]  # (street, closure rate)
    trend: list[tuple[str, float | None]]  # (month, closure rate), this month last
    ranking: list[GroupMetrics]


@dataclass
class Dashboard:
    figures: Figures | None  # None when the supervisor's region gives no figures
    overdue: CasePage
    suspended: CasePage
    to_verify: int
    listed: list[CasePublic]
    decisions: list[queues.Decision]
    issued: list[LetterPublic]
    reports: list[ReportPublic]
    preview: dict[str, Any]


def figures(session: Session, *, actor: Principal, now: datetime) -> Figures:
    """This month's figures by street and a six-month trend, from reports.metrics.compute."""
    today = local_today(now)
    this = periods.containing("monthly", today)
    region = actor.region_code
    month = metrics.compute(
        session,
        actor=actor,
        date_from=this.start,
        date_to=today,
        now=now,
        group_by="street",
        region_code=region,
        shown_only=True,  # what this page shows, the same (test_dashboard_figures.py)
        beside=True,  # its longest reads overlap on the server
    )
    # The months before: only their closure rate is drawn, so one query of the cohort counts
    # per filing day (metrics.closure_rates), not the full metrics once per month.
    before = periods.previous(this, TREND_MONTHS - 1)
    rates = metrics.closure_rates(
        session, actor=actor, spans=[(p.start, p.end) for p in before], now=now, region_code=region
    )
    trend = [(p.key, rate) for p, rate in zip(before, rates, strict=True)]
    trend.append((this.key, month.total.closure_rate))  # this month so far: computed above
    return Figures(
        month=month,
        start=this.start,
        today=today,
        by_street=[(g.name, g.closure_rate) for g in month.groups],
        trend=trend,
        ranking=sorted(month.groups, key=lambda g: (g.rank is None, g.rank or 0, g.name)),
    )


def escalation_preview(session: Session, *, actor: Principal, now: datetime) -> dict[str, Any]:
    """下次自动升级预览: what an escalation run now would fire in the supervisor's jurisdiction
    (the read-only dry run: one indexed sweep, nothing written), with the cases each level of
    notice would go out for."""
    result = escalation.preview(session, now=now, region_path=actor.region_path)
    notices: dict[str, list[str]] = {}
    for fire in result["would_fire"]:
        if fire["action"] == "notice" or fire.get("notice_to_head"):
            level = "reply_overdue" if fire.get("notice_to_head") else fire["level"].split(".")[0]
            notices.setdefault(level, []).append(fire["case_number"])
    result["notices_by_level"] = sorted(notices.items())
    return result


def dashboard(session: Session, *, actor: Principal, now: datetime) -> Dashboard:
    """The page's parts. This month's figures and the escalation dry run, the two costly reads,
    run beside the lists, each in a session of its own (closeloop.db.read_beside)."""
    policy.require_role(actor, Role.supervisor)
    month = read_beside(session, lambda own: _figures_if_any(own, actor=actor, now=now))
    preview = read_beside(session, lambda own: escalation_preview(own, actor=actor, now=now))
    return Dashboard(
        overdue=cases.list_cases(
            session, actor=actor, filters=CaseFilter(overdue=True), page=1, page_size=10, now=now
        ),
        suspended=cases.list_cases(
            session,
            actor=actor,
            filters=CaseFilter(state=CaseState.suspended),
            page=1,
            page_size=20,
            now=now,
        ),
        to_verify=len(views.awaiting_verification(session, actor=actor, now=now)),
        listed=queues.listed_open(session, actor=actor, now=now)[:20],
        decisions=queues.pending_decisions(session, actor=actor, now=now),
        issued=letters.list_letters(session, actor=actor, limit=20),
        reports=[reports.public(r) for r in reports.list_reports(session, actor=actor, limit=20)],
        figures=month(),
        preview=preview(),
    )


def _figures_if_any(session: Session, *, actor: Principal, now: datetime) -> Figures | None:
    try:
        return figures(session, actor=actor, now=now)
    except DomainError:  # no figures for this supervisor's region: the rest still shows
        return None
