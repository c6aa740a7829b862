"""Reports already made: who may see them, their state (a generation left unfinished for too
long reads as failed), their files and their public shape. The service (service.py) is the front
door and re-exports these."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal, require_role
from closeloop.config import Settings, get_settings
from closeloop.errors import Conflict, Forbidden, NotFound
from closeloop.reports import periods
from closeloop.text import Msg
from models.enums import ReportStatus, Role
from models.org import Region
from models.report import FILE_KINDS, Report, ReportPublic
from models.user import User

READERS = (Role.supervisor, Role.dispatcher, Role.admin)
FILES = {
    "html": ("report.html", "text/html; charset=utf-8"),
    "pdf": ("report.pdf", "application/pdf"),
    "xlsx": ("report.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "bulletin_html": ("bulletin.html", "text/html; charset=utf-8"),
    "bulletin_pdf": ("bulletin.pdf", "application/pdf"),
}
URL_SUFFIX = {
    "html": ".html",
    "pdf": ".pdf",
    "xlsx": ".xlsx",
    "bulletin_html": "/bulletin.html",
    "bulletin_pdf": "/bulletin.pdf",
}
# A generation still under way this long after it started was cut short (the server stopped
# while writing it): it reads as failed and the period may be generated again.
STALE_AFTER = timedelta(minutes=30)
STALE_ERROR = Msg(
    "生成中断：超过 30 分钟仍未完成（服务可能已重启），请重新生成",
    "generation stopped: not finished within 30 minutes (the server may have restarted); "
    "generate the report again",
)


def report_dir(settings: Settings, report_id: int) -> Path:
    return settings.data_dir / report_folder(report_id)


def report_folder(report_id: int) -> Path:
    """Where a report's files lie under the data dir (written once, before its row commits)."""
    return Path("reports") / str(report_id)


def file_urls(report_id: int) -> dict[str, str]:
    return {kind: f"/api/v1/reports/{report_id}{URL_SUFFIX[kind]}" for kind in FILE_KINDS}


def is_stale(report: Report, now: datetime | None) -> bool:
    return (
        report.status == ReportStatus.generating
        and now is not None
        and now - report.generated_at > STALE_AFTER
    )


def status_of(report: Report, now: datetime | None) -> tuple[str, str | None, str | None]:
    """(status, progress, error) as a reader sees them at `now`: a stale generation is failed."""
    if is_stale(report, now):
        return ReportStatus.failed, None, STALE_ERROR.both()
    if report.status == ReportStatus.generating:
        return report.status, report.progress, None
    return report.status, None, report.error if report.status == ReportStatus.failed else None


def _visible(stmt: Any, actor: Principal) -> Any:
    require_role(actor, *READERS)
    if actor.role == Role.admin:
        return stmt
    return stmt.join(Region, col(Region.code) == col(Report.region_code)).where(
        col(Region.path).startswith(actor.region_path or "\x00", autoescape=True)
    )


def list_reports(
    session: Session,
    *,
    actor: Principal,
    cadence: str | None = None,
    limit: int = 200,
    unfinished: bool = False,
) -> list[Report]:
    """The reports of the actor's region, newest first: the ready ones, and with `unfinished`
    also those being generated or failed (the reports page shows them with their state)."""
    stmt = _visible(select(Report), actor)
    if not unfinished:
        stmt = stmt.where(Report.status == ReportStatus.ready)
    if cadence:
        stmt = stmt.where(Report.cadence == periods.check_cadence(cadence))
    order = (col(Report.generated_at).desc(), col(Report.id).desc())
    return list(session.exec(stmt.order_by(*order).limit(limit)))


def get_report(session: Session, *, actor: Principal, report_id: int) -> Report:
    """One report of the actor's region, whatever its state (see status_of)."""
    require_role(actor, *READERS)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(Msg(f"报告 {report_id} 不存在", f"report {report_id} does not exist"))
    if (
        session.exec(_visible(select(Report.id), actor).where(Report.id == report_id)).first()
        is None
    ):
        raise Forbidden(
            Msg(
                f"报告 {report_id} 不在您的管辖范围内",
                f"report {report_id} is outside your jurisdiction",
            )
        )
    return report


def open_file(
    session: Session,
    *,
    actor: Principal,
    report_id: int,
    kind: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> tuple[Report, Path, str]:
    """(report, path, content type) of one of the report's files; 404 when it has none, 409
    while it is being generated or when its generation failed."""
    settings = settings or get_settings()
    report = get_report(session, actor=actor, report_id=report_id)
    if kind not in FILES:
        raise NotFound(Msg(f"报告没有 {kind} 文件", f"report {report_id} has no {kind} file"))
    status, _, error = status_of(report, now)
    if status == ReportStatus.generating:
        raise Conflict(
            Msg(
                f"报告 {report_id} 正在生成，尚不能下载，请稍后再试",
                f"report {report_id} is still being generated: its files cannot be "
                "downloaded yet; try again when it is ready",
            )
        )
    if status == ReportStatus.failed:
        raise Conflict(
            Msg(
                f"报告 {report_id} 生成失败，没有可下载的文件，请重新生成",
                f"report {report_id} failed to generate and has no files; generate it again",
            ),
            error=error,
        )
    if kind not in report.files:
        raise NotFound(Msg(f"报告没有 {kind} 文件", f"report {report_id} has no {kind} file"))
    path = report_dir(settings, report_id) / FILES[kind][0]
    if not path.exists():
        raise NotFound(
            Msg("报告文件丢失", f"the stored {kind} file of report {report_id} is missing")
        )
    return report, path, FILES[kind][1]


def public(report: Report, *, now: datetime | None = None) -> ReportPublic:
    """The report as the API shows it; `files` only once it is ready. With `now`, a generation
    cut short reads as failed (status_of)."""
    assert report.id is not None
    status, progress, error = status_of(report, now)
    return ReportPublic(
        id=report.id,
        cadence=report.cadence,
        period=report.period,
        region_code=report.region_code,
        title=report.title,
        date_from=report.date_from,
        date_to=report.date_to,
        as_of=report.as_of,
        generated_at=report.generated_at,
        generated_by=report.generated_by,
        scheduled=report.scheduled_key is not None,
        bulletin_number=report.bulletin_number,
        summary=report.summary,
        files=file_urls(report.id) if status == ReportStatus.ready else {},
        status=status,
        progress=progress,
        error=error,
    )


def in_progress(
    session: Session, *, cadence: str, period: str, region_code: str, now: datetime
) -> Report | None:
    """A generation of the same report still under way (not stale), if any."""
    rows = session.exec(
        select(Report).where(
            Report.cadence == cadence,
            Report.period == period,
            Report.region_code == region_code,
            Report.status == ReportStatus.generating,
        )
    )
    return next((r for r in rows if not is_stale(r, now)), None)


def authors(session: Session, rows: list[Report]) -> dict[int, str]:
    """The display names of the reports' authors (a scheduled report has none)."""
    ids = {r.generated_by for r in rows if r.generated_by is not None}
    if not ids:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(ids)))
    return {u.id: u.display_name for u in users if u.id is not None}


def safe_error(text: str) -> str:
    """An error for the `error` column: one line of at most 2000 characters."""
    return re.sub(r"\s+", " ", text).strip()[:2000]
