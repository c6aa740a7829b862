"""The working-day calendar: Chinese statutory holidays and make-up working days (调休).

The statutory calendar comes from the `chinesecalendar` package for every year it knows; admins add
overrides (a bureau's local day off, or next year's State Council notice before the package has it).
Overrides win. A date in a year that neither knows is judged on plain weekdays and reported as
estimated, never refused.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as cc_constants

from closeloop.text import Msg
from models.types import SHANGHAI

END_OF_DAY = time(23, 59, 59)


def _package_years() -> frozenset[int]:
    return frozenset(d.year for d in cc_constants.holidays) | frozenset(
        d.year for d in cc_constants.workdays
    )


PACKAGE_YEARS = _package_years()
_CHINESE = {h.value: h.chinese for h in cc_constants.Holiday}


@dataclass(frozen=True)
class DayRun:
    """Consecutive days that share a name: a holiday break, or one make-up working day (调休)."""

    start: date
    end: date
    name: Msg

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def runs(named: Iterable[tuple[date, Msg]]) -> list[DayRun]:
    """Named days grouped into runs of consecutive days with the same name, in date order."""
    out: list[DayRun] = []
    for day, name in sorted(named, key=lambda item: item[0]):
        last = out[-1] if out else None
        if last and last.name == name and day == last.end + timedelta(days=1):
            out[-1] = DayRun(last.start, day, name)
        else:
            out.append(DayRun(day, day, name))
    return out


def statutory(year: int) -> tuple[list[DayRun], list[DayRun]]:
    """The package's holidays (breaks, weekends inside them included) and make-up working days
    of `year`, named in both languages; two empty lists for a year it does not know."""

    def name(english: str) -> Msg:
        return Msg(_CHINESE.get(english, english), english)

    holidays = [(d, name(n)) for d, n in cc_constants.holidays.items() if d.year == year]
    workdays = [(d, name(n)) for d, n in cc_constants.workdays.items() if d.year == year]
    return runs(holidays), [DayRun(d, d, n) for d, n in sorted(workdays, key=lambda i: i[0])]


@lru_cache(maxsize=8192)
def _statutory_workday(day: date) -> bool:
    if day.year in PACKAGE_YEARS:
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


@dataclass(frozen=True)
class WorkCalendar:
    overrides: Mapping[date, bool] = field(default_factory=dict)
    tz: ZoneInfo = SHANGHAI
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)

    @property
    def known_years(self) -> frozenset[int]:
        """Years with a statutory calendar: the package's, plus years an admin has entered."""
        return PACKAGE_YEARS | frozenset(d.year for d in self.overrides)

    def knows(self, day: date) -> bool:
        return day.year in self.known_years

    def estimated_years(self, deadlines: Iterable[datetime | None]) -> list[int]:
        """The years, in order, of the deadlines that fall in a year the calendar does not know:
        such a deadline was (or would be) counted on plain weekdays, because that year's holidays
        and make-up days are neither in the package nor entered by an admin."""
        known = self.known_years
        years = {self.local_date(d).year for d in deadlines if d is not None}
        return sorted(years - known)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _statutory_workday(day)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz)

    def add_working_days(self, start: date, days: int) -> tuple[date, bool]:
        """The `days`-th working day after `start` (not counting `start`), and whether any
        day on the way lay in a year the calendar does not know (then: plain weekdays)."""
        if days < 0:
            raise ValueError("days must not be negative")
        estimated = False
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            estimated = estimated or not self.knows(day)
            if self.is_workday(day):
                counted += 1
        return day, estimated

    def due_after(self, at: datetime, days: int) -> tuple[datetime, bool]:
        """'N working days from t': 23:59:59 local on the Nth working day after t's local date."""
        day, estimated = self.add_working_days(self.local_date(at), days)
        return self.end_of_day(day), estimated

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (0 when end <= start). Counted from each year's
        running totals (built once per calendar and year), not day by day: the dashboard and
        escalation ask it for every open case."""
        if end <= start:
            return 0
        count = self._through(end) - self._through(start)
        for year in range(start.year, end.year):
            count += self._year_totals(year)[-1]
        return count

    def _through(self, day: date) -> int:
        """Working days from 1 January of `day`'s year through `day`."""
        return self._year_totals(day.year)[day.timetuple().tm_yday - 1]

    def _year_totals(self, year: int) -> list[int]:
        """Running count of working days of `year`, one entry per day from 1 January."""
        cache: dict[int, list[int]] = self.__dict__.setdefault("_totals", {})
        totals = cache.get(year)
        if totals is None:
            totals, count, day = [], 0, date(year, 1, 1)
            while day.year == year:
                count += self.is_workday(day)
                totals.append(count)
                day += timedelta(days=1)
            cache[year] = totals
        return totals

    def add_working_hours(self, at: datetime, hours: float) -> datetime:
        """`hours` of office time (work_start–work_end on working days) after `at`."""
        remaining = timedelta(hours=hours)
        local = at.astimezone(self.tz)
        while True:
            day = local.date()
            opens = datetime.combine(day, self.work_start, tzinfo=self.tz)
            closes = datetime.combine(day, self.work_end, tzinfo=self.tz)
            if self.is_workday(day) and local < closes:
                start = max(local, opens)
                available = closes - start
                if remaining <= available:
                    return start + remaining
                remaining -= available
            next_day = day + timedelta(days=1)
            local = datetime.combine(next_day, self.work_start, tzinfo=self.tz)
