"""Finding cases: the case list's filters, its order and its pages, in one place. The list page,
`GET /api/v1/cases`, its XLSX export and the dashboards all narrow cases here; jurisdiction is
applied first, then the filters (each checked: a place that is not of its level, a date range
that ends before it starts or an unknown order is refused with the field named)."""

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import DateTime, func, or_, type_coerce
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases.deadlines import overdue_clause
from closeloop.cases.lookup import connection, jurisdiction
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseKind, CaseState, Grade, RegionLevel
from models.org import Category, Region, Unit
from models.types import SHANGHAI, UTCDateTime

# What the list may be sorted by ("-" before it: latest first).
SORTS = ("reported_at", "due_at", "closed_at", "dispatched_at")
DATE_RANGES = {
    "reported": (Case.reported_at, Msg("上报时间", "reported")),
    "due": (Case.due_at, Msg("截止时间", "due")),
    "closed": (Case.closed_at, Msg("办结时间", "closed")),
}
PLACES = {
    "street_code": (RegionLevel.street, Msg("街道", "street")),
    "community_code": (RegionLevel.community, Msg("社区", "community")),
    "grid_code": (RegionLevel.grid, Msg("网格", "grid")),
}


@dataclass
class CaseFilter:
    """What the list is narrowed to; None (or empty) is "any". `state` is one state or several
    (any of them); dates are Shanghai days, both ends included."""

    state: CaseState | Sequence[CaseState] | None = None
    kind: CaseKind | None = None
    unit_code: str | None = None
    region_code: str | None = None
    overdue: bool | None = None
    q: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    category_code: str | None = None
    grade: Grade | None = None
    listed: bool | None = None
    urgent: bool | None = None
    reported_from: date | None = None
    reported_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    sort: str | None = None
    enterprise_code: str | None = None  # the enterprise or place the cases belong to

    def states(self) -> list[CaseState]:
        if self.state is None:
            return []
        if isinstance(self.state, str):
            return [CaseState(self.state)]
        return [CaseState(s) for s in self.state]


def day_start(day: date) -> datetime:
    """The first instant of a Shanghai day."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _region(session: Session, field: str, code: str, level: RegionLevel | None, what: Msg) -> str:
    region = session.get(Region, code)
    if region is None or (level is not None and region.level != level):
        raise Invalid(
            Msg(
                f"{what:zh}（{field}）{code} 不存在",
                f"{field} {code!r} is not a {what:en}"
                if level
                else f"{field} {code!r} does not exist",
            )
        )
    return region.path


def _category(session: Session, code: str) -> Any:
    category = session.get(Category, code)
    if category is None:
        raise Invalid(
            Msg(f"类别（category_code）{code} 不存在", f"category_code {code!r} does not exist")
        )
    if category.parent_code is not None:
        return col(Case.category_code) == code
    # A class (大类) matches its own items (小类).
    items = select(Category.code).where(Category.parent_code == code)
    return or_(col(Case.category_code) == code, col(Case.category_code).in_(items))


def order_by(sort: str | None, overdue: bool | None) -> list[Any]:
    """The ORDER BY of the list: `sort` ("due_at", "-closed_at", ...), or newest first (an
    overdue list: the earliest deadline first). Cases without that date come last; the id
    breaks ties the same way, so pages never overlap."""
    if not sort:
        if overdue:
            return [col(Case.due_at), col(Case.id)]
        return [col(Case.reported_at).desc(), col(Case.id).desc()]
    name = sort.strip()
    descending = name.startswith("-")
    name = name.lstrip("-")
    if name not in SORTS:
        allowed = ", ".join(f"{s}, -{s}" for s in SORTS)
        raise Invalid(
            Msg(
                f"排序（sort）{sort} 无效，可选：{allowed}",
                f"sort {sort!r} is not one of: {allowed}",
            )
        )
    column = col(getattr(Case, name))
    if descending:
        return [column.desc().nulls_last(), col(Case.id).desc()]
    return [column.asc().nulls_last(), col(Case.id)]


def _dates(stmt: Any, filters: CaseFilter) -> Any:
    for name, (column, what) in DATE_RANGES.items():
        start: date | None = getattr(filters, f"{name}_from")
        end: date | None = getattr(filters, f"{name}_to")
        if start and end and end < start:
            raise Invalid(
                Msg(
                    f"{what:zh}的结束日期（{name}_to {end}）早于开始日期（{name}_from {start}）",
                    f"{name}_to {end} is before {name}_from {start}",
                )
            )
        if start:
            stmt = stmt.where(col(column) >= day_start(start))
        if end:
            stmt = stmt.where(col(column) < day_start(end + timedelta(days=1)))
    return stmt


def require_unit(session: Session, code: str) -> None:
    """The unit filter's check: a unit that does not exist is refused (422), not an empty list."""
    if session.get(Unit, code) is None:
        raise Invalid(
            Msg(f"处置单位（unit_code）{code} 不存在", f"unit_code {code!r} does not exist")
        )


def filtered(
    session: Session,
    *,
    actor: Principal,
    filters: CaseFilter,
    now: datetime,
    check_unit: bool = True,
) -> Any:
    """SELECT Case … narrowed to `actor`'s jurisdiction, then to `filters`; unordered.
    `check_unit=False`: the caller checks the unit filter's code itself (require_unit)."""
    stmt = jurisdiction(select(Case), actor)
    states = filters.states()
    if len(states) == 1:
        stmt = stmt.where(Case.state == states[0])
    elif states:
        stmt = stmt.where(col(Case.state).in_(states))
    if filters.kind:
        stmt = stmt.where(Case.kind == filters.kind)
    if filters.grade:
        stmt = stmt.where(Case.grade == filters.grade)
    if filters.unit_code:
        if check_unit:
            require_unit(session, filters.unit_code)
        stmt = stmt.where(Case.unit_code == filters.unit_code)
    if filters.region_code:
        path = _region(session, "region_code", filters.region_code, None, Msg("区域", "region"))
        stmt = stmt.where(col(Case.region_path).startswith(path, autoescape=True))
    for field, (level, what) in PLACES.items():
        code = getattr(filters, field)
        if code:
            path = _region(session, field, code, level, what)
            stmt = stmt.where(col(Case.region_path).startswith(path, autoescape=True))
    if filters.category_code:
        stmt = stmt.where(_category(session, filters.category_code))
    if filters.enterprise_code:
        stmt = stmt.where(Case.enterprise_code == filters.enterprise_code)
    if filters.listed is not None:
        stmt = stmt.where(Case.listed == filters.listed)
    if filters.urgent is not None:
        stmt = stmt.where(Case.urgent == filters.urgent)
    if filters.overdue is not None:
        late = overdue_clause(now)
        stmt = stmt.where(late if filters.overdue else ~late | col(Case.due_at).is_(None))
    if filters.q and filters.q.strip():
        like = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            or_(
                col(Case.title).like(like),
                col(Case.number).like(like),
                col(Case.address).like(like),
                col(Case.description).like(like),
            )
        )
    return _dates(stmt, filters)


def search(
    session: Session, *, actor: Principal, filters: CaseFilter, now: datetime
) -> tuple[Any, list[Any]]:
    """The filtered SELECT and its ORDER BY, both checked (the order before any query runs)."""
    order = order_by(filters.sort, filters.overdue)
    return filtered(session, actor=actor, filters=filters, now=now), order


# The page's column holding the count of the whole list (find_page).
TOTAL = "_list_total"

# A row of a list page: the case table's columns, each an attribute as on Case, in a plain
# tuple. A SQLAlchemy Row's attribute costs ~1.5 µs to read (by name, through its key map) and
# a page of 50 reads ~2,000 of them (its answer, its allowed actions); a named tuple's costs a
# tenth of that, and making one from the row ~1 µs.
CaseRow = namedtuple("CaseRow", [c.name for c in Case.__table__.c])  # type: ignore[misc, attr-defined]


def find_page(
    session: Session,
    *,
    actor: Principal,
    filters: CaseFilter,
    page: int,
    page_size: int,
    now: datetime,
) -> tuple[list[Any], int]:
    """One page of the filtered cases, in order, and how many there are in all. The page's
    cases are plain rows of the case table (CaseRow: each column an attribute, as on Case), not
    ORM objects: a list only shows them, and building 50 tracked objects costs more than the
    query.

    One statement on the session's connection (Core: no ORM execution path): the page, with
    the count of the whole list as an uncorrelated scalar subquery beside its columns (the
    database runs it once, with the count's own plan), so a list is one round trip, not two.
    Only a page past the end (no rows) asks the count on its own. The unit filter's code is
    checked only when nothing matched: a case naming a unit proves the unit exists (a foreign
    key), so a list by unit does not pay a look-up of its own."""
    order = order_by(filters.sort, filters.overdue)
    stmt = filtered(session, actor=actor, filters=filters, now=now, check_unit=False)
    count = stmt.with_only_columns(func.count(), maintain_column_froms=True)
    total_of_list = count.scalar_subquery().correlate(None).label(TOTAL)
    conn = connection(session)
    columns = stmt.with_only_columns(*_page_columns(conn.dialect.name), total_of_list)
    page_of = columns.order_by(*order).offset((page - 1) * page_size).limit(page_size)
    found = conn.execute(page_of).all()  # fetchall: one driver call, not one per row
    if found:
        total = found[0][-1]
    else:
        total = 0 if page == 1 else conn.execute(count).scalar_one()
    if not total and filters.unit_code:
        require_unit(session, filters.unit_code)
    return [CaseRow._make(row[:-1]) for row in found], int(total)


@cache
def _page_columns(dialect: str) -> tuple[Any, ...]:
    """The case table's columns as a page reads them. PostgreSQL's driver gives a timestamptz
    as an aware datetime already, which UTCDateTime would only move to UTC (two Python calls a
    value: ~700 a page): the page takes them as they come, the same instants (an answer shows
    them in Shanghai time, a rule compares them). SQLite's come naive: UTCDateTime makes them
    aware."""
    table = Case.__table__  # type: ignore[attr-defined]
    if dialect != "postgresql":
        return tuple(table.c)
    aware = DateTime(timezone=True)
    return tuple(
        type_coerce(c, aware).label(c.name) if isinstance(c.type, UTCDateTime) else c
        for c in table.c
    )
