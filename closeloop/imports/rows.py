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
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from closeloop.calendar.days import END_OF_DAY, SHANGHAI, WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.cases import listing
from closeloop.cases.service import street_and_community
from closeloop.config import Settings
from closeloop.imports.calendar_memo import Deadlines, DispatchMemo, _ImportCalendar
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
CLOSED = frozenset(CaseState.closed_states())
TIMES = ("reported_at", "dispatched_at", "due_at", "closed_at")
MIDNIGHT = time(0)
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
        # The items (小类) a case may name, and each one's default unit, read once (an ORM
        # attribute costs a Python call per read).
        self.items = {c.code: c for c in self.categories.values() if c.parent_code is not None}
        self.default_unit = {code: c.unit_code for code, c in self.items.items()}
        grids = session.execute(
            select(col(Region.code), col(Region.path)).where(col(Region.level) == RegionLevel.grid)
        )
        # A grid's path, street and community.
        self.grids: dict[str, tuple[str, str | None, str | None]] = {
            code: (path, *street_and_community(path)) for code, path in grids
        }
        self.units = set(session.execute(select(col(Unit.code))).scalars())
        self._due: dict[tuple[date, int], tuple[datetime, bool]] = {}
        self._dispatch: DispatchMemo | None = None
        self._now: tuple[datetime, datetime] | None = None

    def due_after(self, at: datetime, days: int) -> tuple[datetime, bool]:
        """cal.due_after, by (local date, days): the answer does not depend on the time of day."""
        key = (self.cal.local_date(at), days)
        if key not in self._due:
            self._due[key] = self.cal.due_after(at, days)
        return self._due[key]

    def deadlines(self, at: datetime, category: Category, due: datetime | None) -> Deadlines:
        """dispatch_deadlines' (due_at, due_estimated, sign_due_at) of a dispatch at `at`."""
        if self._dispatch is None or self._dispatch.cal is not self.cal:
            self._dispatch = DispatchMemo(self.cal, self.settings, self.due_after)
        return self._dispatch.deadlines(at, category, due)

    def in_shanghai(self, now: datetime) -> datetime:
        """`now` in SHANGHAI, worked out once per import."""
        if self._now is None or self._now[0] is not now:
            self._now = (now, now.astimezone(SHANGHAI))
        return self._now[1]


def check(raw: Mapping[str, Cell], lk: Lookups, now: datetime) -> dict[str, Any]:
    """The row's case as column values for the insert, or RowError naming every problem."""
    bad: list[Msg] = []
    get = raw.get
    number = _text(get("number"))
    if number is not None and len(number) > 40:
        bad.append(Msg("编号超过 40 个字符", f"number {number!r} is longer than 40 characters"))
    kind = _lower(get("kind"))
    if kind not in KINDS:
        bad.append(Msg("类型必须是 event 或 hazard", f"kind must be event or hazard, not {kind!r}"))
    title = _text(get("title")) or ""
    if not title or len(title) > 200:
        bad.append(Msg("标题为空或超过 200 字", "title must be 1 to 200 characters"))
    code = _text(get("category_code"))
    category = lk.items.get(code or "")
    if category is None:
        bad.append(
            Msg(f"类别 {code} 是大类", f"category_code {code!r} is a class (大类); use an item")
            if code in lk.categories
            else Msg(f"类别 {code} 不存在", f"category_code {code!r} does not exist")
        )
    grid = _text(get("grid_code"))
    place = lk.grids.get(grid or "")
    if place is None:
        bad.append(Msg(f"网格 {grid} 不存在", f"grid_code {grid!r} is not a grid"))
    grade = _lower(get("grade"))
    if kind == CaseKind.hazard and grade not in (Grade.general, Grade.major):
        bad.append(
            Msg("隐患等级必须是 general 或 major", f"grade must be general or major, not {grade!r}")
        )
    if kind == CaseKind.event and grade is not None:
        bad.append(Msg("事件没有等级", f"an event has no grade: leave grade empty, not {grade!r}"))
    state = _lower(get("state"))
    if state not in STATES:
        bad.append(
            Msg(f"状态 {state} 无效", f"state must be one of {', '.join(STATES)}, not {state!r}")
        )
    times: dict[str, datetime | None] = {}
    local: dict[str, datetime | None] = {}  # the same in SHANGHAI (see _shanghai)
    for column in TIMES:
        try:
            at = _time(get(column), column, end_of_day=column == "due_at")
        except RowError as exc:
            bad.extend(exc.problems)
            continue
        times[column] = at
        local[column] = at if at is None or at.tzinfo is SHANGHAI else _shanghai(at)
    if "reported_at" in times and times["reported_at"] is None:
        bad.append(Msg("上报时间不能为空", "reported_at is empty"))
    unit = _text(get("unit_code"))
    if state in STATE_OF:
        unit = _state_rules(STATE_OF[state], unit, times, local, code, lk, now, bad)
    if bad:
        raise RowError(bad)
    assert category is not None and place is not None and state is not None
    v: dict[str, Any] = dict(
        _FIXED,
        updated_at=now,
        number=number,
        kind=kind,
        title=title,
        category_code=code,
        grid_code=grid,
        region_path=place[0],
        street_code=place[1],
        community_code=place[2],
        grade=grade,
        state=state,
        unit_code=unit,
    )
    _deadlines(v, STATE_OF[state], local, category, lk, now)
    return v


def _state_rules(
    state: CaseState,
    unit: str | None,
    times: dict[str, datetime | None],
    local: dict[str, datetime | None],
    category: str | None,
    lk: Lookups,
    now: datetime,
    bad: list[Msg],
) -> str | None:
    """What the ledger's state requires of the times and the unit (an absent key in `times` is a
    time that did not parse, already reported); returns the unit (the category's by default).
    The times are compared as `local` has them, in one zone (see _shanghai)."""
    reported, dispatched = local.get("reported_at"), local.get("dispatched_at")
    due, closed = local.get("due_at"), local.get("closed_at")
    if state in NEVER_DISPATCHED:
        given = [c for c in ("dispatched_at", "due_at") if times.get(c)]
        given += ["unit_code"] if unit else []
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
    if state not in CLOSED and closed is not None:
        bad.append(Msg(f"{state} 案件未结案", f"a {state} case has no closed_at: leave it empty"))
    latest = lk.in_shanghai(now)
    for column, at in (("reported_at", reported), ("dispatched_at", dispatched)):
        if at is not None and at > latest:
            bad.append(_future(column, times[column]))
    if closed is not None and closed > latest:
        bad.append(_future("closed_at", times["closed_at"]))
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
    if state not in DISPATCHED or category not in lk.items:
        return unit
    unit = unit or lk.default_unit[category or ""]
    if unit is None:
        bad.append(
            Msg(
                "请填写处置单位",
                f"state {state} needs unit_code: category {category} names no default unit",
            )
        )
    elif unit not in lk.units:
        bad.append(Msg(f"处置单位 {unit} 不存在", f"unit_code {unit!r} does not exist"))
    return unit


def _future(column: str, at: datetime | None) -> Msg:
    assert at is not None
    return Msg(f"{column} 晚于现在", f"{column} {at.isoformat()} is in the future")


def _deadlines(
    v: dict[str, Any],
    state: CaseState,
    times: dict[str, datetime | None],
    category: Category,
    lk: Lookups,
    now: datetime,
) -> None:
    """The times as stored (`times`: in SHANGHAI, the same instants as the ledger's), with the
    deadlines the ledger leaves out computed as dispatch would."""
    dispatched, due, closed = times["dispatched_at"], times["due_at"], times["closed_at"]
    v["reported_at"], v["dispatched_at"] = times["reported_at"], dispatched
    if dispatched is not None:
        due, v["due_estimated"], v["sign_due_at"] = lk.deadlines(dispatched, category, due)
        v["deadline_version"] = 1
        v["listed"] = listing.listed_for_itself(v["kind"], v["grade"])
    v["due_at"] = due
    v["signed_at"] = dispatched if state in SIGNED else None
    v["suspended_at"] = now if state == CaseState.suspended else None
    v["closed_at"] = closed if state == CaseState.closed else None
    v["cancelled_at"] = closed if state == CaseState.cancelled else None


def _text(value: Cell) -> str | None:
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value.strip() or None


def _lower(value: Cell) -> str | None:
    text = _text(value)
    return text.lower() if text else None


def _shanghai(at: datetime) -> datetime:
    """The same instant in SHANGHAI, the zone object itself: CPython compares two times of one
    zone object field by field (~0.1 us), two of different zones by asking each zone its offset
    (~1-2 us; measured, 3.11), and converts a time to its own zone at once. A time whose offset
    is Shanghai's at that wall time (+08:00, the usual one) keeps its fields (0.3 us instead of
    astimezone's 0.9)."""
    zone = at.tzinfo
    if zone is SHANGHAI or zone is None:
        return at
    if zone.utcoffset(at) == SHANGHAI.utcoffset(at):  # at.utcoffset(): 0.4 us more
        return datetime.combine(at, at.time(), SHANGHAI)
    return at.astimezone(SHANGHAI)


def _time(value: Cell, column: str, *, end_of_day: bool = False) -> datetime | None:
    """ISO 8601 text or a spreadsheet date; without an offset it is Asia/Shanghai. A date alone
    is the start of that day, or its end (23:59:59) for a deadline. (`combine(…, zone)` rather
    than `replace(tzinfo=zone)`: the same time, and ~0.3 us instead of ~2 us in CPython 3.11,
    which binds replace()'s keyword arguments slowly.)"""
    if type(value) is str:
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
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        return datetime.combine(value, value.time(), SHANGHAI)
    assert isinstance(value, date)
    return datetime.combine(value, END_OF_DAY if end_of_day else MIDNIGHT, SHANGHAI)
