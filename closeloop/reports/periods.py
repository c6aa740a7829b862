"""Report periods: weekly "2025-W40" (ISO week, Monday–Sunday), monthly "2025-09", quarterly
"2025-Q3", and yearly "2024" (年度, on demand: the figures districts publish are annual). Dates are Asia/Shanghai calendar dates; a period covers start..end inclusive.

A scheduled run reports on the last *complete* period before `now`: on Monday 08:00 the week
that ended on Sunday, on the 1st the month before, on the first day of a quarter the quarter before.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from closeloop.errors import Invalid
from closeloop.text import Msg
from models.types import SHANGHAI

CADENCES = ("weekly", "monthly", "quarterly", "yearly")
CADENCE_NAME = {"weekly": "周报", "monthly": "月报", "quarterly": "季报", "yearly": "年报"}
EXAMPLE = {"weekly": "2025-W40", "monthly": "2025-09", "quarterly": "2025-Q3", "yearly": "2024"}
QUARTER_NAME = {1: "一", 2: "二", 3: "三", 4: "四"}
_PATTERN = {
    "weekly": re.compile(r"^(\d{4})-W(\d{1,2})$"),
    "monthly": re.compile(r"^(\d{4})-(\d{1,2})$"),
    "quarterly": re.compile(r"^(\d{4})-Q([1-4])$"),
    "yearly": re.compile(r"^(\d{4})()$"),
}


@dataclass(frozen=True)
class Period:
    cadence: str
    key: str  # the canonical string: 2025-W40, 2025-09, 2025-Q3
    start: date  # first day (Shanghai)
    end: date  # last day, inclusive

    @property
    def label(self) -> str:
        """2025年第40周 / 2025年9月 / 2025年第三季度."""
        if self.cadence == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}年第{week}周"
        if self.cadence == "monthly":
            return f"{self.start.year}年{self.start.month}月"
        if self.cadence == "yearly":
            return f"{self.start.year}年"
        return f"{self.start.year}年第{QUARTER_NAME[(self.start.month - 1) // 3 + 1]}季度"

    @property
    def start_at(self) -> datetime:
        """The period's first instant, in UTC."""
        return datetime.combine(self.start, time(0), SHANGHAI).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        """The instant just after the period (midnight after its last day), in UTC."""
        return datetime.combine(self.end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)


def check_cadence(cadence: str) -> str:
    if cadence not in CADENCES:
        raise Invalid(
            Msg(
                f"报告周期类型无效：{cadence!r}，可选 weekly（周报）、monthly（月报）、quarterly（季报）、"
                "yearly（年报）",
                f"invalid cadence {cadence!r}: use weekly, monthly, quarterly or yearly",
            )
        )
    return cadence


def parse(cadence: str, text: str) -> Period:
    """The period named by `text` for `cadence`; Invalid (422) with the expected form otherwise."""
    check_cadence(cadence)
    match = _PATTERN[cadence].match((text or "").strip())
    bad = Invalid(
        Msg(
            f"报告期无效：{text!r}，{CADENCE_NAME[cadence]}的报告期应写作 {EXAMPLE[cadence]}",
            f"invalid {cadence} period {text!r}: expected the form {EXAMPLE[cadence]}",
        )
    )
    if match is None:
        raise bad
    year, number = int(match.group(1)), int(match.group(2) or 1)
    if not 1900 <= year <= 2999:
        raise bad
    try:
        if cadence == "weekly":
            start = date.fromisocalendar(year, number, 1)
        elif cadence == "monthly":
            start = date(year, number, 1)
        else:
            start = date(year, 3 * (number - 1) + 1, 1)
    except ValueError:
        raise bad from None
    return containing(cadence, start)


def containing(cadence: str, day: date) -> Period:
    """The period of `cadence` that contains the Shanghai date `day`."""
    check_cadence(cadence)
    if cadence == "weekly":
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return Period(cadence, f"{year}-W{week:02d}", start, start + timedelta(days=6))
    if cadence == "monthly":
        start = day.replace(day=1)
        return Period(cadence, f"{start.year}-{start.month:02d}", start, _month_end(start, 1))
    if cadence == "yearly":
        start = day.replace(month=1, day=1)
        return Period(cadence, f"{day.year}", start, _month_end(start, 12))
    quarter = (day.month - 1) // 3 + 1
    start = date(day.year, 3 * (quarter - 1) + 1, 1)
    return Period(cadence, f"{day.year}-Q{quarter}", start, _month_end(start, 3))


def _month_end(start: date, months: int) -> date:
    month = start.month - 1 + months
    first_after = date(start.year + month // 12, month % 12 + 1, 1)
    return first_after - timedelta(days=1)


def previous(period: Period, n: int = 1) -> list[Period]:
    """The `n` periods before `period`, oldest first."""
    out: list[Period] = []
    current = period
    for _ in range(n):
        current = containing(period.cadence, current.start - timedelta(days=1))
        out.append(current)
    return out[::-1]


def last_complete(cadence: str, now: datetime) -> Period:
    """The period a scheduled run at `now` reports on: the last one that has fully ended."""
    today = now.astimezone(SHANGHAI).date()
    return previous(containing(cadence, today), 1)[0]


def closed(cadence: str, now: datetime, n: int) -> list[Period]:
    """The last `n` periods of `cadence` that have fully ended by `now`, newest first: the
    periods a report can be made for from the reports page (the open one is not among them)."""
    check_cadence(cadence)
    today = now.astimezone(SHANGHAI).date()
    return previous(containing(cadence, today), n)[::-1]
