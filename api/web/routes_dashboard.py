"""The supervisor's dashboard and the report downloads (the same files as the API's, through
api/downloads.py, on the cookie session)."""

from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import Response

from api import downloads
from api.deps import NowDep, SessionDep
from api.web.deps import PageDep, PageUser, page_router
from api.web.pages import Page
from api.web.views import Names, estimated_years
from closeloop.errors import NotFound
from closeloop.reports import charts
from closeloop.reports import dashboard as dashboards
from closeloop.reports.dashboard import Figures
from closeloop.text import Msg

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
REPORT_FILES = ("html", "pdf", "xlsx")


def _figures(page: Page, figures: Figures) -> dict[str, Any]:
    """The figures drawn: the period in words and the two charts in the reader's language."""
    t = page.t
    labels = [key for key, _ in figures.trend]
    rates = [rate for _, rate in figures.trend]
    return {
        "month": figures.month,
        "period": t("dash.period", from_=figures.start.isoformat(), to=figures.today.isoformat()),
        "street_chart": charts.bar_chart(figures.by_street, title=t("dash.by_street")),
        "trend_chart": charts.line_chart(
            labels, [(t("dash.closure_rate"), rates)], title=t("dash.trend")
        ),
        "ranking": figures.ranking,
    }


@router.get("/dashboard")
def dashboard(page: PageDep, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    d = dashboards.dashboard(session, actor=user, now=now)
    return page.render(
        "dashboard.html",
        suspended=d.suspended,
        to_verify=d.to_verify,
        figures=_figures(page, d.figures) if d.figures else None,
        overdue=d.overdue,
        listed=d.listed,
        issued=d.issued,
        decisions=d.decisions,
        reports=d.reports,
        preview=d.preview,
        names=Names.load(session),
        estimated_years=estimated_years(session, [*d.overdue.items, *d.suspended.items, *d.listed]),
        flash=page.flash(),
    )


@router.get("/reports/{report_id}.{ext}")
def report_file(
    session: SessionDep, user: PageUser, now: NowDep, report_id: PathId, ext: str
) -> Response:
    if ext not in REPORT_FILES:
        raise NotFound(Msg(f"没有 {ext} 格式", f"there is no {ext} file"))
    return downloads.report_file(session, actor=user, report_id=report_id, kind=ext, now=now)
