"""Periodic reports (周调度、月分析、季小结): generate, keep, list, download, and tell subscribers.

- Every `generate` makes a new report row with its own files (data_dir/reports/<id>/): what
  leadership read is never rewritten; asking again for the same period makes a newer report, and
  lists show the newest first.
- The scheduled run (the report flows: `scheduled`, then `make_scheduled` per district) reports
  the last complete period once per district root, however often it runs: the report row
  carries a unique `scheduled_key`, inserted in a savepoint, so a second or concurrent run finds
  the key taken and does nothing.
- Figures are as of the report time (`as_of`): the period's end once the period is over at
  generation time, else the generation time; or a stated earlier time (never later than the
  generation time). They are computed from the history, so regenerating a closed period's report
  later gives the same figures, lists and ranking.
- Who: supervisors, dispatchers and admins, for a region inside their own; others get 403.
"""

import hashlib
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from closeloop.auth.policy import SYSTEM, Principal, in_region, require_role
from closeloop.config import Settings, get_settings
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.reports import periods
from closeloop.reports.bulletin import bulletin_number, bulletin_title, render_bulletin_html
from closeloop.reports.charts import percent
from closeloop.reports.content import gather
from closeloop.reports.render import html_to_pdf, render_html
from closeloop.reports.xlsx import render_xlsx
from closeloop.text import Msg
from models.enums import Channel, RegionLevel, ReportStatus, Role
from models.org import CODE_PATTERN, Region
from models.report import FILE_KINDS, Report, ReportPublic
from notifications import outbox

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


def report_dir(settings: Settings, report_id: int) -> Path:
    return settings.data_dir / "reports" / str(report_id)


def resolve_region(session: Session, *, actor: Principal, region_code: str | None) -> Region:
    """The report's region: the one asked for, else the actor's, else the single district."""
    require_role(actor, *READERS)
    code = region_code or actor.region_code
    if code is None:
        roots = list(session.exec(select(Region).where(col(Region.parent_code).is_(None))))
        if len(roots) != 1:
            raise Invalid(
                Msg(
                    "请指定报告的区域 region_code",
                    "name the report's region (region_code): "
                    f"there are {len(roots)} top-level regions",
                )
            )
        return roots[0]
    region = session.get(Region, code) if re.fullmatch(CODE_PATTERN, code) else None
    if region is None:
        raise Invalid(Msg(f"区域 {code} 不存在", f"region {code!r} does not exist"))
    if actor.role != Role.admin and not in_region(actor, region.path):
        raise Forbidden(
            Msg(
                f"区域 {region.name} 不在您的管辖范围内",
                f"region {code} is outside your jurisdiction",
            )
        )
    return region


def generate(
    session: Session,
    *,
    actor: Principal,
    cadence: str,
    period: str,
    region_code: str | None = None,
    now: datetime,
    settings: Settings | None = None,
    as_of: datetime | None = None,
) -> Report:
    """Make the report of `period` for the region (default: the actor's, else the district),
    store its files (HTML, PDF, XLSX, 通报 HTML and PDF) and notify the subscribers. `as_of`:
    the report time (report_time explains the default)."""
    report = _make(
        session,
        actor=actor,
        cadence=cadence,
        period=period,
        region_code=region_code,
        now=now,
        scheduled=False,
        settings=settings,
        as_of=as_of,
    )
    assert report is not None
    return report


def _make(
    session: Session,
    *,
    actor: Principal,
    cadence: str,
    period: str,
    region_code: str | None,
    now: datetime,
    scheduled: bool,
    settings: Settings | None = None,
    as_of: datetime | None = None,
) -> Report | None:
    """With `scheduled`, the report is claimed once per (cadence, period, region) through the
    unique scheduled_key: None when that report exists already."""
    settings = settings or get_settings()
    p = periods.parse(cadence, period)
    at = report_time(p, now=now, as_of=as_of)
    region = resolve_region(session, actor=actor, region_code=region_code)
    report = Report(
        cadence=p.cadence,
        period=p.key,
        region_code=region.code,
        date_from=p.start_at,
        date_to=p.end_at,
        as_of=at,
        generated_at=now,
        generated_by=actor.id,
        status=ReportStatus.generating,
        scheduled_key=f"{p.cadence}:{p.key}:{region.code}" if scheduled else None,
        title="",
    )
    try:
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError:
        if scheduled:
            return None
        raise
    assert report.id is not None
    content = gather(session, actor=actor, region=region, period=p, now=now, as_of=at)
    content.bulletin_number = bulletin_number(session, issuer_short=settings.issuer_short, now=now)
    html = render_html(content)
    bulletin = render_bulletin_html(content, number_text=content.bulletin_number, settings=settings)
    blobs = {
        "html": html.encode(),
        "pdf": html_to_pdf(html),
        "xlsx": render_xlsx(content),
        "bulletin_html": bulletin.encode(),
        "bulletin_pdf": html_to_pdf(bulletin),
    }
    report.files = _store(report_dir(settings, report.id), blobs)
    report.title = content.title
    report.bulletin_number = content.bulletin_number
    report.summary = {
        "region_name": region.name,
        "period_label": p.label,
        "bulletin_title": bulletin_title(content),
        "total": content.total.model_dump(mode="json"),
    }
    report.status = ReportStatus.ready
    session.add(report)
    session.flush()
    _notify(session, report, region, now=now, settings=settings)
    return report


def report_time(p: periods.Period, *, now: datetime, as_of: datetime | None) -> datetime:
    """The moment a report's figures are of: the stated `as_of`, else the period's end (the
    midnight after its last day, Shanghai) when the period is over at `now`, else `now`. A
    stated time must have an offset, lie no later than `now` and not before the period starts."""
    if as_of is None:
        return min(p.end_at, now)
    if as_of.tzinfo is None:
        raise Invalid(Msg("统计时点需要时区", "as_of needs a time zone offset"))
    if as_of > now:
        raise Invalid(
            Msg(
                "统计时点不能晚于生成时间",
                "as_of must not be later than the generation time: the "
                "figures of a moment still to come are not known yet",
            )
        )
    if as_of < p.start_at:
        raise Invalid(Msg("统计时点早于报告期开始", "as_of is before the period starts"))
    return as_of


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


def file_urls(report_id: int) -> dict[str, str]:
    return {kind: f"/api/v1/reports/{report_id}{URL_SUFFIX[kind]}" for kind in FILE_KINDS}


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


def _visible(stmt: Any, actor: Principal) -> Any:
    require_role(actor, *READERS)
    if actor.role == Role.admin:
        return stmt
    return stmt.join(Region, col(Region.code) == col(Report.region_code)).where(
        col(Region.path).startswith(actor.region_path or "\x00", autoescape=True)
    )


def list_reports(
    session: Session, *, actor: Principal, cadence: str | None = None, limit: int = 200
) -> list[Report]:
    stmt = _visible(select(Report), actor).where(Report.status == ReportStatus.ready)
    if cadence:
        stmt = stmt.where(Report.cadence == periods.check_cadence(cadence))
    order = (col(Report.generated_at).desc(), col(Report.id).desc())
    return list(session.exec(stmt.order_by(*order).limit(limit)))


def get_report(session: Session, *, actor: Principal, report_id: int) -> Report:
    require_role(actor, *READERS)
    report = session.get(Report, report_id)
    if report is None or report.status != ReportStatus.ready:
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
) -> tuple[Report, Path, str]:
    """(report, path, content type) of one of the report's files; 404 when it has none."""
    settings = settings or get_settings()
    report = get_report(session, actor=actor, report_id=report_id)
    if kind not in FILES or kind not in report.files:
        raise NotFound(Msg(f"报告没有 {kind} 文件", f"report {report_id} has no {kind} file"))
    path = report_dir(settings, report_id) / FILES[kind][0]
    if not path.exists():
        raise NotFound(
            Msg("报告文件丢失", f"the stored {kind} file of report {report_id} is missing")
        )
    return report, path, FILES[kind][1]


def public(report: Report) -> ReportPublic:
    assert report.id is not None
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
        files=file_urls(report.id),
    )


def scheduled(session: Session, *, cadence: str, now: datetime) -> dict[str, Any]:
    """What a scheduled run at `now` reports: the last complete period of `cadence` and the
    districts, {"cadence", "period", "regions"}; each district's report is one make_scheduled."""
    p = periods.last_complete(periods.check_cadence(cadence), now)
    roots = session.exec(
        select(Region.code)
        .where(col(Region.level) == RegionLevel.district)
        .order_by(col(Region.code))
    )
    return {"cadence": p.cadence, "period": p.key, "regions": list(roots)}


def make_scheduled(
    session: Session, *, cadence: str, period: str, region_code: str, now: datetime
) -> int | None:
    """The scheduled report of `period` for a district, made once: its id, or None when that
    report exists already (made by an earlier or a concurrent run)."""
    report = _make(
        session,
        actor=SYSTEM,
        cadence=cadence,
        period=period,
        region_code=region_code,
        now=now,
        scheduled=True,
    )
    return None if report is None else report.id
