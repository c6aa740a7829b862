"""Text in two languages, and the formats every reader sees (the labels are in `labels.py`).

A message is a `Msg(zh, en)` value from where it is written to where it is read: the API shows
both (`"中文 / English"` in a problem's `detail`), pages, notices and documents render the
reader's language. A Msg interpolated into a Msg keeps the languages apart: write
`Msg(f"{what:zh}不在…", f"{what:en} is outside …")` or `TEMPLATE.format(what=what)`; a Msg in an
f-string without `:zh` / `:en` is refused (TypeError), so "案件 X / case X不在…" cannot recur.

Times are shown in Shanghai local time: `local_minute` (2026-11-30 09:05), `local_day`
(2026-11-30), and the Chinese forms documents use: `cn_date` (2026年11月30日), `cn_time`
(2026年11月30日 09:05) and `moment` (a day's end as 2026年11月30日24时).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from models.types import SHANGHAI

LANGS = ("zh", "en")
DASH = "—"


@dataclass(frozen=True)
class Msg:
    """A sentence in Chinese and in English."""

    zh: str
    en: str

    def render(self, lang: str) -> str:
        """The reader's language (Chinese unless the reader asked for English)."""
        return self.en if lang == "en" else self.zh

    def both(self) -> str:
        """ "中文 / English", as the API's problem detail and the command line show it."""
        return self.zh if self.zh == self.en else f"{self.zh} / {self.en}"

    def stacked(self) -> str:
        """Chinese above English with a blank line between: a notice's body as email, webhook
        and the in-app list show it (one language when both read the same)."""
        return self.zh if self.zh == self.en else f"{self.zh}\n\n{self.en}"

    def __str__(self) -> str:
        return self.both()

    def __format__(self, spec: str) -> str:
        if spec in LANGS:
            return self.zh if spec == "zh" else self.en
        raise TypeError(f"a Msg in a format string needs :zh or :en, not {spec!r}: {self.both()}")

    def format(self, **values: Any) -> "Msg":
        """Fill `{name}` fields in both languages; a Msg value gives each language its own half."""
        return Msg(
            self.zh.format(**{k: _half(v, "zh") for k, v in values.items()}),
            self.en.format(**{k: _half(v, "en") for k, v in values.items()}),
        )

    def __add__(self, other: "Msg") -> "Msg":
        return Msg(self.zh + other.zh, self.en + other.en)

    @staticmethod
    def same(text: str) -> "Msg":
        """Text that reads the same in both languages (a number, a code)."""
        return Msg(text, text)

    @staticmethod
    def join(parts: Iterable["Msg"], zh_sep: str = "；", en_sep: str = "; ") -> "Msg":
        items = list(parts)
        return Msg(zh_sep.join(p.zh for p in items), en_sep.join(p.en for p in items))


def _half(value: Any, lang: str) -> Any:
    return value.render(lang) if isinstance(value, Msg) else value


def render(text: "Msg | str", lang: str) -> str:
    """A Msg in the reader's language; a plain text (one language only) as it is."""
    return text.render(lang) if isinstance(text, Msg) else text


# --- Shanghai local time ------------------------------------------------------------------


def local(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)


def local_minute(at: datetime | None) -> str:
    """2026-11-30 09:05 (Shanghai), or — when there is no time."""
    return local(at).strftime("%Y-%m-%d %H:%M") if at else DASH


def local_day(at: datetime | None) -> str:
    """2026-11-30 (Shanghai), or — when there is no time."""
    return local(at).strftime("%Y-%m-%d") if at else DASH


def local_year(at: datetime) -> int:
    return local(at).year


def cn_date(day: date | datetime | None) -> str:
    """2026年11月30日 (the Shanghai date; Arabic numerals as GB/T 9704 asks), or —."""
    if day is None:
        return DASH
    if isinstance(day, datetime):
        day = local(day).date()
    return f"{day.year}年{day.month}月{day.day}日"


def cn_month(day: date) -> str:
    """2026年11月."""
    return f"{day.year}年{day.month}月"


def cn_time(at: datetime) -> str:
    """2026年11月30日 09:05 (Shanghai)."""
    at = local(at)
    return f"{cn_date(at)} {at:%H:%M}"


def moment(at: datetime) -> str:
    """A report time as documents state it, in Shanghai time: the midnight that ends a day is
    that day's 24时 (2026年10月31日24时), any other time is given to the minute."""
    at = local(at)
    if (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0):
        return f"{cn_date(at.date() - timedelta(days=1))}24时"
    return cn_time(at)
