"""Quiet hours (免打扰): a notice written outside working time waits for the next working morning.

The one place the rule applies is where outbox messages are written (outbox._message calls
`hold_until`): an email or webhook message about a case (or a letter) written in quiet time gets
`next_attempt_at` = the next working morning, so delivery sends it then. Not held:

- in-app messages: they are a list the reader opens, they push nothing, so they show at once;
- messages about an urgent case or an emergency (Case.urgent, Case.emergency) and every message
  of event "emergency";
- messages about no case and no letter (nothing routine to wait for);
- cases a policy rule exempts (`quiet = false` for a kind, category or grade).

Quiet time is every hour of a non-working day of the calendar, and on a working day the hours
before `end` (09:00) and from `start` (18:00). The morning is `end` of the next working day (or of
today, before `end` on a working day), Asia/Shanghai.

The settings live in the escalation policy file (closeloop/escalation_default.toml or the file
CLOSELOOP_ESCALATION_POLICY names): a `[quiet_hours]` table (enabled, start, end) and `quiet` in
[[rule]] tables. `parse` validates them (the escalation policy calls it at start-up and before
every run); `current` reads them for the outbox, cached per file and modification time.
"""

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlmodel import Session

from closeloop.calendar.days import WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.config import Settings, get_settings
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.case import Case
from models.enums import Channel
from models.org import Category

KEYS = ("enabled", "start", "end")
EMERGENCY_EVENT = "emergency"
DEFAULT_FILE = "escalation_default.toml"
_CALENDAR = "closeloop.quiet.calendar"


@dataclass(frozen=True)
class QuietRule:
    kind: str | None
    category: str | None
    grade: str | None
    quiet: bool


@dataclass(frozen=True)
class QuietHours:
    enabled: bool = True
    start: time = time(18, 0)
    end: time = time(9, 0)
    rules: tuple[QuietRule, ...] = ()

    def applies(
        self, *, kind: str, category: str | None, class_code: str | None, grade: str | None
    ) -> bool:
        """Whether quiet hours hold this case's notices (later rules override earlier ones)."""
        if not self.enabled:
            return False
        out = True
        for r in self.rules:
            if r.kind is not None and r.kind != kind:
                continue
            if r.grade is not None and r.grade != grade:
                continue
            if r.category is not None and r.category not in (category, class_code):
                continue
            out = r.quiet
        return out

    def is_quiet(self, at: datetime, cal: WorkCalendar) -> bool:
        local = at.astimezone(cal.tz)
        if not cal.is_workday(local.date()):
            return True
        return local.time() < self.end or local.time() >= self.start

    def morning(self, at: datetime, cal: WorkCalendar) -> datetime:
        """The next working morning at or after `at`: `end` of a working day."""
        local = at.astimezone(cal.tz)
        day: date = local.date()
        if not (cal.is_workday(day) and local.time() < self.end):
            day += timedelta(days=1)
            while not cal.is_workday(day):
                day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=cal.tz)


class QuietError(Invalid):
    """A [quiet_hours] table or a rule's `quiet` that cannot be used; names the key."""


def _err(source: str, zh: str, en: str) -> QuietError:
    return QuietError(Msg(f"升级策略 {source}：{zh}", f"escalation policy {source}: {en}"))


def _clock(source: str, key: str, value: Any) -> time:
    try:
        if not isinstance(value, str) or len(value) != 5:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        raise _err(
            source,
            f'[quiet_hours] 的 {key} 必须是 "HH:MM" 格式的时间，如 "18:00"',
            f'[quiet_hours]: {key} must be a time "HH:MM" such as "18:00", got {value!r}',
        ) from None


def parse(data: dict[str, Any], *, source: str) -> QuietHours:
    """The quiet hours of a parsed policy file; QuietError names the bad key."""
    raw = data.get("quiet_hours", {})
    if not isinstance(raw, dict):
        raise _err(source, "[quiet_hours] 必须是表", "[quiet_hours] must be a table")
    for key in raw:
        if key not in KEYS:
            raise _err(
                source,
                f"[quiet_hours] 未知的键 {key!r}，可用：{'、'.join(KEYS)}",
                f"[quiet_hours] unknown key {key!r}; known keys: {', '.join(KEYS)}",
            )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _err(
            source,
            "[quiet_hours] 的 enabled 必须是 true 或 false",
            f"[quiet_hours]: enabled must be true or false, got {enabled!r}",
        )
    start = _clock(source, "start", raw.get("start", "18:00"))
    end = _clock(source, "end", raw.get("end", "09:00"))
    if not end < start:
        raise _err(
            source,
            "[quiet_hours] 的 end（早上恢复发送）必须早于 start（晚上开始免打扰）",
            f"[quiet_hours]: end (the morning, {end:%H:%M}) must be before start (the evening, "
            f"{start:%H:%M})",
        )
    rules: list[QuietRule] = []
    raw_rules = data.get("rule", [])
    for number, rule in enumerate(raw_rules if isinstance(raw_rules, list) else [], start=1):
        if not isinstance(rule, dict) or "quiet" not in rule:
            continue
        if not isinstance(rule["quiet"], bool):
            raise _err(
                source,
                f"[[rule]] #{number} 的 quiet 必须是 true 或 false",
                f"[[rule]] #{number}: quiet must be true or false, got {rule['quiet']!r}",
            )
        rules.append(
            QuietRule(rule.get("kind"), rule.get("category"), rule.get("grade"), rule["quiet"])
        )
    return QuietHours(enabled=enabled, start=start, end=end, rules=tuple(rules))


_cache: dict[tuple[str, float], QuietHours] = {}


def current(settings: Settings | None = None) -> QuietHours:
    """The quiet hours of the policy file in force (the default file when none is named)."""
    settings = settings or get_settings()
    path = (settings.escalation_policy or "").strip()
    if not path:
        key = (DEFAULT_FILE, 0.0)
        if key not in _cache:
            text = resources.files("closeloop").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
            _cache[key] = parse(tomllib.loads(text), source=DEFAULT_FILE)
        return _cache[key]
    file = Path(path)
    stat = file.stat()
    key = (f"{file}:{stat.st_size}", float(stat.st_mtime_ns))
    if key not in _cache:
        text = file.read_text(encoding="utf-8")
        _cache[key] = parse(tomllib.loads(text), source=str(file))
    return _cache[key]


def hold_until(
    session: Session,
    *,
    now: datetime,
    channel: Channel | str,
    event: str,
    case_id: int | None,
    letter_id: int | None,
) -> datetime:
    """When a message written at `now` may first be sent: `now`, or the next working morning
    for a routine email or webhook notice written in quiet time (see the module's note)."""
    if channel == Channel.inapp or event == EMERGENCY_EVENT:
        return now
    if case_id is None and letter_id is None:
        return now
    quiet = current()
    if not quiet.enabled:
        return now
    cal = session.info.get(_CALENDAR)
    if cal is None:
        cal = session.info[_CALENDAR] = load_calendar(session)
    if not quiet.is_quiet(now, cal):
        return now
    case = session.get(Case, case_id) if case_id is not None else None
    if case is not None:
        if case.urgent or case.emergency:
            return now
        category = session.get(Category, case.category_code) if case.category_code else None
        if not quiet.applies(
            kind=str(case.kind),
            category=case.category_code,
            class_code=category.parent_code if category else None,
            grade=str(case.grade) if case.grade else None,
        ):
            return now
    return quiet.morning(now, cal)
