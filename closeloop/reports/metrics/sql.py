"""SQL building blocks the metrics share: local dates, the working-day ordinal, exact ratios.

Timestamps are stored in UTC; leadership counts days in Asia/Shanghai, so a date in SQL is the
Shanghai date of a timestamp — `date(ts, '+8 hours')` on SQLite (stored as naive UTC text),
`(ts AT TIME ZONE 'Asia/Shanghai')::date` on PostgreSQL. China has had no daylight saving time
since 1991, so a fixed offset is exact on SQLite.
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Boolean, Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from closeloop.calendar.days import WorkCalendar

RATE_PLACES = Decimal("0.0001")  # rates in the API: 0.9793
FIGURE_PLACES = Decimal("0.01")  # scores and working days: 95.17


class local_date(FunctionElement[date]):  # noqa: N801 - reads like the SQL function it is
    """The Asia/Shanghai calendar date of a UTC timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(local_date)
def _local_date_default(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


class not_indexed(FunctionElement[Any]):  # noqa: N801 - reads like the SQL it is
    """A column's value that SQLite's planner may not answer from an index (`+column`, its
    documented way): a condition on it stays a filter. PostgreSQL: the column itself."""

    inherit_cache = True

    def __init__(self, expr: Any) -> None:
        super().__init__(expr)
        self.type = expr.type


@compiles(not_indexed, "sqlite")
def _not_indexed_sqlite(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(not_indexed)
def _not_indexed_default(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


class on_sqlite(FunctionElement[bool]):  # noqa: N801 - reads like the condition it stands for
    """One condition written two ways, the same rows either way: `sqlite` on SQLite, `other`
    elsewhere — for a condition whose best form for one planner is a scan for the other."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition: in WHERE as it is, not compared to 1

    def __init__(self, sqlite: Any, other: Any) -> None:
        super().__init__(sqlite, other)


@compiles(on_sqlite, "sqlite")
def _on_sqlite_sqlite(element: on_sqlite, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses.clauses[0], **kw)})"


@compiles(on_sqlite)
def _on_sqlite_default(element: on_sqlite, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses.clauses[1], **kw)})"


def workday_ordinals(cal: WorkCalendar, first: date, last: date) -> dict[date, int]:
    """day → n for the days from `first` to `last`: n = working days from `first` up to and
    including `day`, so the working days from a dispatch day to a close day are n(close) −
    n(dispatch) (0 the same day; Friday → Monday is 1). From the same calendar that sets
    deadlines, overrides included."""
    ordinals: dict[date, int] = {}
    n = 0
    day = first
    while day <= last:
        if cal.is_workday(day):
            n += 1
        ordinals[day] = n
        day += timedelta(days=1)
    return ordinals


def ratio(numerator: int, denominator: int, places: Decimal = RATE_PLACES) -> float | None:
    """numerator / denominator rounded half up; None when there is no denominator (an empty
    group has no rate: it is neither 0% nor 100%)."""
    if denominator <= 0:
        return None
    return float((Decimal(numerator) / Decimal(denominator)).quantize(places, ROUND_HALF_UP))


def rounded(value: float | Decimal | None, places: Decimal = FIGURE_PLACES) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(places, ROUND_HALF_UP))
