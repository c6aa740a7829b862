"""Official letters: 提醒函 (reminder), 督办函 (supervision), 警示函 (warning).

`issue_letter` numbers the letter without gaps per issuing body, type and Shanghai year (the counter
row stays locked until the transaction ends, so a rolled-back letter gives its number back),
snapshots everything the document shows into `Letter.content`, opens the letter's own `letter`
case when the unit must reply, writes history on every case involved and puts a notice in the
outbox. Rendering reads the snapshot only (render.py), so a letter never changes.
`preview_letter` builds the same document through the same checks (draft.py: what a letter may
be about and what it says), writes nothing and draws no number. `withdraw_letter` (withdraw.py)
is the only change an issued letter takes.
"""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from closeloop.auth.policy import SYSTEM, Principal
from closeloop.calendar.days import SHANGHAI
from closeloop.cases import history, listing, numbering
from closeloop.config import Settings, get_settings
from closeloop.letters.case import common_region_path, open_letter_case
from closeloop.letters.draft import MAX_CASES, NEEDS_REPLY, Draft, draft, may_issue_about
from closeloop.letters.reads import get_letter, letter_public, list_letters
from closeloop.letters.render import PENDING_NUMBER, Wording, render_content, snapshot, word
from closeloop.letters.withdraw import withdraw_letter
from models.case import Case
from models.enums import EscalationLevel, HistoryAction, LetterType
from models.letter import Letter, LetterItem
from notifications import outbox

__all__ = [
    "MAX_CASES",
    "common_region_path",
    "get_letter",
    "issue_letter",
    "letter_public",
    "list_letters",
    "may_issue_about",
    "preview_letter",
    "withdraw_letter",
]

TYPE_CHAR = {LetterType.reminder: "提", LetterType.supervision: "督", LetterType.warning: "警"}


def letter_number(issuer: str, letter_type: LetterType, year: int, serial: int) -> str:
    """罗应急督〔2025〕12号"""
    return f"{issuer}{TYPE_CHAR[letter_type]}〔{year}〕{serial}号"


def preview_letter(
    session: Session,
    *,
    letter_type: LetterType,
    unit_code: str,
    case_ids: list[int],
    now: datetime,
    actor: Principal,
    reason: str | None = None,
    reply_due_at: datetime | date | None = None,
    settings: Settings | None = None,
) -> str:
    """The letter as it would be issued now (HTML), its number pending and marked 预览: the same
    checks as issuing, and nothing written, no number drawn, no row locked."""
    settings = settings or get_settings()
    d = draft(
        session,
        letter_type=letter_type,
        unit_code=unit_code,
        case_ids=case_ids,
        now=now,
        actor=actor,
        reply_due_at=reply_due_at,
        settings=settings,
        lock=False,
    )
    _, content = _compose(d, PENDING_NUMBER, now, reason, actor)
    if d.letter_type in NEEDS_REPLY:
        content["case_number"] = "签发时生成"
    content["preview"] = True
    return render_content(content)


def _compose(
    d: Draft, number: str, now: datetime, reason: str | None, by: Principal
) -> tuple[Wording, dict[str, Any]]:
    """The wording and the frozen content of the letter `d` numbered `number`: one path for the
    preview and the issued letter, so the preview shows exactly what would be issued."""
    wording = _word(d, number, now)
    content = snapshot(
        number,
        d.letter_type,
        wording,
        d.unit,
        d.rows,
        now,
        d.reply_due_at,
        reason,
        by,
        d.settings,
    )
    return wording, content


def _word(d: Draft, number: str, now: datetime) -> Wording:
    return word(
        d.letter_type,
        cases=d.cases,
        rows=d.rows,
        unit=d.unit,
        number=number,
        issuer_name=d.settings.issuer_name,
        now=now,
        reply_due_at=d.reply_due_at,
    )


def issue_letter(
    session: Session,
    *,
    letter_type: LetterType,
    unit_code: str,
    case_ids: list[int],
    now: datetime,
    actor: Principal | None,
    reason: str | None = None,
    settings: Settings | None = None,
    reply_due_at: datetime | date | None = None,
    locked: Mapping[int, Case] | None = None,
) -> Letter:
    """Issue one letter to `unit_code` about `case_ids` (actor None: the escalation flow);
    `reply_due_at`: the supervisor's chosen reply date (督办函, 警示函). `locked`: cases this
    transaction has already read FOR UPDATE (the escalation flow's unit locks its cases before
    it claims), taken as they stand in the session instead of being read again."""
    settings = settings or get_settings()
    d = draft(
        session,
        letter_type=letter_type,
        unit_code=unit_code,
        case_ids=case_ids,
        now=now,
        actor=actor,
        reply_due_at=reply_due_at,
        settings=settings,
        lock=True,
        locked=locked,
    )
    letter_type, unit, cases, cal = d.letter_type, d.unit, d.cases, d.cal
    reply_due_at = d.reply_due_at
    year = now.astimezone(SHANGHAI).year
    issuer = settings.issuer_short
    # The case rows are locked (in id order) before the serial: concurrent letters about the same
    # cases queue there, and each reads the letters committed before it.
    serial = numbering.next_value(session, f"letter:{issuer}:{letter_type}:{year}")
    number = letter_number(issuer, letter_type, year, serial)
    by = actor or SYSTEM
    wording, content = _compose(d, number, now, reason, by)
    letter = Letter(
        number=number,
        type=letter_type,
        issuer=issuer,
        year=year,
        serial=serial,
        unit_code=unit.code,
        title=wording.title,
        issued_at=now,
        reply_due_at=reply_due_at,
        issued_by=actor.id if actor else None,
        content=content,
    )
    session.add(letter)
    session.flush()
    assert letter.id is not None
    # The items in one statement (a ladder letter may cover hundreds of cases).
    session.execute(
        insert(LetterItem.__table__),  # type: ignore[attr-defined]
        [{"letter_id": letter.id, "case_id": case.id} for case in cases],
    )
    if letter_type in NEEDS_REPLY:
        assert reply_due_at is not None
        own = open_letter_case(
            session,
            letter,
            cases,
            wording,
            now=now,
            due_at=reply_due_at,
            by=by,
            cal=cal,
            settings=settings,
        )
        letter.case_id = own.id
        letter.content = {**letter.content, "case_number": own.number}
    marker = {"letter_id": letter.id, "number": number, "type": str(letter_type)}
    # Every case's "letter" entry at once (a ladder letter may cover hundreds of cases).
    history.append_many(
        session,
        cases=cases,
        action=HistoryAction.letter,
        actor=by,
        at=now,
        note=reason,
        data=marker,
    )
    for case in cases:
        # A 警示函 lists its cases (挂牌督办). The escalation flow lists (and counts) them itself;
        # a supervisor's hand-issued warning does it here, so the letter's words hold true.
        if letter_type == LetterType.warning and actor is not None:
            listing.list_for_supervision(
                session, case, actor=by, now=now, data={**marker, "level": EscalationLevel.warning}
            )
    outbox.notify_unit(
        session,
        unit_code=unit.code,
        event="letter",
        subject=f"{number} {wording.title}",
        body=wording.notice,
        now=now,
        key=f"letter:{letter.id}",
        letter_id=letter.id,
        case_id=letter.case_id,
        to_head=letter_type == LetterType.warning,
    )
    session.flush()
    return letter
