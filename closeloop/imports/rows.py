"""One ledger row: checked against the organisation and turned into the column values of its
case, or refused with every problem it has.

What a ledger does not say is decided like this: the deadline is the category's working-day limit
counted from dispatch; the signing deadline likewise; `signed_at` is `dispatched_at` for
rectifying and later states (the ledger has no signing time); a suspended case is suspended from
the import on (`suspended_at = now`), so a later resume counts the pause from there; a verifying
case carries no verification deadline; a cancelled case's `closed_at` is its `cancelled_at`.
The deadlines are computed by the same rule as a dispatch (cases.deadlines.dispatch_deadlines),
and a major hazard is listed as a dispatch lists it (cases.listing).
"""

from collections.abc import Mapping
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from closeloop.calendar.days import END_OF_DAY, SHANGHAI, WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.cases import deadlines, listing
from closeloop.cases.service import street_and_community
from closeloop.config import Settings
from closeloop.imports.files import Cell
from closeloop.text import Msg
from models.enums import CaseKind, CaseState, Grade, RegionLevel
from models.org import Category, Region, Unit

KINDS = (CaseKind.event.value, CaseKind.hazard.value)
STATES = tuple(s.value for s in CaseState)
STATE_OF = {s.value: s for s in CaseState}  # CaseState(text) without the Enum call's cost
DISPATCHED = (*CaseState.dispatched_states(), CaseState.closed)
SIGNED = (CaseState.rectifying, CaseState.suspended, CaseState.verifying, CaseState.closed)
NEVER_DISPATCHED = (CaseState.reported, CaseState.cancelled)
# Columns a ledger does not carry, as an imported case has them (the rest are set per row).
_FIXED: dict[str, Any] = dict.fromkeys(
    (
        "street_code",
        "community_code",
        "lat",
        "lon",
        "reporter_id",
        "sign_due_at",
        "submitted_at",
        "verify_due_at",
        "merged_into_id",
    ),
) | {
    "description": "",
    "address": "",
    "urgent": False,
    "deadline_version": 0,
    "due_estimated": False,
    "listed": False,
    "rework_count": 0,
    "version": 1,
}


class RowError(Exception):
    """A row refused, with every problem it has; the API and the command line show each
    problem in both languages ("中文 / English; 中文 / English")."""

    def __init__(self, problems: list[Msg]) -> None:
        super().__init__(problems)
        self.problems = problems

    def both(self) -> str:
        return "; ".join(p.both() for p in self.problems)

    def __str__(self) -> str:
        return self.both()


class _ImportCalendar(WorkCalendar):
    """The calendar as loaded, remembering what an import asks of it many times over (the
    overrides do not change during an import):
    - its known years, which WorkCalendar derives from the overrides on each call;
    - the signing deadline (add_working_hours) of a time outside office hours, by (local date,
      before opening or not, hours): before opening, office time counts from that day's opening,
      and after closing or on a day off from the next working day's opening, whatever the time.
      A time within office hours is worked out as it comes."""

    @cached_property
    def known_years(self) -> frozenset[int]:  # type: ignore[override]
        return super().known_years

    @cached_property
    def _memo(self) -> "_Memo":
        return _Memo(self.work_start.replace(tzinfo=None), self.work_end.replace(tzinfo=None))

    def add_working_hours(self, at: datetime, hours: float) -> datetime:
        memo = self._memo
        local = at.astimezone(self.tz)
        day = local.date()
        workday = memo.workday.get(day)
        if workday is None:
            workday = memo.workday[day] = self.is_workday(day)
        moment = local.time()
        if workday and moment < memo.closes:
            if moment >= memo.opens:
                return super().add_working_hours(at, hours)
            key = (day, True, hours)
        else:
            key = (day, False, hours)
        due = memo.sign.get(key)
        if due is None:
            due = memo.sign[key] = super().add_working_hours(at, hours)
        return due


class _Memo:
    def __init__(self, opens: time, closes: time) -> None:
        self.opens, self.closes = opens, closes
        self.workday: dict[date, bool] = {}
        self.sign: dict[tuple[date, bool, float], datetime] = {}


class Lookups:
    """The organisation and the calendar, loaded once per import, and the deadlines computed so
    far (many rows share a dispatch day)."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.settings = settings
        loaded = load_calendar(session, settings)
        self.cal: WorkCalendar = _ImportCalendar(
            overrides=loaded.overrides,
            tz=loaded.tz,
            work_start=loaded.work_start,
            work_end=loaded.work_end,
        )
        self.categories = {c.code: c for c in session.execute(select(Category)).scalars()}
        grids = session.execute(
            select(col(Region.code), col(Region.path)).where(col(Region.level) == RegionLevel.grid)
        )
        self.grids: dict[str, str] = {code: path for code, path in grids}
        self.places = {code: street_and_community(path) for code, path in self.grids.items()}
        self.units = set(session.execute(select(col(Unit.code))).scalars())
        self._due: dict[tuple[date, int], tuple[datetime, bool]] = {}

    def due_after(self, at: datetime, days: int) -> tuple[datetime, bool]:
        """cal.due_after, by (local date, days): the answer does not depend on the time of day."""
        key = (self.cal.local_date(at), days)
        if key not in self._due:
            self._due[key] = self.cal.due_after(at, days)
        return self._due[key]


def check(raw: Mapping[str, Cell], lk: Lookups, now: datetime) -> dict[str, Any]:
    """The row's case as column values for the insert, or RowError naming every problem."""
    bad: list[Msg] = []
    v: dict[str, Any] = dict(_FIXED, updated_at=now, number=_text(raw.get("number")))
    if v["number"] is not None and len(v["number"]) > 40:
        bad.append(
            Msg("编号超过 40 个字符", f"number {v['number']!r} is longer than 40 characters")
        )
    v["kind"] = kind = _lower(raw.get("kind"))
    if kind not in KINDS:
        bad.append(Msg("类型必须是 event 或 hazard", f"kind must be event or hazard, not {kind!r}"))
    v["title"] = _text(raw.get("title")) or ""
    if not v["title"] or len(v["title"]) > 200:
        bad.append(Msg("标题为空或超过 200 字", "title must be 1 to 200 characters"))
    v["category_code"] = code = _text(raw.get("category_code"))
    category = lk.categories.get(code or "")
    if category is None:
        bad.append(Msg(f"类别 {code} 不存在", f"category_code {code!r} does not exist"))
    elif category.parent_code is None:
        bad.append(
            Msg(f"类别 {code} 是大类", f"category_code {code!r} is a class (大类); use an item")
        )
        category = None
    v["grid_code"] = grid = _text(raw.get("grid_code"))
    v["region_path"] = path = lk.grids.get(grid or "")
    if path is None:
        bad.append(Msg(f"网格 {grid} 不存在", f"grid_code {grid!r} is not a grid"))
    else:
        v["street_code"], v["community_code"] = lk.places[grid or ""]
    v["grade"] = grade = _lower(raw.get("grade"))
    if kind == CaseKind.hazard and grade not in (Grade.general, Grade.major):
        bad.append(
            Msg("隐患等级必须是 general 或 major", f"grade must be general or major, not {grade!r}")
        )
    if kind == CaseKind.event and grade is not None:
        bad.append(Msg("事件没有等级", f"an event has no grade: leave grade empty, not {grade!r}"))
    v["state"] = state = _lower(raw.get("state"))
    if state not in STATES:
        bad.append(
            Msg(f"状态 {state} 无效", f"state must be one of {', '.join(STATES)}, not {state!r}")
        )
    times: dict[str, datetime | None] = {}
    for column in ("reported_at", "dispatched_at", "due_at", "closed_at"):
        try:
            times[column] = _time(raw.get(column), column, end_of_day=column == "due_at")
        except RowError as exc:
            bad.extend(exc.problems)
    if "reported_at" in times and times["reported_at"] is None:
        bad.append(Msg("上报时间不能为空", "reported_at is empty"))
    v["unit_code"] = _text(raw.get("unit_code"))
    if state in STATES:
        _state_rules(v, STATE_OF[state], times, category, lk, now, bad)
    if bad:
        raise RowError(bad)
    assert category is not None
    _deadlines(v, STATE_OF[v["state"]], times, category, lk, now)
    return v


def _state_rules(
    v: dict[str, Any],
    state: CaseState,
    times: dict[str, datetime | None],
    category: Category | None,
    lk: Lookups,
    now: datetime,
    bad: list[Msg],
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
            bad.append(
                Msg(
                    f"{state} 案件未派遣，{names} 应为空",
                    f"a {state} case was never dispatched: leave {names} empty",
                )
            )
    elif "dispatched_at" in times and dispatched is None:
        bad.append(Msg(f"{state} 状态需要派遣时间", f"state {state} needs dispatched_at"))
    if state == CaseState.closed and "closed_at" in times and closed is None:
        bad.append(Msg("closed 状态需要结案时间", "state closed needs closed_at"))
    if state not in CaseState.closed_states() and closed is not None:
        bad.append(Msg(f"{state} 案件未结案", f"a {state} case has no closed_at: leave it empty"))
    for column in ("reported_at", "dispatched_at", "closed_at"):
        at = times.get(column)
        if at is not None and at > now:
            bad.append(Msg(f"{column} 晚于现在", f"{column} {at.isoformat()} is in the future"))
    if reported and dispatched and dispatched < reported:
        bad.append(Msg("派遣时间早于上报时间", "dispatched_at is before reported_at"))
    start = dispatched or reported
    if closed and start and closed < start:
        what = "dispatched_at" if dispatched else "reported_at"
        bad.append(
            Msg(
                f"结案时间早于{'派遣' if dispatched else '上报'}时间", f"closed_at is before {what}"
            )
        )
    if dispatched and due and due <= dispatched:
        bad.append(Msg("整改期限不晚于派遣时间", "due_at is not after dispatched_at"))
    if state not in DISPATCHED or category is None:
        return
    v["unit_code"] = unit = v["unit_code"] or category.unit_code
    if unit is None:
        bad.append(
            Msg(
                "请填写处置单位",
                f"state {state} needs unit_code: category {category.code} names no default unit",
            )
        )
    elif unit not in lk.units:
        bad.append(Msg(f"处置单位 {unit} 不存在", f"unit_code {unit!r} does not exist"))


def _deadlines(
    v: dict[str, Any],
    state: CaseState,
    times: dict[str, datetime | None],
    category: Category,
    lk: Lookups,
    now: datetime,
) -> None:
    """The times as stored, with the deadlines the ledger leaves out computed as dispatch would."""
    dispatched, due, closed = times["dispatched_at"], times["due_at"], times["closed_at"]
    v["reported_at"], v["dispatched_at"] = times["reported_at"], dispatched
    if dispatched is not None:
        d = deadlines.dispatch_deadlines(
            at=dispatched,
            cal=lk.cal,
            category=category,
            settings=lk.settings,
            due_at=due,
            due_after=lk.due_after,
        )
        due, v["due_estimated"], v["sign_due_at"] = d.due_at, d.due_estimated, d.sign_due_at
        v["deadline_version"] = 1
        v["listed"] = listing.listed_for_itself(v["kind"], v["grade"])
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
        parsed: date | None = None
        if len(text) <= 10:  # every form date.fromisoformat reads; a longer text is a time
            try:
                parsed = date.fromisoformat(text)
            except ValueError:
                pass
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise RowError(
                    [
                        Msg(
                            f"{column} 不是 ISO 8601 时间",
                            f"{column} {text!r} is not an ISO 8601 time "
                            "such as 2025-09-30T10:00:00+08:00 or 2025-09-30 10:00",
                        )
                    ]
                ) from None
        value = parsed
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, END_OF_DAY if end_of_day else time(0))
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
