"""What a letter says, and how it is drawn: the wording is decided once when the letter is issued
(and frozen into Letter.content); HTML and PDF are rendered from that snapshot only.

Templates live in closeloop/letters/templates/ (Jinja2, StrictUndefined, autoescaped).
"""

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment
from sqlmodel import Session, col, select

from closeloop import text
from closeloop.auth.policy import Principal
from closeloop.calendar.days import WorkCalendar
from closeloop.config import Settings
from closeloop.letters.wording import TYPE_NAME, Wording, cn_date, word
from closeloop.pdf import html_to_pdf
from closeloop.templating import document_env
from models.case import Case
from models.enums import LetterType
from models.letter import Letter
from models.org import Region, Unit

__all__ = ["TYPE_NAME", "Wording", "cn_date", "word", "case_rows", "snapshot", "render_html"]

PLACEHOLDER_CONTACTS = {"联系人：督办科，电话：0755-00000000"}  # an old default, never printed
PENDING_NUMBER = "文号待定"


def case_rows(
    session: Session,
    cases: list[Case],
    *,
    now: datetime,
    cal: WorkCalendar,
    earlier: dict[int, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """One row per case with the facts the wording follows: overdue (the deadline has passed;
    working days by the calendar) or not yet due, and the earlier letters about it."""
    earlier = earlier or {}
    grids = {c.grid_code for c in cases if c.grid_code}
    names = (
        {r.code: r.name for r in session.exec(select(Region).where(col(Region.code).in_(grids)))}
        if grids
        else {}
    )
    rows = []
    for i, case in enumerate(cases, start=1):
        late = case.due_at is not None and now > case.due_at
        overdue = 0
        if late and case.due_at is not None:
            overdue = cal.working_days_between(cal.local_date(case.due_at), cal.local_date(now))
        before = earlier.get(case.id or 0, [])
        rows.append(
            {
                "seq": i,
                "id": case.id,
                "number": case.number,
                "kind": str(case.kind),
                "title": case.title,
                "place": case.address or names.get(case.grid_code or "", "") or "—",
                "dispatched_at": _iso(case.dispatched_at),
                "dispatched_date": _day(case.dispatched_at),
                "due_at": _iso(case.due_at),
                "due_date": _day(case.due_at),
                "due_cn": cn_date(case.due_at) if case.due_at else "",
                "overdue": late,
                "days_overdue": overdue,
                "overdue_text": str(overdue) if late else "未到期",
                "earlier": before,
                "earlier_text": "、".join(f"{e['number']}（{e['date']}）" for e in before) or "—",
            }
        )
    return rows


def snapshot(
    number: str,
    letter_type: LetterType,
    wording: Wording,
    unit: Unit,
    rows: list[dict[str, Any]],
    now: datetime,
    reply_due_at: datetime | None,
    reason: str | None,
    by: Principal,
    settings: Settings,
) -> dict[str, Any]:
    return {
        "type": str(letter_type),
        "type_name": wording.type_name,
        "number": number,
        "title": wording.title,
        "issuer_name": settings.issuer_name,
        "issuer_short": settings.issuer_short,
        "contact": settings.issuer_contact,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "addressee": wording.addressee,
        "issued_at": now.isoformat(),
        "issued_date": cn_date(now),
        "reply_due_at": _iso(reply_due_at),
        "reply_due_date": cn_date(reply_due_at) if reply_due_at else None,
        "body": wording.body,
        "requirement": wording.requirement,
        "reason": (reason or "").strip() or None,
        "issued_by": by.display_name,
        "cases": rows,
        "case_number": None,
        "earlier_column": True,
        "preview": False,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _day(value: datetime | None) -> str:
    return text.local_day(value)


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = document_env("closeloop.letters")
    env.globals["LetterType"] = LetterType  # compare a letter's type by name, not by literal
    return env


def withdrawal_of(letter: Letter) -> dict[str, str] | None:
    """作废: what the document's mark says (from the letter's row; its content never changes)."""
    if letter.withdrawn_at is None:
        return None
    return {"date": cn_date(letter.withdrawn_at), "reason": letter.withdraw_reason or ""}


def render_content(content: dict[str, Any], withdrawal: dict[str, str] | None = None) -> str:
    """A letter's content (frozen, or a preview's) as a standalone HTML document."""
    contact = content.get("contact") or ""
    return (
        _env()
        .get_template("letter.html")
        .render(
            letter=content,
            contact="" if contact in PLACEHOLDER_CONTACTS else contact,
            preview=bool(content.get("preview")),
            withdrawal=withdrawal,
        )
    )


def render_html(letter: Letter) -> str:
    """The letter as a standalone HTML document, from its frozen content only (and its 作废
    mark, if it was withdrawn)."""
    return render_content(letter.content, withdrawal_of(letter))


def render_pdf(letter: Letter) -> bytes:
    """The letter as an A4 PDF (WeasyPrint), with its Chinese text embedded and extractable."""
    return html_to_pdf(render_html(letter))
