"""The calendar and the dispatch deadlines as an import asks for them, many times over:
- `_ImportCalendar` is the calendar as loaded, remembering its known years and the signing
  deadline of a time outside office hours;
- `DispatchMemo` remembers the dispatch deadlines (cases.deadlines.dispatch_deadlines, the one
  rule) of a dispatch outside office hours without a given deadline, which depend on its day
  and category, not on its time of day.
"""

from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property

from closeloop.calendar.days import WorkCalendar
from closeloop.cases import deadlines
from closeloop.config import Settings
from models.org import Category

# dispatch_deadlines' answer as an import keeps it: (due_at, due_estimated, sign_due_at).
Deadlines = tuple[datetime, bool, datetime]


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
        return _Memo(self)

    def add_working_hours(self, at: datetime, hours: float) -> datetime:
        slot = self._memo.slot(at.astimezone(self.tz))
        if slot is None:
            return super().add_working_hours(at, hours)
        key = (*slot, hours)
        due = self._memo.sign.get(key)
        if due is None:
            due = self._memo.sign[key] = super().add_working_hours(at, hours)
        return due


class _Memo:
    """A calendar's office hours and working days as an import asks for them."""

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self.opens = cal.work_start.replace(tzinfo=None)
        self.closes = cal.work_end.replace(tzinfo=None)
        self.workday: dict[date, bool] = {}
        self.sign: dict[tuple[date, bool, float], datetime] = {}

    def slot(self, local: datetime) -> tuple[date, bool] | None:
        """(local date, before opening) of a local time outside office hours (before opening
        on a working day: True; after closing or on a day off: False); None within them."""
        day = local.date()
        workday = self.workday.get(day)
        if workday is None:
            workday = self.workday[day] = self.cal.is_workday(day)
        if workday and (moment := local.time()) < self.closes:
            return None if moment >= self.opens else (day, True)
        return day, False


class DispatchMemo:
    """dispatch_deadlines for an import's dispatches without a given deadline, remembered by
    (category, local date, before opening or not) for a dispatch outside office hours: then
    the deadline counts working days from the local date and the signing time starts at an
    opening, whatever the time of day. Other dispatches are worked out as they come."""

    def __init__(
        self,
        cal: WorkCalendar,
        settings: Settings,
        due_after: Callable[[datetime, int], tuple[datetime, bool]],
    ) -> None:
        self.cal, self.settings, self.due_after = cal, settings, due_after
        self.slots = _Memo(cal)
        self.known: dict[tuple[str, date, bool], Deadlines] = {}

    def deadlines(self, at: datetime, category: Category, due: datetime | None) -> Deadlines:
        key = None
        if due is None:
            slot = self.slots.slot(at.astimezone(self.cal.tz))
            if slot is not None:
                key = (category.code, *slot)
                known = self.known.get(key)
                if known is not None:
                    return known
        d = deadlines.dispatch_deadlines(
            at=at,
            cal=self.cal,
            category=category,
            settings=self.settings,
            due_at=due,
            due_after=self.due_after,
        )
        answer = (d.due_at, d.due_estimated, d.sign_due_at)
        if key is not None:
            self.known[key] = answer
        return answer
