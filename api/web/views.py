"""Presentation helpers: names for codes, the "next step" line, the time-left label and a refused
input's message. No rules live here: states, deadlines and what is allowed come from the
services."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session, select

from api import validation
from closeloop.calendar import service as calendar
from closeloop.cases.queues import Counting, TimeLeft
from closeloop.cases.service import is_overdue
from closeloop.text import Msg
from models.case import CasePublic
from models.enums import Action, CaseState
from models.org import Category, Region, Unit


@dataclass
class Names:
    categories: dict[str, Category]
    units: dict[str, Unit]
    regions: dict[str, Region]

    @classmethod
    def load(cls, session: Session) -> "Names":
        return cls(
            {c.code: c for c in session.exec(select(Category))},
            {u.code: u for u in session.exec(select(Unit))},
            {r.code: r for r in session.exec(select(Region))},
        )

    def category(self, code: str | None) -> str:
        c = self.categories.get(code or "")
        if c is None:
            return code or "—"
        parent = self.categories.get(c.parent_code or "")
        return f"{parent.name} / {c.name}" if parent else c.name

    def unit(self, code: str | None) -> str:
        u = self.units.get(code or "")
        return u.name if u else (code or "—")

    def region(self, code: str | None) -> str:
        r = self.regions.get(code or "")
        return r.name if r else (code or "—")


# What each deadline a countdown may count is called (queues.running_deadline says which).
DEADLINE_LABEL: dict[str, str] = {
    Counting.sign: "f.sign_due_at",
    Counting.verify: "f.verify_due_at",
    Counting.reply: "letters.reply_due",
    Counting.rectify: "f.due_at",
}


def estimated_years(session: Session, cases: Iterable[CasePublic]) -> list[int]:
    """The years whose deadlines, among those the page shows for these cases, were computed on
    plain weekdays (the calendar does not know the year): the page flags each."""
    deadlines = [d for c in cases for d in (c.due_at, c.sign_due_at, c.verify_due_at)]
    return calendar.estimated_years(session, deadlines=deadlines)


def left_label(t: Callable[..., str], left: TimeLeft | None) -> str:
    if left is None:
        return "—"
    if left.overdue:
        return t("left.overdue", n=left.days) if left.days else t("left.overdue_today")
    return t("left.days", n=left.days) if left.days else t("left.today")


def next_step(
    t: Callable[..., str],
    case: CasePublic,
    names: Names,
    day: Callable[[datetime | None], str],
    now: datetime | None = None,
) -> str:
    """What happens next, in words, for the person looking at the case."""
    if case.state == CaseState.verifying and Action.approve in case.allowed_actions:
        return t("next.verify_me")
    if case.state == CaseState.dispatched:
        return t("next.dispatched", unit=names.unit(case.unit_code))
    if case.state == CaseState.rectifying:
        if now is not None and is_overdue(case, now):
            return t("next.rectifying_late", due=day(case.due_at))
        return t("next.rectifying", due=day(case.due_at))
    return t(f"next.{case.state}")


def validation_text(exc: Exception) -> Msg:
    """A model's refusal of what was typed, as one message naming each field and what it allows
    (api/validation.py, as the API says it)."""
    if isinstance(exc, ValidationError):
        return validation.describe_all(exc.errors())  # type: ignore[arg-type]
    return Msg("输入有误", f"invalid input: {exc}")
