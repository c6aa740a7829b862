"""The steps of making a report, shared by the two ways of running them (service.py):

- in one transaction (`generate`: the API, the command line, the scheduled flows, the demo): the
  caller's session does everything and commits or rolls back the whole report;
- in the background (`start` then `build`: the reports page): each step is a short transaction of
  its own, so the page can show the step under way (`progress`) while the files are written.

Steps, in order: metrics (gather the figures, draw the 通报 number) → html → pdf → xlsx →
bulletin (the 通报, HTML and PDF) → the files stored, the report ready, subscribers told."""

import hashlib
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, update

from closeloop.auth import service as auth
from closeloop.auth.policy import SYSTEM, Principal
from closeloop.config import Settings
from closeloop.reports import periods
from closeloop.reports.bulletin import bulletin_number, bulletin_title, render_bulletin_html
from closeloop.reports.charts import percent
from closeloop.reports.content import Content, gather
from closeloop.reports.render import html_to_pdf, render_html
from closeloop.reports.stored import FILES, file_urls, report_dir, safe_error
from closeloop.reports.xlsx import render_xlsx
from models.enums import Channel, ReportStatus, Role
from models.org import Region
from models.report import Report
from models.user import User
from notifications import outbox

STEPS = ("metrics", "html", "pdf", "xlsx", "bulletin")
Step = Callable[[str], None]


def actor_of(session: Session, report: Report) -> Principal:
    """Who the report is made for: its author, or the system for a scheduled report."""
    user = session.get(User, report.generated_by) if report.generated_by else None
    return auth.principal_of(session, user) if user else SYSTEM


def prepare(
    session: Session,
    report: Report,
    *,
    settings: Settings,
    now: datetime,
    actor: Principal | None = None,
) -> Content:
    """Step `metrics`: the report's content as of its report time, with its 通报 number drawn
    (in this session's transaction) and recorded on the row. `actor`: who asked (default: the
    report's author, see actor_of)."""
    region = session.get(Region, report.region_code)
    assert region is not None
    p = periods.parse(report.cadence, report.period)
    actor = actor or actor_of(session, report)
    content = gather(session, actor=actor, region=region, period=p, now=now, as_of=report.as_of)
    content.bulletin_number = bulletin_number(session, issuer_short=settings.issuer_short, now=now)
    report.bulletin_number = content.bulletin_number
    report.title = content.title
    session.add(report)
    session.flush()
    return content


def render_files(content: Content, *, settings: Settings, step: Step) -> dict[str, bytes]:
    """Steps html, pdf, xlsx and bulletin: the files' bytes; `step(name)` is told before each."""
    step("html")
    html = render_html(content)
    step("pdf")
    pdf = html_to_pdf(html)
    step("xlsx")
    xlsx = render_xlsx(content)
    step("bulletin")
    bulletin = render_bulletin_html(content, number_text=content.bulletin_number, settings=settings)
    return {
        "html": html.encode(),
        "pdf": pdf,
        "xlsx": xlsx,
        "bulletin_html": bulletin.encode(),
        "bulletin_pdf": html_to_pdf(bulletin),
    }


def complete(
    session: Session,
    report: Report,
    content: Content,
    blobs: dict[str, bytes],
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """The files stored under data_dir/reports/<id>/, the report ready, subscribers told."""
    assert report.id is not None
    region = session.get(Region, report.region_code)
    assert region is not None
    report.files = _store(report_dir(settings, report.id), blobs)
    report.title = content.title
    report.bulletin_number = content.bulletin_number
    report.summary = {
        "region_name": region.name,
        "period_label": content.period.label,
        "bulletin_title": bulletin_title(content),
        "total": content.total.model_dump(mode="json"),
    }
    report.status = ReportStatus.ready
    report.progress = None
    session.add(report)
    session.flush()
    _notify(session, report, region, now=now, settings=settings)


def set_progress(session: Session, *, report_id: int, step: str) -> None:
    session.exec(
        update(Report)
        .where(Report.id == report_id, Report.status == ReportStatus.generating)  # type: ignore[arg-type]
        .values(progress=step)
    )


def fail(session: Session, *, report_id: int, error: str, settings: Settings) -> None:
    """The generation stopped: no file is offered (the folder goes), `error` says why."""
    report = session.get(Report, report_id)
    if report is None or report.status != ReportStatus.generating:
        return
    shutil.rmtree(report_dir(settings, report_id), ignore_errors=True)
    report.status = ReportStatus.failed
    report.error = safe_error(error)
    report.files = {}
    session.add(report)
    session.flush()


def _store(folder: Path, blobs: dict[str, bytes]) -> dict[str, Any]:
    if folder.exists():  # left by a rolled-back attempt that had this id
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files: dict[str, Any] = {}
    for kind, data in blobs.items():
        name, content_type = FILES[kind]
        (folder / name).write_bytes(data)
        files[kind] = {
            "name": name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": content_type,
        }
    return files


def _notify(
    session: Session, report: Report, region: Region, *, now: datetime, settings: Settings
) -> None:
    total = report.summary["total"]
    subject = f"{report.title}已生成"
    body = (
        f"{report.title}已生成。上报{total['reported']}件，立案{total['accepted']}件，"
        f"办结{total['closed']}件，办结率{percent(total['closure_rate'])}，"
        f"超期未办结{total['overdue_open']}件。配套通报：{report.bulletin_number}。"
        "请登录闭环系统查看或下载报告（HTML、PDF、XLSX）。"
    )
    key = f"report:{report.id}"
    payload = {"report_id": report.id, "files": file_urls(report.id or 0)}
    outbox.notify_region_role(
        session,
        region_path=region.path,
        roles=(Role.supervisor,),
        event="report",
        subject=subject,
        body=body,
        now=now,
        key=key,
        payload=payload,
    )
    emails = [e.strip() for e in settings.report_recipients.split(",") if e.strip()]
    # Subscribers outside the user table: plain email rows through the same idempotent outbox.
    outbox._fan_out(
        session,
        [(Channel.email, e, None) for e in emails],
        key=key,
        event="report",
        subject=subject,
        body=body,
        now=now,
        case_id=None,
        letter_id=None,
        payload=payload,
    )
