"""The risk register on the pages: risk points by level (红橙黄蓝) with the street × level table,
the review queue of risk reports (pending first, overdue marked; approve, or reject with a
reason), and the form to report a new or changed risk point, reachable from an enterprise
(/risk-reports/new?enterprise_code=…). Every rule is in closeloop/safety/risk_*.py."""

from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web.deps import CsrfForm, PageDep, PageUser, fields, page_router
from api.web.pages import Page, redirect
from api.web.views import Names
from closeloop.auth.policy import Principal
from closeloop.errors import DomainError, Forbidden, Invalid
from closeloop.safety import risk_figures, risk_points, risk_reports
from closeloop.text import Msg
from models.enums import RiskLevel, RiskReportState
from models.risk import RiskReportCreate, RiskReview

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Text = Annotated[str, Query(max_length=100)]
REPORT_FIELDS = ("enterprise_code", "risk_point_code", "name", "level", "content", "measures")
LEVELS = [lv.value for lv in RiskLevel]


@router.get("/risk-points")
def point_list(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    level: Text = "",
    street_code: Text = "",
    enterprise_code: Text = "",
    q: Text = "",
) -> Response:
    chosen = RiskLevel(level) if level in LEVELS else None
    rows = risk_points.list_points(
        session,
        actor=user,
        level=chosen,
        street_code=street_code or None,
        enterprise_code=enterprise_code or None,
        q=q or None,
        active=True,
    )
    figures = risk_figures.points_by_level(session, actor=user, group_by="street")
    return page.render(
        "risk_points.html",
        rows=rows,
        may_report=risk_reports.may_report(user),
        figures=figures,
        levels=LEVELS,
        filters={
            "level": level,
            "street_code": street_code,
            "q": q,
            "enterprise_code": enterprise_code,
        },
        names=Names.load(session),
    )


def _queue(
    page: Page,
    session: Session,
    user: Principal,
    now: Any,
    state: str = "",
    overdue: bool = False,
    error: str = "",
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    rows = risk_reports.list_reports(
        session,
        actor=user,
        now=now,
        state=RiskReportState(state) if state in tuple(RiskReportState) else None,
        overdue=overdue,
    )
    return page.render(
        "risk_reports.html",
        status=status,
        rows=rows,
        now=now,
        state=state,
        overdue=overdue,
        may_review=user.role in risk_reports.REVIEWERS,
        may_report=user.role in risk_reports.REPORTERS,
        is_overdue=risk_reports.is_overdue,
        error=error,
        values=values or {},
        names=Names.load(session),
        flash=_flash(page),
    )


def _flash(page: Page) -> str:
    ok = page.request.query_params.get("ok", "")
    return page.t(f"risk.done.{ok}") if ok in ("approve", "reject", "report") else ""


@router.get("/risk-reports")
def report_queue(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    state: Text = "",
    overdue: bool = False,
) -> Response:
    return _queue(page, session, user, now, state, overdue)


@router.post("/risk-reports/{report_id}/review")
def review_report(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    report_id: PathId,
) -> Response:
    values = fields(form, ("decision", "reason"))
    try:
        data = RiskReview.model_validate(values)
        risk_reports.review(session, actor=user, report_id=report_id, data=data, now=now)
    except ValidationError:
        session.rollback()
        msg = i18n.msg("risk.err.decision")
        return _queue(page, session, user, now, error=msg.render(page.lang), status=422)
    except DomainError as exc:
        session.rollback()
        if isinstance(exc, Forbidden) or exc.status == 404:
            raise
        values["report_id"] = str(report_id)
        return _queue(
            page, session, user, now, error=page.message(exc), status=exc.status, values=values
        )
    return redirect(f"/risk-reports?ok={values['decision']}")


def _report_form(
    page: Page,
    session: Session,
    user: Principal,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> Response:
    code = values.get("enterprise_code", "")
    points = risk_points.list_points(session, actor=user, enterprise_code=code) if code else []
    return page.render(
        "risk_report_new.html",
        status=status,
        values=values,
        points=[p for p in points if p.active],
        levels=LEVELS,
        error=error,
    )


@router.get("/risk-reports/new")
def new_report(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    enterprise_code: Text = "",
    risk_point_code: Text = "",
) -> Response:
    if user.role not in risk_reports.REPORTERS:
        raise Forbidden(
            Msg("只有网格员和调度员可以上报风险信息", "only grid workers and dispatchers report")
        )
    values = dict.fromkeys(REPORT_FIELDS, "")
    values.update(enterprise_code=enterprise_code, risk_point_code=risk_point_code)
    return _report_form(page, session, user, values)


@router.post("/risk-reports")
def file_report(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
) -> Response:
    values = fields(form, REPORT_FIELDS)
    try:
        if values["level"] not in LEVELS:
            raise Invalid(i18n.msg("risk.err.level"))
        data = RiskReportCreate.model_validate(
            {k: v or None for k, v in values.items()}
            | {
                "level": values["level"],
                "content": values["content"],
            }
        )
        risk_reports.create_report(session, actor=user, data=data, now=now)
    except ValidationError:
        session.rollback()
        error = i18n.msg("risk.err.form").render(page.lang)
        return _report_form(page, session, user, values, error, 422)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _report_form(page, session, user, values, page.message(exc), exc.status)
    return redirect("/risk-reports?ok=report")
