"""Importing the risk register's ledgers (CSV or XLSX): risk points, and risk reports with their
review outcome. Good rows in, bad rows reported with every problem, nothing half-written.

Rows stream from closeloop/imports/files.py; each is checked against lookups loaded once (the
enterprises, the units, the existing codes), then written in batches as the case import writes
(closeloop/imports/bulk.py: COPY on PostgreSQL, multi-row INSERTs on SQLite) — no ORM object per
row — so a ledger of 84,262 reports goes in within seconds. The import is one transaction owned
by the caller.

A risk point's code already registered is refused (change a point with PATCH). An imported report
is the ledger's history: it is counted in the figures, and does not change the register (import the
register itself as risk points). A row with `reviewed_at` needs its `decision`; without one it is
pending, due for review `risk_review_days` working days after it was reported. Admins import for
the whole district, dispatchers and supervisors only enterprises within their region.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session

from closeloop.auth.policy import Principal, in_region, require_role
from closeloop.calendar.service import load_calendar
from closeloop.config import Settings, get_settings
from closeloop.db import refresh_statistics
from closeloop.imports.bulk import BulkTable
from closeloop.imports.files import Cell, read_rows
from closeloop.imports.rows import RowError, _text, _time
from closeloop.imports.service import ImportResult, _Rejections
from closeloop.safety import risk_points, risk_reports
from closeloop.text import Msg
from models.enterprise import Enterprise
from models.enums import ReviewDecision, RiskLevel, RiskReportState, Role
from models.org import Unit
from models.risk import RiskPoint, RiskReport

POINT_COLUMNS = ("code", "enterprise_code", "name", "level", "measures", "unit_code")
POINT_REQUIRED = ("code", "enterprise_code", "name", "level")
REPORT_COLUMNS = (
    "number",
    "risk_point_code",
    "enterprise_code",
    "level",
    "reported_at",
    "reviewed_at",
    "decision",
    "name",
    "content",
    "reason",
)
REPORT_REQUIRED = ("number", "enterprise_code", "level", "reported_at")
# The columns an import writes (every one but the id).
POINT_FIELDS = (
    "code", "enterprise_code", "name", "level", "measures", "unit_code", "street_code",
    "region_path", "active", "created_at", "updated_at",
)  # fmt: skip
REPORT_FIELDS = (
    "number", "risk_point_code", "enterprise_code", "name", "level", "content", "measures",
    "street_code", "region_path", "reported_by", "reported_at", "review_due_at", "state",
    "reviewed_by", "reviewed_at", "reason",
)  # fmt: skip
POINTS = RiskPoint.__table__  # type: ignore[attr-defined]
REPORTS = RiskReport.__table__  # type: ignore[attr-defined]
LEVELS = tuple(lv.value for lv in RiskLevel)
DECISIONS = {ReviewDecision.approve: RiskReportState.approved}
DECISIONS[ReviewDecision.reject] = RiskReportState.rejected


class _Lookups:
    def __init__(self, session: Session, actor: Principal) -> None:
        require_role(actor, *risk_points.KEEPERS)
        self.actor = actor
        rows = session.execute(
            select(Enterprise.code, Enterprise.street_code, Enterprise.region_path)  # type: ignore[call-overload]
        )
        self.enterprises: dict[str, tuple[str | None, str]] = {c: (s, p) for c, s, p in rows}
        self.units = set(session.execute(select(Unit.code)).scalars())  # type: ignore[call-overload]
        points = session.execute(select(POINTS.c.code, POINTS.c.enterprise_code))
        self.points: dict[str, str] = {code: ent for code, ent in points}

    def enterprise(self, code: str | None, bad: list[Msg]) -> tuple[str | None, str] | None:
        found = self.enterprises.get(code or "")
        if found is None:
            bad.append(Msg(f"企业/场所 {code} 不存在", f"enterprise_code {code!r} does not exist"))
        elif self.actor.role != Role.admin and not in_region(self.actor, found[1]):
            bad.append(
                Msg(f"企业/场所 {code} 不在您的管辖范围内", f"{code!r} is outside your region")
            )
            return None
        return found


def _level(raw: Mapping[str, Cell], bad: list[Msg]) -> str | None:
    level = (_text(raw.get("level")) or "").lower() or None
    if level not in LEVELS:
        bad.append(Msg(f"风险等级 {level} 无效", f"level must be one of {', '.join(LEVELS)}"))
    return level


def import_points(
    session: Session, *, actor: Principal, fileobj: IO[bytes], filename: str, now: datetime
) -> ImportResult:
    rows = read_rows(fileobj, filename, columns=POINT_COLUMNS, required=POINT_REQUIRED)
    return import_point_rows(session, actor=actor, rows=rows, now=now)


def import_point_rows(
    session: Session,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, Mapping[str, Cell]]],
    now: datetime,
    batch_size: int = 2000,
) -> ImportResult:
    lk = _Lookups(session, actor)
    rejected = _Rejections(1000)
    batch: list[dict[str, Any]] = []
    writer = BulkTable(session, POINTS, POINT_FIELDS)  # the column types looked up once
    imported = 0
    for row, raw in rows:
        bad: list[Msg] = []
        code = _text(raw.get("code"))
        if not code or len(code) > 40:
            bad.append(Msg("编码为空或超过 40 个字符", "code must be 1 to 40 characters"))
        elif code in lk.points:
            bad.append(Msg(f"风险点位编码 {code} 已存在", f"code {code!r} already exists"))
        ent = lk.enterprise(_text(raw.get("enterprise_code")), bad)
        name = _text(raw.get("name")) or ""
        if not name or len(name) > 200:
            bad.append(Msg("名称为空或超过 200 字", "name must be 1 to 200 characters"))
        level = _level(raw, bad)
        measures = _text(raw.get("measures")) or ""
        if len(measures) > 4000:
            bad.append(Msg("管控措施超过 4000 字", "measures is longer than 4000 characters"))
        unit = _text(raw.get("unit_code"))
        if unit is not None and unit not in lk.units:
            bad.append(Msg(f"责任单位 {unit} 不存在", f"unit_code {unit!r} does not exist"))
        if bad:
            rejected.add(row, RowError(bad).both())
            continue
        assert code is not None and ent is not None
        lk.points[code] = _text(raw.get("enterprise_code")) or ""
        batch.append(
            {
                "code": code,
                "enterprise_code": lk.points[code],
                "name": name,
                "level": level,
                "measures": measures,
                "unit_code": unit,
                "street_code": ent[0],
                "region_path": ent[1],
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) >= batch_size:
            imported += _flush(writer, batch)
    imported += _flush(writer, batch)
    refresh_statistics(session, {POINTS.name: imported})
    return {"imported": imported, "rejected": rejected.first(), "rejected_count": rejected.count}


def _flush(writer: BulkTable, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    writer.insert(batch)
    n = len(batch)
    batch.clear()
    return n


def import_reports(
    session: Session, *, actor: Principal, fileobj: IO[bytes], filename: str, now: datetime
) -> ImportResult:
    rows = read_rows(fileobj, filename, columns=REPORT_COLUMNS, required=REPORT_REQUIRED)
    return import_report_rows(session, actor=actor, rows=rows, now=now)


def import_report_rows(
    session: Session,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, Mapping[str, Cell]]],
    now: datetime,
    settings: Settings | None = None,
    batch_size: int = 2000,
) -> ImportResult:
    settings = settings or get_settings()
    lk = _Lookups(session, actor)
    cal = load_calendar(session, settings)
    due: dict[date, datetime] = {}
    rejected = _Rejections(1000)
    batch: list[tuple[int, dict[str, Any]]] = []
    numbers: set[str] = set()  # the file's, so far
    writer = BulkTable(session, REPORTS, REPORT_FIELDS)  # the column types looked up once
    imported = 0
    for row, raw in rows:
        try:
            values = _report(raw, lk, now)
        except RowError as exc:
            rejected.add(row, exc.both())
            continue
        if values["number"] in numbers:
            rejected.add(row, Msg("编号与前面的行重复", "number repeats an earlier row").both())
            continue
        numbers.add(values["number"])
        day = cal.local_date(values["reported_at"])
        if day not in due:
            due[day] = risk_reports.review_due(cal, values["reported_at"], settings)
        values["review_due_at"] = due[day]
        batch.append((row, values))
        if len(batch) >= batch_size:
            imported += _write_reports(session, writer, batch, rejected)
    imported += _write_reports(session, writer, batch, rejected)
    refresh_statistics(session, {REPORTS.name: imported})
    return {"imported": imported, "rejected": rejected.first(), "rejected_count": rejected.count}


def _report(raw: Mapping[str, Cell], lk: _Lookups, now: datetime) -> dict[str, Any]:
    bad: list[Msg] = []
    number = _text(raw.get("number"))
    if not number or len(number) > 40:
        bad.append(Msg("编号为空或超过 40 个字符", "number must be 1 to 40 characters"))
    code = _text(raw.get("enterprise_code"))
    ent = lk.enterprise(code, bad)
    point = _text(raw.get("risk_point_code"))
    if point is not None and lk.points.get(point) != code:
        bad.append(
            Msg(
                f"风险点位 {point} 不存在或不属于 {code}",
                f"risk_point_code {point!r} does not exist or belongs to another enterprise",
            )
        )
    level = _level(raw, bad)
    times: dict[str, datetime | None] = {}
    for column in ("reported_at", "reviewed_at"):
        try:
            times[column] = at = _time(raw.get(column), column)
            if at is not None and at > now:
                bad.append(Msg(f"{column} 晚于现在", f"{column} {at.isoformat()} is in the future"))
        except RowError as exc:
            bad.extend(exc.problems)
    reported, reviewed = times.get("reported_at"), times.get("reviewed_at")
    if "reported_at" in times and reported is None:
        bad.append(Msg("上报时间不能为空", "reported_at is empty"))
    decision = (_text(raw.get("decision")) or "").lower() or None
    state = RiskReportState.pending
    if reviewed is not None:
        if decision not in tuple(ReviewDecision):
            bad.append(Msg("已审核的行须填写审核结论", "decision must be approve or reject"))
        else:
            state = DECISIONS[ReviewDecision(decision)]
        if reported is not None and reviewed < reported:
            bad.append(Msg("审核时间早于上报时间", "reviewed_at is before reported_at"))
    elif decision is not None and "reviewed_at" in times:
        bad.append(Msg("有审核结论须填写审核时间", "a decision needs reviewed_at"))
    if bad:
        raise RowError(bad)
    assert ent is not None
    return {
        "number": number,
        "risk_point_code": point,
        "enterprise_code": code,
        "name": (_text(raw.get("name")) or "")[:200],
        "level": level,
        "content": (_text(raw.get("content")) or "")[:4000],
        "measures": "",
        "street_code": ent[0],
        "region_path": ent[1],
        "reported_by": None,
        "reported_at": reported,
        "state": state.value,
        "reviewed_by": None,
        "reviewed_at": reviewed,
        "reason": (_text(raw.get("reason")) or "")[:2000],
    }


def _write_reports(
    session: Session,
    writer: BulkTable,
    batch: list[tuple[int, dict[str, Any]]],
    rejected: _Rejections,
) -> int:
    """Insert a batch, refusing the rows whose number the database already holds."""
    if not batch:
        return 0
    wanted = [v["number"] for _, v in batch]
    taken = set(
        session.execute(select(REPORTS.c.number).where(REPORTS.c.number.in_(wanted))).scalars()
    )
    keep = []
    for row, values in batch:
        if values["number"] in taken:
            msg = Msg(f"编号 {values['number']} 已存在", f"number {values['number']!r} exists")
            rejected.add(row, msg.both())
        else:
            keep.append(values)
    batch.clear()
    if keep:
        writer.insert(keep)
    return len(keep)
