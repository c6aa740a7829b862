"""The supervisor's dashboard, the letters list and the letter and report downloads (the same
files as the API's, on the cookie session)."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.web.core import Web, respond
from api.web.views import Names
from closeloop.auth import policy
from closeloop.cases import queues
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from closeloop.clock import local_today
from closeloop.errors import DomainError, NotFound
from closeloop.escalation import service as escalation
from closeloop.letters import render as letter_render
from closeloop.letters import service as letters
from closeloop.reports import charts, periods
from closeloop.reports import service as reports
from closeloop.reports.metrics import service as metrics
from closeloop.text import Msg
from models.enums import Action, CaseState, Role

router = APIRouter(include_in_schema=False)
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
TREND_MONTHS = 6


def _metrics(w: Web) -> dict[str, Any]:
    """This month's figures by street and a six-month trend, from reports.metrics.compute."""
    today = local_today(w.now)
    this = periods.containing("monthly", today)
    start = this.start
    region = w.me.region_code
    month = metrics.compute(
        w.session, actor=w.me, date_from=start, date_to=today, now=w.now, group_by="street",
        region_code=region,
    )
    labels, trend = [], []
    for p in periods.previous(this, TREND_MONTHS - 1):
        report = metrics.compute(
            w.session, actor=w.me, date_from=p.start, date_to=p.end, now=w.now, region_code=region
        )
        labels.append(p.key)
        trend.append(report.total.closure_rate)
    labels.append(this.key)
    trend.append(month.total.closure_rate)  # this month so far: already computed above
    by_street = [(g.name, g.closure_rate) for g in month.groups]
    return {
        "month": month,
        "period": w.t("dash.period", from_=start.isoformat(), to=today.isoformat()),
        "street_chart": charts.bar_chart(by_street, title=w.t("dash.by_street")),
        "trend_chart": charts.line_chart(
            labels, [(w.t("dash.closure_rate"), trend)], title=w.t("dash.trend")
        ),
        "ranking": sorted(month.groups, key=lambda g: (g.rank is None, g.rank or 0, g.name)),
    }


def _preview(w: Web) -> dict[str, Any]:
    """下次自动升级预览: what an escalation run now would fire in the supervisor's jurisdiction
    (the read-only dry run: one indexed sweep, nothing written)."""
    result = escalation.preview(w.session, now=w.now, region_path=w.me.region_path)
    notices: dict[str, list[str]] = {}
    for fire in result["would_fire"]:
        if fire["action"] == "notice" or fire.get("notice_to_head"):
            level = "reply_overdue" if fire.get("notice_to_head") else fire["level"].split(".")[0]
            notices.setdefault(level, []).append(fire["case_number"])
    result["notices_by_level"] = sorted(notices.items())
    return result


def _reports(w: Web) -> list[Any]:
    return [reports.public(r) for r in reports.list_reports(w.session, actor=w.me, limit=20)]


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    def page(w: Web) -> Response:
        policy.require_role(w.me, Role.supervisor)
        try:
            figures: dict[str, Any] | None = _metrics(w)
        except DomainError:
            w.session.rollback()
            figures = None
        overdue = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(overdue=True), page=1, page_size=10,
            now=w.now,
        )
        suspended = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(state=CaseState.suspended), page=1,
            page_size=20, now=w.now,
        )
        verifying = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(state=CaseState.verifying), page=1,
            page_size=queues.QUEUE_SIZE, now=w.now,
        )
        return w.render(
            "dashboard.html",
            suspended=suspended,
            to_verify=sum(1 for c in verifying.items if Action.approve in c.allowed_actions),
            figures=figures,
            overdue=overdue,
            listed=queues.listed_open(w.session, actor=w.me, now=w.now)[:20],
            issued=letters.list_letters(w.session, actor=w.me, limit=20),
            decisions=queues.pending_decisions(w.session, actor=w.me, now=w.now),
            reports=_reports(w),
            preview=_preview(w),
            names=Names.load(w.session),
            flash=(
                f"{w.t('act.' + request.query_params['ok'])}{w.t('colon')}{w.t('done')}"
                if request.query_params.get("ok") else ""
            ),
        )

    return respond(request, page)


@router.get("/letters")
def letter_list(request: Request) -> Response:
    def page(w: Web) -> Response:
        rows = letters.list_letters(w.session, actor=w.me)
        return w.render("letters.html", rows=rows, names=Names.load(w.session))

    return respond(request, page)


@router.get("/letters/{letter_id}.pdf")
def letter_pdf(request: Request, letter_id: PathId) -> Response:
    def page(w: Web) -> Response:
        letter = letters.get_letter(w.session, actor=w.me, letter_id=letter_id)
        name = quote(f"{letter.number}.pdf")
        return Response(
            letter_render.render_pdf(letter),
            media_type="application/pdf",
            headers={"Content-Disposition":
                     f"inline; filename=\"letter-{letter_id}.pdf\"; filename*=UTF-8''{name}"},
        )

    return respond(request, page)


@router.get("/letters/{letter_id}.html")
def letter_html(request: Request, letter_id: PathId) -> Response:
    def page(w: Web) -> Response:
        letter = letters.get_letter(w.session, actor=w.me, letter_id=letter_id)
        return HTMLResponse(letter_render.render_html(letter))

    return respond(request, page)


@router.get("/reports/{report_id}.{ext}")
def report_file(request: Request, report_id: PathId, ext: str) -> Response:
    def page(w: Web) -> Response:
        try:
            from closeloop.reports import service as reports
        except ImportError:
            raise NotFound(Msg("报告功能未启用", "reports are not available")) from None
        if ext not in ("html", "pdf", "xlsx"):
            raise NotFound(Msg(f"没有 {ext} 格式", f"there is no {ext} file"))
        report, path, media = reports.open_file(
            w.session, actor=w.me, report_id=report_id, kind=ext
        )
        name = f"{report.title}.{ext}"
        return FileResponse(path, media_type=media, filename=name,
                            content_disposition_type="attachment" if ext == "xlsx" else "inline")

    return respond(request, page)
