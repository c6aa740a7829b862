"""Warnings before the breach (时限预警): notices at fractions of the time allowed.

`warn_at = [0.5, 0.75]` in the policy's [ladder] (or a [[rule]]; `warn_at = []` switches them
off) warns the handler's unit when half and three quarters of the time allowed have passed,
besides due_soon ("one working day before").

The time allowed runs from the dispatch (Case.dispatched_at, the latest dispatch) to the current
deadline (Case.due_at, as extended or moved by a suspension), measured in office time: the hours
from work_start to work_end (09:00–18:00) of the calendar's working days, as signing deadlines
are. Fraction f is reached at the moment when f of those office hours have passed — so a warning
falls in working hours. A warning fires only while the clock runs and the deadline has not passed
(the letters take over after it), once per (case, deadline version, level) by the escalation
claims; a new deadline version (extension, suspension, reopening) warns afresh. When a run finds
several fractions reached at once (a sweep missed, an imported case), only the highest notifies;
the lower ones are claimed as superseded, as lower letter levels are.

Levels are named "warn_" + the percentage ("warn_50", "warn_75"; 0.125 → "warn_12_5").
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from closeloop.calendar.days import WorkCalendar
from closeloop.text import Msg, local_minute
from models.case import Case
from notifications import outbox

PREFIX = "warn_"


def level_of(fraction: float) -> str:
    return PREFIX + f"{fraction * 100:g}".replace(".", "_")


def is_warn(level: str) -> bool:
    return level.startswith(PREFIX)


def fraction_of(level: str) -> float:
    return float(level[len(PREFIX) :].replace("_", ".")) / 100


def parse_warn_at(value: Any, *, where: str) -> tuple[float, ...] | tuple[str, str]:
    """The fractions of `warn_at`, or (zh, en) saying what is wrong with it."""
    if not isinstance(value, list):
        return (
            f"{where} 的 warn_at 必须是 0 与 1 之间的比例列表，如 [0.5, 0.75]（[] 表示关闭）",
            f"{where}: warn_at must be a list of fractions between 0 and 1 such as "
            f"[0.5, 0.75] ([] switches warnings off), got {value!r}",
        )
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
            return (
                f"{where} 的 warn_at 中的 {v!r} 无效：每个比例必须大于 0 且小于 1",
                f"{where}: warn_at value {v!r} is not a fraction strictly between 0 and 1",
            )
    levels = [level_of(float(v)) for v in value]
    if len(set(levels)) != len(levels):
        return (
            f"{where} 的 warn_at 有重复的比例",
            f"{where}: warn_at lists a fraction twice: {value!r}",
        )
    if list(value) != sorted(value):
        return (
            f"{where} 的 warn_at 必须按从小到大排列",
            f"{where}: warn_at must be in ascending order, got {value!r}",
        )
    return tuple(float(v) for v in value)


def office_time(cal: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """Office time (work_start–work_end of working days) between two moments."""
    total = timedelta()
    a, b = start.astimezone(cal.tz), end.astimezone(cal.tz)
    day = a.date()
    while day <= b.date():
        if cal.is_workday(day):
            opens = datetime.combine(day, cal.work_start, tzinfo=cal.tz)
            closes = datetime.combine(day, cal.work_end, tzinfo=cal.tz)
            lo, hi = max(a, opens), min(b, closes)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def warn_times(
    cal: WorkCalendar, dispatched_at: datetime, due_at: datetime, fractions: Sequence[float]
) -> list[tuple[str, datetime]]:
    """(level, moment) of each fraction of the time allowed."""
    allowed = office_time(cal, dispatched_at, due_at)
    if allowed <= timedelta():
        return []
    hours = allowed.total_seconds() / 3600
    return [(level_of(f), cal.add_working_hours(dispatched_at, hours * f)) for f in fractions]


def warn_levels(
    *,
    fractions: Sequence[float],
    dispatched_at: datetime | None,
    due_at: datetime | None,
    cal: WorkCalendar,
    now: datetime,
) -> list[str]:
    """The warning levels reached at `now` (the caller checks the clock runs, now ≤ due_at)."""
    if not fractions or dispatched_at is None or due_at is None or now > due_at:
        return []
    return [lv for lv, at in warn_times(cal, dispatched_at, due_at, fractions) if at <= now]


def notify(
    session: Session, *, case: Case, deadline_version: int, level: str, now: datetime
) -> None:
    """The warning to the handler's unit (like due_soon: email, robot, its handlers in-app)."""
    if not case.unit_code:
        return
    pct = f"{fraction_of(level) * 100:g}%"
    when = local_minute(case.due_at)
    name = Msg(f"时限预警（已用 {pct}）", f"Time warning ({pct} used)")
    outbox.notify_unit(
        session,
        unit_code=case.unit_code,
        event=level,
        subject=Msg(f"{name:zh}：{case.number}", f"{name:en}: {case.number}"),
        body=Msg(
            f"{name:zh}：{case.number}「{case.title}」的办理时限已用去 {pct}，期限 {when}。",
            f"{name:en}: case {case.number} has used {pct} of its time; deadline {when} "
            "(Asia/Shanghai).",
        ),
        now=now,
        key=f"esc:{case.id}:v{deadline_version}:{level}",
        case_id=case.id,
        payload={"level": level, "case_number": case.number, "deadline_version": deadline_version},
    )
