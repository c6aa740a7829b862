"""Time is an input: services take `now`; the edges read it from a Clock."""

from datetime import UTC, date, datetime
from typing import Protocol

from closeloop.errors import Invalid
from closeloop.text import Msg
from models.types import SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests and for `--now`: it says what it is told."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**delta)


def parse_now(value: str | None, *, default: datetime) -> datetime:
    """`now` as a job takes it: ISO 8601; without an offset it is Asia/Shanghai time; None →
    `default`. Returns an aware datetime; a bad value raises Invalid (422 / exit 2)."""
    if value is None:
        return default
    text = value.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            Msg(
                f"now 不是有效的 ISO 8601 时间：{value!r}（例如 2025-10-09T10:00:00+08:00）",
                f"now is not a valid ISO 8601 time: {value!r} (e.g. 2025-10-09T10:00:00+08:00; "
                "without an offset it is Asia/Shanghai time)",
            )
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    return at


def local_today(now: datetime) -> date:
    """The Asia/Shanghai calendar date at `now`."""
    return now.astimezone(SHANGHAI).date()
