"""Reports on the pages: the list of the region's reports with their downloads (HTML, PDF, XLSX
and the 通报), a form to generate one for a closed period, and the report's own page that shows
the generation's steps until its files are ready.

Generating from the page does not hold the request: the route inserts the report's row
(reports.start), commits, hands the id to the background runner (api/report_runner.py) and
redirects to /reports/{id}, whose small script polls /reports/{id}/status and reloads the page
when the step changes. Who may see and generate is the service's rule (supervisors, dispatchers
and admins, for their own region)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from api import downloads, report_runner
from api.deps import NowDep, SessionDep
from api.web.deps import CsrfForm, PageDep, PageUser, fields, page_router
from api.web.pages import Page, redirect
from closeloop.auth.policy import Principal
from closeloop.errors import DomainError, Forbidden
from closeloop.reports import periods
from closeloop.reports import service as reports
from models.report import Report

router = page_router()
ReportId = Annotated[int, Path(ge=1, le=2_147_483_647)]
CADENCES = ("weekly", "monthly", "quarterly")  # the page's choices (年报 through the API)
STEPS = (*reports.STEPS, "done")
FORM_FIELDS = ("cadence", "period", "region_code")


def _row(page: Page, report: Report, now: datetime, authors: dict[int, str]) -> dict[str, Any]:
    status, progress, error = reports.status_of(report, now)
    p = periods.parse(report.cadence, report.period)
    return {
        "r": report,
        "status": status,
        "progress": progress,
        "error": error,
        "period": p.label if page.lang == "zh" else p.key,
        "by": authors.get(report.generated_by or 0, "") if report.generated_by else "",
    }


def _form_context(
    session: Session, user: Principal, now: datetime, values: dict[str, str]
) -> dict[str, Any]:
    """The generate form: the closed periods of each cadence, the regions the user may choose."""
    regions = reports.regions_for(session, actor=user)
    return {
        "cadences": CADENCES,
        "choices": {c: reports.closed_periods(c, now=now) for c in CADENCES},
        "regions": regions,
        "values": {
            "cadence": values.get("cadence") or "monthly",
            "period": values.get("period", ""),
            "region_code": values.get("region_code") or (user.region_code or ""),
        },
    }


def _list_page(
    page: Page,
    session: Session,
    user: Principal,
    now: datetime,
    *,
    cadence: str = "",
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    chosen = cadence if cadence in periods.CADENCES else ""
    rows = reports.list_reports(session, actor=user, cadence=chosen or None, unfinished=True)
    authors = reports.authors(session, rows)
    return page.render(
        "reports.html",
        status=status,
        rows=[_row(page, r, now, authors) for r in rows],
        cadence=chosen,
        error=error,
        **_form_context(session, user, now, values or {}),
    )


@router.get("/reports")
def report_list(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, cadence: str = ""
) -> Response:
    return _list_page(page, session, user, now, cadence=cadence)


@router.post("/reports")
def generate_report(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm
) -> Response:
    """Insert the report (generating) and return at once; the files are written in the
    background while /reports/{id} shows the steps."""
    values = fields(form, FORM_FIELDS)
    try:
        report = reports.start(
            session,
            actor=user,
            cadence=values["cadence"],
            period=values["period"],
            region_code=values["region_code"] or None,
            now=now,
        )
    except DomainError as exc:
        session.rollback()
        if isinstance(exc, Forbidden):
            raise
        message = page.message(exc)
        return _list_page(page, session, user, now, values=values, error=message, status=exc.status)
    assert report.id is not None
    session.commit()  # the row must be there for the background build and the next page
    report_runner.submit(session.get_bind(), report_id=report.id, now=now)  # type: ignore[arg-type]
    return redirect(f"/reports/{report.id}")


@router.get("/reports/{report_id:int}")
def report_page(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, report_id: ReportId
) -> Response:
    report = reports.get_report(session, actor=user, report_id=report_id)
    row = _row(page, report, now, reports.authors(session, [report]))
    current = STEPS.index(row["progress"]) if row["progress"] in STEPS else 0
    if row["status"] == "ready":
        current = len(STEPS) - 1
    return page.render("report.html", row=row, steps=STEPS, current=current)


@router.get("/reports/{report_id:int}/status")
def report_status(
    session: SessionDep, user: PageUser, now: NowDep, report_id: ReportId
) -> Response:
    """{"id", "status", "progress", "error"} for the report page's script."""
    report = reports.get_report(session, actor=user, report_id=report_id)
    shown = reports.public(report, now=now)
    body = {"id": shown.id, "status": shown.status, "progress": shown.progress}
    return JSONResponse({**body, "error": shown.error}, headers={"Cache-Control": "no-store"})


def _bulletin(kind: str) -> None:
    def download(session: SessionDep, user: PageUser, now: NowDep, report_id: ReportId) -> Response:
        return downloads.report_file(session, actor=user, report_id=report_id, kind=kind, now=now)

    name = kind.split("_")[1]
    router.add_api_route(
        f"/reports/{{report_id:int}}/bulletin.{name}", download, methods=["GET"], name=kind
    )


for _kind in ("bulletin_html", "bulletin_pdf"):
    _bulletin(_kind)
