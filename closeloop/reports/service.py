"""Periodic reports (周调度、月分析、季小结): generate, keep, list, download, and tell subscribers.

- Every generation makes a new report row with its own files (data_dir/reports/<id>/): what
  leadership read is never rewritten; asking again for the same period makes a newer report, and
  lists show the newest first.
- Two ways to make one, over the same steps (making.py): `generate` does it all in the caller's
  transaction (the API's POST, the command line, the scheduled flows); `start` + `build` is the
  reports page's way: `start` inserts the row (status generating) in a committed transaction of
  its own and returns at once; `build` — run in a background thread by the web process, or by any
  worker at scale: it is the same function — writes the files step by step, committing each step
  (`progress`) so a page can show it, then sets `ready`; on any failure `failed` with `error`,
  and no file is offered. `start` takes only a closed period. Its 通报 number is drawn in the
  last step, with the files that print it: a failed generation uses no number (making.py).
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

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from closeloop.auth.policy import SYSTEM, Principal, in_region, require_role
from closeloop.config import Settings, get_settings
from closeloop.db import in_transaction
from closeloop.errors import Conflict, DomainError, Forbidden, Invalid
from closeloop.reports import making, periods
from closeloop.reports.stored import (  # noqa: F401  (the package's front door)
    FILES,
    READERS,
    STALE_AFTER,
    URL_SUFFIX,
    authors,
    file_urls,
    get_report,
    in_progress,
    list_reports,
    open_file,
    public,
    report_dir,
    status_of,
)
from closeloop.text import Msg
from models.enums import RegionLevel, ReportStatus, Role
from models.org import CODE_PATTERN, Region
from models.report import Report

STEPS = making.STEPS  # metrics → html → pdf → xlsx → bulletin
# How many closed periods the reports page offers, newest first.
OFFERED = {"weekly": 12, "monthly": 12, "quarterly": 8, "yearly": 5}


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


def regions_for(session: Session, *, actor: Principal) -> list[Region]:
    """The regions the actor may have a report made for, as the page offers them: their own
    region and the active districts and streets inside it (every district and street for an
    admin), in tree order. A community or grid can still be named through the API."""
    require_role(actor, *READERS)
    stmt = select(Region).where(
        col(Region.active), col(Region.level).in_([RegionLevel.district, RegionLevel.street])
    )
    if actor.role != Role.admin or actor.region_path:
        stmt = stmt.where(col(Region.path).startswith(actor.region_path or "\x00", autoescape=True))
    found = list(session.exec(stmt.order_by(col(Region.path))))
    own = session.get(Region, actor.region_code) if actor.region_code else None
    if own is not None and own not in found:
        found.insert(0, own)
    return found


def closed_periods(cadence: str, *, now: datetime, n: int | None = None) -> list[periods.Period]:
    """The last `n` periods of `cadence` over by `now`, newest first (the page's choices)."""
    return periods.closed(cadence, now, n or OFFERED[periods.check_cadence(cadence)])


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
    store its files (HTML, PDF, XLSX, 通报 HTML and PDF) and notify the subscribers, all in the
    caller's transaction. `as_of`: the report time (report_time explains the default)."""
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


def _row(
    session: Session,
    *,
    actor: Principal,
    p: periods.Period,
    region: Region,
    now: datetime,
    scheduled: bool,
    as_of: datetime | None,
) -> Report | None:
    """The report's row, status generating, inserted in a savepoint; with `scheduled`, None when
    the (cadence, period, region) was claimed already (the unique scheduled_key)."""
    report = Report(
        cadence=p.cadence,
        period=p.key,
        region_code=region.code,
        date_from=p.start_at,
        date_to=p.end_at,
        as_of=report_time(p, now=now, as_of=as_of),
        generated_at=now,
        generated_by=actor.id,
        status=ReportStatus.generating,
        progress=making.STEPS[0],
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
    report_time(p, now=now, as_of=as_of)  # a bad as_of is refused before the region is looked up
    region = resolve_region(session, actor=actor, region_code=region_code)
    report = _row(
        session, actor=actor, p=p, region=region, now=now, scheduled=scheduled, as_of=as_of
    )
    if report is None:
        return None
    content = making.prepare(session, report, settings=settings, now=now, actor=actor)

    def step(name: str) -> None:
        report.progress = name

    blobs = making.render_files(content, settings=settings, step=step)
    making.complete(session, report, content, blobs, now=now, settings=settings)
    return report


def start(
    session: Session,
    *,
    actor: Principal,
    cadence: str,
    period: str,
    region_code: str | None = None,
    now: datetime,
) -> Report:
    """The reports page's first half: check the request and insert the report's row (status
    generating, progress `metrics`); `build` writes it. Only a closed period (over by `now`);
    while the same report is still being generated, 409 naming it. The caller commits (the
    page does so in a transaction of its own before handing the id to `build`)."""
    p = periods.parse(cadence, period)
    if p.end_at > now:
        raise Invalid(
            Msg(
                f"报告期 {p.label}（{p.key}）尚未结束（{p.end.isoformat()} 结束），"
                "只能为已结束的报告期生成报告",
                f"the period {p.key} has not ended yet (it ends on {p.end.isoformat()}): "
                "a report is made only for a closed period",
            )
        )
    region = resolve_region(session, actor=actor, region_code=region_code)
    busy = in_progress(session, cadence=p.cadence, period=p.key, region_code=region.code, now=now)
    if busy is not None:
        raise Conflict(
            Msg(
                f"{region.name} {p.label} 的报告正在生成（报告 {busy.id}），请稍候",
                f"the {p.cadence} report {p.key} of {region.code} is being generated already "
                f"(report {busy.id}); wait for it to finish",
            ),
            report_id=busy.id,
        )
    report = _row(session, actor=actor, p=p, region=region, now=now, scheduled=False, as_of=None)
    assert report is not None
    return report


def build(
    engine: Engine, *, report_id: int, now: datetime, settings: Settings | None = None
) -> str:
    """The reports page's second half, outside any request: write the report `start` made,
    each step in a short transaction of its own (committed, so other sessions see `progress`;
    on SQLite a long open transaction would also block every other writer), then `ready`. Any
    failure leaves the report `failed` with the reason and without files. Its final status;
    409 for a report that is not being generated (it is not touched)."""
    settings = settings or get_settings()

    def load(session: Session) -> Report:
        report = session.get(Report, report_id)
        if report is None or report.status != ReportStatus.generating:
            raise Conflict(
                Msg(
                    f"报告 {report_id} 不在生成中，无需再生成",
                    f"report {report_id} is not being generated: there is nothing to build",
                )
            )
        return report

    in_transaction(engine, load)  # a report already ready or failed is left as it is

    def step(name: str) -> None:
        in_transaction(engine, lambda s: making.set_progress(s, report_id=report_id, step=name))

    try:
        content = in_transaction(
            engine, lambda s: making.prepare(s, load(s), settings=settings, now=now, draw=False)
        )
        # The 通报 number is drawn in the last step's transaction only (making.finish): a
        # generation that fails at any step leaves no gap in the series.
        making.finish(engine, content, load=load, settings=settings, now=now, step=step)
        return ReportStatus.ready
    except Exception as exc:  # any failure is recorded on the report, in words
        error = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        in_transaction(
            engine,
            lambda s: making.fail(
                s,
                report_id=report_id,
                error=f"生成失败 / generation failed: {error}",
                settings=settings,
            ),
        )
        return ReportStatus.failed


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
