"""The steps of making a report, shared by the two ways of running them (service.py):

- in one transaction (`generate`: the API, the command line, the scheduled flows, the demo): the
  caller's session does everything and commits or rolls back the whole report;
- in the background (`start` then `build`: the reports page): each step is a short transaction of
  its own, so the page can show the step under way (`progress`) while the files are written.

Steps, in order: metrics (gather the figures, draw the 通报 number) → html → pdf → xlsx →
bulletin (the 通报, HTML and PDF) → the files stored, the report ready, subscribers told.

The 通报 number (文号) is an official series without gaps, and the report HTML, its PDF and the
通报 print it. In one transaction it is drawn with the figures and a rollback gives it back. In the
background it is drawn only in the last step's transaction, together with storing the files and
setting `ready`, so a generation that fails or is cut short at any step has used no number: the
files are rendered with the number the series is expected to reach (`expected_number`), and the
last step draws the number and checks it is that one (`issue`); when another report took it in
the meantime, that transaction is rolled back and the number-printing files are rendered again
with the new one (`finish`). No transaction is held open while a PDF is rendered (on SQLite it
would stop every other writer for seconds), except after losing that race RACES times in a row:
then the number is drawn and the files rendered in one transaction."""

import hashlib
import shutil
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, update

from closeloop.auth import service as auth
from closeloop.auth.policy import SYSTEM, Principal
from closeloop.config import Settings
from closeloop.db import in_transaction
from closeloop.pdf import html_to_pdf
from closeloop.reports import periods
from closeloop.reports.bulletin import (
    bulletin_number,
    bulletin_title,
    expected_number,
    render_bulletin_html,
)
from closeloop.reports.charts import percent
from closeloop.reports.content import Content, gather
from closeloop.reports.render import render_html
from closeloop.reports.stored import FILES, file_urls, report_dir, safe_error
from closeloop.reports.xlsx import render_xlsx
from models.enums import Channel, ReportStatus, Role
from models.org import Region
from models.report import Report
from models.user import User
from notifications import outbox

STEPS = ("metrics", "html", "pdf", "xlsx", "bulletin")
Step = Callable[[str], None]
# How many times a background generation renders its files again because another report took
# the 通报 number they print, before it draws the number and renders under the counter's lock.
RACES = 3


class NumberMoved(Exception):
    """The 通报 number the files print was taken by another report: render them again."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


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
    draw: bool = True,
) -> Content:
    """Step `metrics`: the report's content as of its report time, with its 通报 number drawn
    (in this session's transaction) and recorded on the row. `actor`: who asked (default: the
    report's author, see actor_of). Without `draw` (the background way) nothing is drawn: the
    content carries the number expected to be drawn at the end (see `issue`)."""
    region = session.get(Region, report.region_code)
    assert region is not None
    p = periods.parse(report.cadence, report.period)
    actor = actor or actor_of(session, report)
    content = gather(session, actor=actor, region=region, period=p, now=now, as_of=report.as_of)
    if draw:
        content.bulletin_number = bulletin_number(
            session, issuer_short=settings.issuer_short, now=now
        )
        report.bulletin_number = content.bulletin_number
    else:
        content.bulletin_number = expected_number(
            session, issuer_short=settings.issuer_short, now=now
        )
    report.title = content.title
    session.add(report)
    session.flush()
    return content


def render_files(
    content: Content, *, settings: Settings, step: Step, xlsx: bytes | None = None
) -> dict[str, bytes]:
    """Steps html, pdf, xlsx and bulletin: the files' bytes; `step(name)` is told before each.
    `xlsx`: the workbook rendered already (it does not print the 通报 number)."""
    step("html")
    html = render_html(content)
    step("pdf")
    pdf = html_to_pdf(html)
    if xlsx is None:
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


def issue(session: Session, content: Content, *, settings: Settings, now: datetime) -> None:
    """Draw the 通报 number in this transaction (the background way's last step); NumberMoved
    (the caller rolls back, giving the number back) when it is not the one the files print."""
    drawn = bulletin_number(session, issuer_short=settings.issuer_short, now=now)
    if drawn != content.bulletin_number:
        raise NumberMoved(drawn)


def finish(
    engine: Engine,
    content: Content,
    *,
    load: Callable[[Session], Report],
    settings: Settings,
    now: datetime,
    step: Step,
) -> None:
    """The background way's last steps: render the files, then in one short transaction draw
    the 通报 number they print (`issue`), store them and set the report ready (`complete`);
    rendered again with the new number when another report took it meanwhile. `load(session)`:
    the report's row, still generating."""

    def last(session: Session, blobs: dict[str, bytes]) -> None:
        report = load(session)
        issue(session, content, settings=settings, now=now)
        complete(session, report, content, blobs, now=now, settings=settings)

    blobs: dict[str, bytes] = {}
    for _ in range(RACES):
        blobs = render_files(content, settings=settings, step=step, xlsx=blobs.get("xlsx"))
        try:
            in_transaction(engine, partial(last, blobs=blobs))
            return
        except NumberMoved as moved:
            content.bulletin_number = moved.number
    xlsx = blobs.get("xlsx")

    def locked(session: Session) -> None:
        # Lost every race: hold the counter while rendering, so nobody can take the number.
        report = load(session)
        content.bulletin_number = bulletin_number(
            session, issuer_short=settings.issuer_short, now=now
        )
        numbered = render_files(content, settings=settings, step=lambda _: None, xlsx=xlsx)
        complete(session, report, content, numbered, now=now, settings=settings)

    in_transaction(engine, locked)


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
