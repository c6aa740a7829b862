"""The case list as a spreadsheet: exactly the cases the list shows for the same filters (every
page, the same order), one row each, with Chinese headers and names instead of codes.

Memory stays bounded however many rows there are: the rows are read in batches (a server-side
cursor on PostgreSQL) as plain columns and written straight into the compressed sheet
(closeloop.xlsx_stream); the names of places, units and categories are the only thing loaded
whole."""

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlmodel import Session, col, select

from closeloop import labels, xlsx_stream
from closeloop.auth.policy import Principal
from closeloop.cases import search
from closeloop.cases.deadlines import is_overdue
from closeloop.cases.search import CaseFilter
from models.case import Case
from models.enums import CaseKind, CaseState, Grade
from models.org import Category, Region, Unit
from models.types import SHANGHAI

BATCH = 2_000
HEADERS = [
    "案件编号",
    "类型",
    "状态",
    "标题",
    "类别",
    "街道",
    "社区",
    "网格",
    "地址",
    "处置单位",
    "等级",
    "紧急",
    "挂牌督办",
    "上报时间",
    "派遣时间",
    "截止时间",
    "办结时间",
    "是否超期",
    "返工次数",
]
WIDTHS = [18, 8, 8, 36, 28, 12, 14, 22, 30, 18, 12, 6, 8, 17, 17, 17, 17, 8, 8]
COLUMNS = (
    Case.number,
    Case.kind,
    Case.state,
    Case.title,
    Case.category_code,
    Case.street_code,
    Case.community_code,
    Case.grid_code,
    Case.address,
    Case.unit_code,
    Case.grade,
    Case.urgent,
    Case.listed,
    Case.reported_at,
    Case.dispatched_at,
    Case.due_at,
    Case.closed_at,
    Case.rework_count,
)


class Names:
    """Names for the codes a row holds, loaded once."""

    def __init__(self, session: Session) -> None:
        self.regions = {r.code: r.name for r in session.exec(select(Region))}
        self.units = {u.code: u.name for u in session.exec(select(Unit))}
        cats = {c.code: c for c in session.exec(select(Category))}
        self.categories = {
            code: (f"{cats[c.parent_code].name} / " if c.parent_code in cats else "") + c.name
            for code, c in cats.items()
        }

    @staticmethod
    def _named(names: dict[str, str], code: str | None, with_code: bool = False) -> str:
        if not code:
            return ""
        name = names.get(code)
        if name is None:
            return code
        return f"{name}（{code}）" if with_code else name

    def region(self, code: str | None, with_code: bool = False) -> str:
        return self._named(self.regions, code, with_code)

    def unit(self, code: str | None) -> str:
        return self._named(self.units, code)

    def category(self, code: str | None) -> str:
        return self._named(self.categories, code, with_code=True)


def local(value: datetime | None) -> datetime | None:
    """A time as Shanghai wall time to the minute (Excel has no time zones)."""
    if value is None:
        return None
    return value.astimezone(SHANGHAI).replace(tzinfo=None, second=0, microsecond=0)


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def row_of(r: Any, names: Names, now: datetime) -> list[Any]:
    """One case's cells, in HEADERS' order."""
    return [
        r.number,
        labels.KIND[CaseKind(r.kind)].zh,
        labels.STATE[CaseState(r.state)].zh,
        r.title,
        names.category(r.category_code),
        names.region(r.street_code),
        names.region(r.community_code),
        names.region(r.grid_code, with_code=True),
        r.address,
        names.unit(r.unit_code),
        labels.GRADE[Grade(r.grade)].zh if r.grade else "",
        _yes(r.urgent),
        _yes(r.listed),
        local(r.reported_at),
        local(r.dispatched_at),
        local(r.due_at),
        local(r.closed_at),
        _yes(is_overdue(r, now)),
        r.rework_count,
    ]


def rows(
    session: Session, *, actor: Principal, filters: CaseFilter, now: datetime
) -> Iterator[list[Any]]:
    """The filtered list's rows, every page, in the list's order, read BATCH at a time. The
    query is checked here, before the first row is asked for."""
    stmt, order = search.search(session, actor=actor, filters=filters, now=now)
    names = Names(session)
    stmt = stmt.with_only_columns(*(col(c) for c in COLUMNS)).order_by(*order)
    result = session.execute(stmt.execution_options(yield_per=BATCH))
    return (row_of(r, names, now) for r in result)


def write_xlsx(
    session: Session, *, actor: Principal, filters: CaseFilter, now: datetime, out: IO[bytes]
) -> int:
    """Write the filtered list as an XLSX workbook to `out`; returns the number of cases. Text
    cells are inline strings, so a title "=HYPERLINK(…)" stays text and is never run."""
    found = rows(session, actor=actor, filters=filters, now=now)
    return xlsx_stream.write(out, sheet="案件", headers=HEADERS, rows=found, widths=WIDTHS)
