"""Periodic reports: generate on demand, list, read, download (HTML, PDF, XLSX, 通报).

Paths use the `int` convertor so that /reports/metrics (the metrics router, registered first)
never reaches these routes."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import FileResponse, Response

from api import downloads
from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.reports import service as reports
from models.report import ReportCreate, ReportPublic

router = APIRouter(tags=["reports"])
ReportId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportPublic,
    summary="生成报告 / generate a weekly, monthly or quarterly report with its 通报",
)
def create_report(
    session: SessionDep, user: CurrentUser, now: NowDep, data: ReportCreate
) -> object:
    report = reports.generate(
        session,
        actor=user,
        cadence=data.cadence,
        period=data.period,
        region_code=data.region_code,
        now=now,
        as_of=data.as_of,
    )
    return reports.public(report, now=now)


@router.get(
    "/reports", response_model=list[ReportPublic], summary="报告列表 / reports, newest first"
)
def list_reports(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    cadence: Annotated[str | None, Query(max_length=20)] = None,
) -> object:
    rows = reports.list_reports(session, actor=user, cadence=cadence)
    return [reports.public(r, now=now) for r in rows]


def _route(suffix: str, kind: str, content_type: str) -> None:
    def download(
        session: SessionDep, user: CurrentUser, now: NowDep, report_id: ReportId
    ) -> Response:
        return downloads.report_file(session, actor=user, report_id=report_id, kind=kind, now=now)

    router.add_api_route(
        "/reports/{report_id:int}" + suffix,
        download,
        methods=["GET"],
        response_class=FileResponse,
        responses={200: {"content": {content_type: {}}}},
        name=f"report_{kind}",
        summary=f"下载报告文件 / download the report's {kind}",
    )


# The documents come before /reports/{id}: "5.pdf" is a document, not an id.
for _suffix, _kind in (
    (".html", "html"),
    (".pdf", "pdf"),
    (".xlsx", "xlsx"),
    ("/bulletin.html", "bulletin_html"),
    ("/bulletin.pdf", "bulletin_pdf"),
):
    _route(_suffix, _kind, reports.FILES[_kind][1].split(";")[0])


@router.get(
    "/reports/{report_id:int}",
    response_model=ReportPublic,
    summary="报告 / one report, with its status (generating: the step under way; failed: why)",
)
def get_report(session: SessionDep, user: CurrentUser, now: NowDep, report_id: ReportId) -> object:
    return reports.public(reports.get_report(session, actor=user, report_id=report_id), now=now)
