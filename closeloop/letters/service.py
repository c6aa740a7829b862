"""Official letters: 提醒函 (reminder), 督办函 (supervision), 警示函 (warning).

`issue_letter` numbers the letter without gaps per issuing body, type and Shanghai year (the counter
row stays locked until the transaction ends, so a rolled-back letter gives its number back),
snapshots everything the document shows into `Letter.content`, opens the letter's own `letter`
case when the unit must reply, writes history on every case involved and puts a notice in the
outbox. Rendering reads the snapshot only (letter_render.py), so a letter never changes.
`preview_letter` builds the same document through the same checks, writes nothing and draws no
number. `withdraw_letter` (letter_withdraw.py) is the only change an issued letter takes.

What a letter may be about: open events, hazards and letter cases a unit holds whose clock runs
(dispatched or rectifying). A suspended case (clock stopped by approval) or one submitted for
verification (the unit has answered) is refused: a letter about it would say something untrue.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import SYSTEM, Principal
from closeloop.calendar.days import SHANGHAI, WorkCalendar
from closeloop.cases import deadlines, history
from closeloop.config import Settings, get_settings
from closeloop.errors import Invalid
from closeloop.letters import numbering
from closeloop.letters.case import common_region_path, open_letter_case
from closeloop.letters.reads import (
    earlier_letters,
    get_letter,
    letter_public,
    list_letters,
)
from closeloop.letters.render import (
    PENDING_NUMBER,
    Wording,
    case_rows,
    render_content,
    snapshot,
    word,
)
from closeloop.letters.withdraw import withdraw_letter
from closeloop.text import Msg
from models.case import Case, CasePublic
from models.enums import CaseKind, CaseState, EscalationLevel, LetterType, Role
from models.letter import MAX_LETTER_CASES, Letter, LetterItem
from models.org import Unit
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
NEEDS_REPLY = (LetterType.supervision, LetterType.warning)
MAX_CASES = MAX_LETTER_CASES
MAX_REPLY_AHEAD = timedelta(days=366)  # a chosen reply date further away is a typo


def letter_number(issuer: str, letter_type: LetterType, year: int, serial: int) -> str:
    """罗应急督〔2025〕12号"""
    return f"{issuer}{TYPE_CHAR[letter_type]}〔{year}〕{serial}号"


@dataclass
class _Draft:
    """Everything a letter says except its number, decided from the facts at `now`."""

    letter_type: LetterType
    unit: Unit
    cases: list[Case]
    rows: list[dict[str, Any]]
    reply_due_at: datetime | None
    cal: WorkCalendar
    settings: Settings


def _draft(
    session: Session,
    *,
    letter_type: LetterType,
    unit_code: str,
    case_ids: list[int],
    now: datetime,
    actor: Principal | None,
    reply_due_at: datetime | date | None,
    settings: Settings,
    lock: bool,
) -> _Draft:
    letter_type = LetterType(letter_type)
    if actor is not None:
        policy.require_role(actor, Role.supervisor)
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise Invalid(Msg(f"处置单位 {unit_code} 不存在", f"unit_code {unit_code!r} does not exist"))
    cases = _load_cases(session, actor=actor, unit=unit, case_ids=case_ids, lock=lock)
    cal = deadlines.load_calendar(session, settings)
    ids = [c.id for c in cases if c.id is not None]
    rows = case_rows(
        session, cases, now=now, cal=cal, earlier=earlier_letters(session, ids, now=now)
    )
    reply = _reply_due(letter_type, cases, now=now, cal=cal, chosen=reply_due_at, settings=settings)
    return _Draft(letter_type, unit, cases, rows, reply, cal, settings)


def _reply_due(
    letter_type: LetterType,
    cases: list[Case],
    *,
    now: datetime,
    cal: WorkCalendar,
    chosen: datetime | date | None,
    settings: Settings,
) -> datetime | None:
    """The reply date: the supervisor's choice (any future time, even before a case's deadline);
    otherwise the usual reply period, but never before the deadline of a covered case that is not
    yet due (the unit is not asked to report before it had the time it was given)."""
    if letter_type not in NEEDS_REPLY:
        if chosen is not None:
            raise Invalid(
                Msg("提醒函无需书面反馈，不能指定反馈期限", "a reminder asks for no reply: "
                "reply_due_at applies to supervision and warning letters only")
            )
        return None
    if chosen is not None:
        try:
            if isinstance(chosen, datetime):
                at = chosen if chosen.tzinfo else chosen.replace(tzinfo=SHANGHAI)
            else:
                at = cal.end_of_day(chosen)
            ok = now < at <= now + MAX_REPLY_AHEAD
        except (OverflowError, ValueError):
            ok = False
        if not ok:
            raise Invalid(
                Msg("反馈期限须晚于当前时间，且不超过一年", "reply_due_at must be in the future and "
                "within a year")
            )
        return at
    usual = cal.due_after(now, settings.letter_reply_days)[0]
    ahead = [c.due_at for c in cases if c.due_at is not None and c.due_at >= now]
    return max([usual, *ahead])


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
    d = _draft(
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
    d: _Draft, number: str, now: datetime, reason: str | None, by: Principal
) -> tuple[Wording, dict[str, Any]]:
    """The wording and the frozen content of the letter `d` numbered `number`: one path for the
    preview and the issued letter, so the preview shows exactly what would be issued."""
    wording = _word(d, number, now)
    content = snapshot(
        number, d.letter_type, wording, d.unit, d.rows, now, d.reply_due_at, reason, by,
        d.settings,
    )  # fmt: skip
    return wording, content


def _word(d: _Draft, number: str, now: datetime) -> Wording:
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
) -> Letter:
    """Issue one letter to `unit_code` about `case_ids` (actor None: the escalation flow);
    `reply_due_at`: the supervisor's chosen reply date (督办函, 警示函)."""
    settings = settings or get_settings()
    d = _draft(
        session,
        letter_type=letter_type,
        unit_code=unit_code,
        case_ids=case_ids,
        now=now,
        actor=actor,
        reply_due_at=reply_due_at,
        settings=settings,
        lock=True,
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
    for case in cases:
        session.add(LetterItem(letter_id=letter.id, case_id=case.id or 0))
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
    for case in cases:
        history.append(
            session,
            case=case,
            action="letter",
            actor=by,
            at=now,
            from_state=case.state,
            to_state=case.state,
            note=reason,
            data=marker,
        )
        # A 警示函 lists its cases (挂牌督办). The escalation flow lists (and counts) them itself;
        # a supervisor's hand-issued warning does it here, so the letter's words hold true.
        if letter_type == LetterType.warning and actor is not None and not case.listed:
            case.listed = True
            case.updated_at = now
            history.append(
                session,
                case=case,
                action="list",
                actor=by,
                at=now,
                from_state=case.state,
                to_state=case.state,
                note="挂牌督办",
                data={**marker, "level": EscalationLevel.warning},
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


def may_issue_about(actor: Principal, case: Case | CasePublic) -> bool:
    """Whether `actor` may issue a letter by hand about `case` now: a supervisor (issue_letter's
    role rule), about an event or hazard held by a unit (_load_cases' state rule)."""
    return (
        actor.role == Role.supervisor
        and case.kind != CaseKind.letter
        and case.unit_code is not None
        and case.state in CaseState.clock_running_states()
    )


def _load_cases(
    session: Session, *, actor: Principal | None, unit: Unit, case_ids: list[int], lock: bool
) -> list[Case]:
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise Invalid(Msg("请至少选择一件案件", "case_ids must name at least one case"))
    if len(ids) > MAX_CASES:
        raise Invalid(Msg(f"一份函件最多涉及 {MAX_CASES} 件案件", f"at most {MAX_CASES} cases per letter"))
    # Lock the rows (in id order, so two issuers never deadlock): a concurrent action on one of
    # them waits for this letter, and the states checked below are the latest committed ones.
    stmt = select(Case).where(col(Case.id).in_(ids)).order_by(col(Case.id))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = {c.id: c for c in session.exec(stmt)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(Msg(f"案件 {missing} 不存在", f"case_ids {missing} do not exist"))
    cases = [found[i] for i in ids]
    if actor is not None:
        for case in cases:
            policy.require_visible(
                actor,
                unit_code=case.unit_code,
                region_path=case.region_path,
                reporter_id=case.reporter_id,
                what=Msg(f"案件 {case.number}", f"case {case.number}"),
            )
    for case in cases:
        if case.state in CaseState.closed_states():
            raise Invalid(
                Msg(f"案件 {case.number} 已{'办结' if case.state == CaseState.closed else '撤销'}，"
                "不能发函", f"case {case.number} is {case.state}; letters cover open cases only")
            )
        if case.state not in CaseState.dispatched_states() or case.unit_code != unit.code:
            raise Invalid(
                Msg(f"案件 {case.number} 未派遣给 {unit.name}", f"case {case.number} is not dispatched "
                f"to unit {unit.code} (state {case.state}, unit {case.unit_code or 'none'})")
            )
        if case.state == CaseState.suspended:
            raise Invalid(
                Msg(f"案件 {case.number} 已批准挂起，整改期限暂停计时，不能发函", f"case {case.number} "
                "is suspended (its clock is stopped); letters cover cases being rectified")
            )
        if case.state == CaseState.verifying:
            raise Invalid(
                Msg(f"案件 {case.number} 已提交整改、正待核查，不能发函", f"case {case.number} is "
                "submitted for verification; letters cover cases being rectified")
            )
    return cases
