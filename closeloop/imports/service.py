"""Importing a case ledger (CSV or XLSX): good rows in, bad rows reported, nothing half-written.

Memory stays bounded whatever the file's size: rows are read one at a time (csv.reader over a
text wrapper; openpyxl in read-only mode), validated against small lookup dicts of the
organisation loaded once, and written with SQLAlchemy Core in batches (`INSERT … RETURNING id`,
then the history rows), never as ORM objects. What is held is the current batch, the lookups, a
cache of computed deadlines keyed by (local date, working days), and at most `max_rejected`
rejections (the total is in `rejected_count`).

A given number must be unique in the database and in the file. Only the current batch keeps a set
of its numbers: an earlier batch is already inserted, so the per-batch `number IN (…)` query
catches repeats of earlier rows too (told apart from older cases by the highest case id before the
import). A number the import generated for an earlier row counts as taken.

A bad row writes nothing, not even a counter value. The import is one transaction owned by the
caller: the service never commits, and a file refused half-way (bad encoding) raises Invalid so the
caller rolls back the batches already written.

What a ledger does not say is decided like this: the deadline is the category's working-day limit
counted from dispatch; the signing deadline likewise; `signed_at` is `dispatched_at` for
rectifying and later states (the ledger has no signing time); a suspended case is suspended from
the import on (`suspended_at = now`), so a later resume counts the pause from there; a verifying
case carries no verification deadline; a cancelled case's `closed_at` is its `cancelled_at`.
"""

import heapq
import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import IO, Any, TypedDict

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from closeloop.auth.policy import Principal
from closeloop.calendar.days import END_OF_DAY, SHANGHAI, WorkCalendar
from closeloop.cases import deadlines
from closeloop.cases.service import street_and_community
from closeloop.config import Settings, get_settings
from closeloop.imports.files import Cell, read_rows
from closeloop.letters import numbering
from models.case import Case
from models.enums import CaseKind, CaseState, Grade, RegionLevel
from models.history import CaseHistory
from models.org import Category, Region, Unit

KINDS = (CaseKind.event.value, CaseKind.hazard.value)
STATES = tuple(s.value for s in CaseState)
DISPATCHED = (*CaseState.dispatched_states(), CaseState.closed)
SIGNED = (CaseState.rectifying, CaseState.suspended, CaseState.verifying, CaseState.closed)
NEVER_DISPATCHED = (CaseState.reported, CaseState.cancelled)
MAX_REJECTED = 1000
# Columns a ledger does not carry, as an imported case has them (the rest are set per row).
_FIXED: dict[str, Any] = dict.fromkeys(
    ("street_code", "community_code", "lat", "lon", "reporter_id", "sign_due_at",
     "submitted_at", "verify_due_at", "merged_into_id"),
) | {"description": "", "address": "", "urgent": False, "deadline_version": 0,
     "due_estimated": False, "listed": False, "rework_count": 0, "version": 1}  # fmt: skip

CASES = Case.__table__  # type: ignore[attr-defined]
HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]


class Rejection(TypedDict):
    row: int
    error: str


class ImportResult(TypedDict):
    imported: int
    rejected: list[Rejection]  # the first `max_rejected` by row number
    rejected_count: int  # all of them


class _RowError(Exception):
    pass


def import_file(
    session: Session,
    *,
    actor: Principal,
    fileobj: IO[bytes],
    filename: str,
    now: datetime,
    batch_size: int = 1000,
) -> ImportResult:
    """Read `fileobj` as the ledger its `filename` says it is (.csv or .xlsx) and import it."""
    rows = read_rows(fileobj, filename)
    source = os.path.basename(filename)
    return import_ledger(
        session, actor=actor, rows=rows, source=source, now=now, batch_size=batch_size
    )


def import_ledger(
    session: Session,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, Mapping[str, Cell]]],
    source: str,
    now: datetime,
    batch_size: int = 1000,
    max_rejected: int = MAX_REJECTED,
    settings: Settings | None = None,
) -> ImportResult:
    """Import `rows` — (row number as the user sees it, {column: value}) — as cases in their
    ledger state, each with one `import` history entry. Rows are streamed and written in batches
    of `batch_size`; returns how many went in and why the others did not."""
    lookups = _Lookups(session, settings or get_settings())
    before = session.execute(select(func.max(CASES.c.id))).scalar() or 0
    rejected = _Rejections(max_rejected)
    batch: list[tuple[int, dict[str, Any], bool]] = []
    numbers: set[str] = set()  # the current batch's
    imported = 0
    for row, raw in rows:
        try:
            values = _check(raw, lookups, now)
        except _RowError as exc:
            rejected.add(row, str(exc))
            continue
        given = values["number"] is not None
        if given and values["number"] in numbers:
            rejected.add(row, _repeat(values["number"]))
            continue
        if not given:
            kind = CaseKind(values["kind"])
            year = values["reported_at"].astimezone(SHANGHAI).year
            while values["number"] is None or values["number"] in numbers:
                values["number"] = numbering.next_case_number(session, kind, year)
        numbers.add(values["number"])
        batch.append((row, values, given))
        if len(batch) >= batch_size:
            imported += _write(session, batch, before, actor, source, now, rejected)
            batch, numbers = [], set()
    imported += _write(session, batch, before, actor, source, now, rejected)
    return {"imported": imported, "rejected": rejected.first(), "rejected_count": rejected.count}


def _repeat(number: str) -> str:
    return f"编号 {number} 与本文件前面的行重复 / number {number!r} repeats an earlier row"


def _write(
    session: Session,
    batch: list[tuple[int, dict[str, Any], bool]],
    before: int,
    actor: Principal,
    source: str,
    now: datetime,
    rejected: "_Rejections",
) -> int:
    """Insert one batch: drop rows whose given number is taken, then the cases, then history."""
    given = [values["number"] for _, values, is_given in batch if is_given]
    taken: dict[str, int] = {}
    if given:
        found = session.execute(select(CASES.c.number, CASES.c.id).where(CASES.c.number.in_(given)))
        taken = {number: case_id for number, case_id in found}
    keep = []
    for row, values, is_given in batch:
        number = values["number"]
        if is_given and number in taken:
            error = (
                _repeat(number)
                if taken[number] > before
                else f"编号 {number} 已存在 / number {number!r} already exists"
            )
            rejected.add(row, error)
        else:
            keep.append((row, values))
    if not keep:
        return 0
    stmt = insert(CASES).returning(CASES.c.id, sort_by_parameter_order=True)
    ids = session.execute(stmt, [values for _, values in keep]).scalars().all()
    entries = [
        {
            "case_id": case_id,
            "seq": 1,
            "action": "import",
            "from_state": None,
            "to_state": values["state"],
            "actor_id": actor.id,
            "actor": actor.display_name,
            "at": now,
            "note": None,
            "data": {"source": source, "row": row},
            # The ledger's values (closed_at: the close or cancellation time) for "as of T".
            "due_at": values["due_at"],
            "dispatched_at": values["dispatched_at"],
            "closed_at": values["closed_at"] or values["cancelled_at"],
            "listed": values["listed"],
            "unit_code": values["unit_code"],
        }
        for case_id, (row, values) in zip(ids, keep, strict=True)
    ]
    session.execute(insert(HISTORY), entries)
    return len(keep)


class _Rejections:
    """The first `cap` rejections by row number (rows of a batch are judged out of order when
    their numbers are checked), and how many there were in all."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.count = 0
        self._heap: list[tuple[int, str]] = []  # (-row, error): the largest row is on top

    def add(self, row: int, error: str) -> None:
        self.count += 1
        if len(self._heap) < self.cap:
            heapq.heappush(self._heap, (-row, error))
        elif self._heap and row < -self._heap[0][0]:
            heapq.heapreplace(self._heap, (-row, error))

    def first(self) -> list[Rejection]:
        return [{"row": -r, "error": e} for r, e in sorted(self._heap, reverse=True)]


class _Lookups:
    """The organisation and the calendar, loaded once per import."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.settings = settings
        self.cal: WorkCalendar = deadlines.load_calendar(session, settings)
        self.categories = {c.code: c for c in session.execute(select(Category)).scalars()}
        grids = session.execute(
            select(col(Region.code), col(Region.path)).where(col(Region.level) == RegionLevel.grid)
        )
        self.grids: dict[str, str] = {code: path for code, path in grids}
        self.units = set(session.execute(select(col(Unit.code))).scalars())
        self._due: dict[tuple[date, int], tuple[datetime, bool]] = {}

    def due_after(self, at: datetime, days: int) -> tuple[datetime, bool]:
        key = (self.cal.local_date(at), days)
        if key not in self._due:
            self._due[key] = self.cal.due_after(at, days)
        return self._due[key]


def _check(raw: Mapping[str, Cell], lk: _Lookups, now: datetime) -> dict[str, Any]:
    """The row's case as column values for the insert, or _RowError naming every problem."""
    bad: list[str] = []
    v: dict[str, Any] = dict(_FIXED, updated_at=now, number=_text(raw.get("number")))
    if v["number"] is not None and len(v["number"]) > 40:
        bad.append(f"编号超过 40 个字符 / number {v['number']!r} is longer than 40 characters")
    v["kind"] = kind = _lower(raw.get("kind"))
    if kind not in KINDS:
        bad.append(f"类型必须是 event 或 hazard / kind must be event or hazard, not {kind!r}")
    v["title"] = _text(raw.get("title")) or ""
    if not v["title"] or len(v["title"]) > 200:
        bad.append("标题为空或超过 200 字 / title must be 1 to 200 characters")
    v["category_code"] = code = _text(raw.get("category_code"))
    category = lk.categories.get(code or "")
    if category is None:
        bad.append(f"类别 {code} 不存在 / category_code {code!r} does not exist")
    elif category.parent_code is None:
        bad.append(f"类别 {code} 是大类 / category_code {code!r} is a class (大类); use an item")
        category = None
    v["grid_code"] = grid = _text(raw.get("grid_code"))
    v["region_path"] = path = lk.grids.get(grid or "")
    if path is None:
        bad.append(f"网格 {grid} 不存在 / grid_code {grid!r} is not a grid")
    else:
        v["street_code"], v["community_code"] = street_and_community(path)
    v["grade"] = grade = _lower(raw.get("grade"))
    if kind == CaseKind.hazard and grade not in (Grade.general, Grade.major):
        bad.append(
            f"隐患等级必须是 general 或 major / grade must be general or major, not {grade!r}"
        )
    if kind == CaseKind.event and grade is not None:
        bad.append(f"事件没有等级 / an event has no grade: leave grade empty, not {grade!r}")
    v["state"] = state = _lower(raw.get("state"))
    if state not in STATES:
        bad.append(f"状态 {state} 无效 / state must be one of {', '.join(STATES)}, not {state!r}")
    times: dict[str, datetime | None] = {}
    for column in ("reported_at", "dispatched_at", "due_at", "closed_at"):
        try:
            times[column] = _time(raw.get(column), column, end_of_day=column == "due_at")
        except _RowError as exc:
            bad.append(str(exc))
    if "reported_at" in times and times["reported_at"] is None:
        bad.append("上报时间不能为空 / reported_at is empty")
    v["unit_code"] = _text(raw.get("unit_code"))
    if state in STATES:
        _state_rules(v, CaseState(state), times, category, lk, now, bad)
    if bad:
        raise _RowError("; ".join(bad))
    assert category is not None
    _deadlines(v, CaseState(v["state"]), times, category, lk, now)
    return v


def _state_rules(
    v: dict[str, Any],
    state: CaseState,
    times: dict[str, datetime | None],
    category: Category | None,
    lk: _Lookups,
    now: datetime,
    bad: list[str],
) -> None:
    """What the ledger's state requires of the times and the unit (an absent key in `times` is a
    time that did not parse, already reported)."""
    reported, dispatched = times.get("reported_at"), times.get("dispatched_at")
    due, closed = times.get("due_at"), times.get("closed_at")
    if state in NEVER_DISPATCHED:
        given = [c for c in ("dispatched_at", "due_at") if times.get(c)]
        given += ["unit_code"] if v["unit_code"] else []
        if given:
            names = ", ".join(given)
            bad.append(f"{state} 案件未派遣，{names} 应为空 / a {state} case was never dispatched: "
                       f"leave {names} empty")  # fmt: skip
    elif "dispatched_at" in times and dispatched is None:
        bad.append(f"{state} 状态需要派遣时间 / state {state} needs dispatched_at")
    if state == CaseState.closed and "closed_at" in times and closed is None:
        bad.append("closed 状态需要结案时间 / state closed needs closed_at")
    if state not in (CaseState.closed, CaseState.cancelled) and closed is not None:
        bad.append(f"{state} 案件未结案 / a {state} case has no closed_at: leave it empty")
    for column in ("reported_at", "dispatched_at", "closed_at"):
        at = times.get(column)
        if at is not None and at > now:
            bad.append(f"{column} 晚于现在 / {column} {at.isoformat()} is in the future")
    if reported and dispatched and dispatched < reported:
        bad.append("派遣时间早于上报时间 / dispatched_at is before reported_at")
    start = dispatched or reported
    if closed and start and closed < start:
        what = "dispatched_at" if dispatched else "reported_at"
        bad.append(
            f"结案时间早于{'派遣' if dispatched else '上报'}时间 / closed_at is before {what}"
        )
    if dispatched and due and due <= dispatched:
        bad.append("整改期限不晚于派遣时间 / due_at is not after dispatched_at")
    if state not in DISPATCHED or category is None:
        return
    v["unit_code"] = unit = v["unit_code"] or category.unit_code
    if unit is None:
        bad.append(f"请填写处置单位 / state {state} needs unit_code: category {category.code} "
                   "names no default unit")  # fmt: skip
    elif unit not in lk.units:
        bad.append(f"处置单位 {unit} 不存在 / unit_code {unit!r} does not exist")


def _deadlines(
    v: dict[str, Any],
    state: CaseState,
    times: dict[str, datetime | None],
    category: Category,
    lk: _Lookups,
    now: datetime,
) -> None:
    """The times as stored, with the deadlines the ledger leaves out computed as dispatch would."""
    dispatched, due, closed = times["dispatched_at"], times["due_at"], times["closed_at"]
    v["reported_at"], v["dispatched_at"] = times["reported_at"], dispatched
    if dispatched is not None:
        if due is None:
            days = deadlines.rectification_limit(category, lk.settings)
            due, v["due_estimated"] = lk.due_after(dispatched, days)
        else:
            v["due_estimated"] = not lk.cal.knows(lk.cal.local_date(due))
        hours = category.sign_hours or lk.settings.default_sign_hours
        v["sign_due_at"] = lk.cal.add_working_hours(dispatched, hours)
        v["deadline_version"] = 1
        v["listed"] = v["grade"] == Grade.major
    v["due_at"] = due
    v["signed_at"] = dispatched if state in SIGNED else None
    v["suspended_at"] = now if state == CaseState.suspended else None
    v["closed_at"] = closed if state == CaseState.closed else None
    v["cancelled_at"] = closed if state == CaseState.cancelled else None


def _text(value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value.strip() or None


def _lower(value: Cell) -> str | None:
    text = _text(value)
    return text.lower() if text else None


def _time(value: Cell, column: str, *, end_of_day: bool = False) -> datetime | None:
    """ISO 8601 text or a spreadsheet date; without an offset it is Asia/Shanghai. A date alone
    is the start of that day, or its end (23:59:59) for a deadline."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                raise _RowError(
                    f"{column} 不是 ISO 8601 时间 / {column} {text!r} is not an ISO 8601 time "
                    "such as 2025-09-30T10:00:00+08:00 or 2025-09-30 10:00"
                ) from None
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, END_OF_DAY if end_of_day else time(0))
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
