"""What a letter may be about, and everything it says but its number: the checks and the facts
that issuing and previewing share (closeloop.letters.service), so a preview refuses what issuing
would refuse and shows what it would say.

What a letter may be about: open events, hazards and letter cases a unit holds whose clock runs
(dispatched or rectifying). A suspended case (clock stopped by approval) or one submitted for
verification (the unit has answered) is refused: a letter about it would say something untrue.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.calendar.days import SHANGHAI, WorkCalendar
from closeloop.calendar.service import load_calendar
from closeloop.cases.service import require_visible
from closeloop.config import Settings
from closeloop.errors import Invalid
from closeloop.letters.reads import earlier_letters
from closeloop.letters.render import case_rows
from closeloop.text import Msg
from models.case import Case, CasePublic
from models.enums import CaseKind, CaseState, LetterType, Role
from models.letter import MAX_LETTER_CASES
from models.org import Unit

NEEDS_REPLY = (LetterType.supervision, LetterType.warning)
MAX_CASES = MAX_LETTER_CASES
MAX_REPLY_AHEAD = timedelta(days=366)  # a chosen reply date further away is a typo


@dataclass
class Draft:
    """Everything a letter says except its number, decided from the facts at `now`."""

    letter_type: LetterType
    unit: Unit
    cases: list[Case]
    rows: list[dict[str, Any]]
    reply_due_at: datetime | None
    cal: WorkCalendar
    settings: Settings


def draft(
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
    locked: Mapping[int, Case] | None = None,
) -> Draft:
    """Check that the actor may issue this letter about these cases now and gather what it says;
    `lock` (issuing) locks the case rows, a preview does not; `locked`: cases this transaction
    has already locked (read FOR UPDATE), not read again."""
    letter_type = LetterType(letter_type)
    if actor is not None:
        policy.require_role(actor, Role.supervisor)
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise Invalid(
            Msg(f"处置单位 {unit_code} 不存在", f"unit_code {unit_code!r} does not exist")
        )
    cases = _load_cases(
        session, actor=actor, unit=unit, case_ids=case_ids, lock=lock, locked=locked or {}
    )
    cal = load_calendar(session, settings)
    ids = [c.id for c in cases if c.id is not None]
    rows = case_rows(
        session, cases, now=now, cal=cal, earlier=earlier_letters(session, ids, now=now)
    )
    reply = _reply_due(letter_type, cases, now=now, cal=cal, chosen=reply_due_at, settings=settings)
    return Draft(letter_type, unit, cases, rows, reply, cal, settings)


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
                Msg(
                    "提醒函无需书面反馈，不能指定反馈期限",
                    "a reminder asks for no reply: "
                    "reply_due_at applies to supervision and warning letters only",
                )
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
                Msg(
                    "反馈期限须晚于当前时间，且不超过一年",
                    "reply_due_at must be in the future and within a year",
                )
            )
        return at
    usual = cal.due_after(now, settings.letter_reply_days)[0]
    ahead = [c.due_at for c in cases if c.due_at is not None and c.due_at >= now]
    return max([usual, *ahead])


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
    session: Session,
    *,
    actor: Principal | None,
    unit: Unit,
    case_ids: list[int],
    lock: bool,
    locked: Mapping[int, Case],
) -> list[Case]:
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise Invalid(Msg("请至少选择一件案件", "case_ids must name at least one case"))
    if len(ids) > MAX_CASES:
        raise Invalid(
            Msg(f"一份函件最多涉及 {MAX_CASES} 件案件", f"at most {MAX_CASES} cases per letter")
        )
    # Lock the rows (in id order, so two issuers never deadlock): a concurrent action on one of
    # them waits for this letter, and the states checked below are the latest committed ones.
    # Cases this transaction locked already stand in the session as they are in the database:
    # nobody else may have changed them since, and our own changes are there.
    found: dict[int | None, Case] = {i: locked[i] for i in ids if i in locked}
    if len(found) < len(ids):
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
            require_visible(actor, case)
    for case in cases:
        if case.state in CaseState.closed_states():
            raise Invalid(
                Msg(
                    f"案件 {case.number} 已{'办结' if case.state == CaseState.closed else '撤销'}，"
                    "不能发函",
                    f"case {case.number} is {case.state}; letters cover open cases only",
                )
            )
        if case.state not in CaseState.dispatched_states() or case.unit_code != unit.code:
            raise Invalid(
                Msg(
                    f"案件 {case.number} 未派遣给 {unit.name}",
                    f"case {case.number} is not dispatched "
                    f"to unit {unit.code} (state {case.state}, unit {case.unit_code or 'none'})",
                )
            )
        if case.state == CaseState.suspended:
            raise Invalid(
                Msg(
                    f"案件 {case.number} 已批准挂起，整改期限暂停计时，不能发函",
                    f"case {case.number} "
                    "is suspended (its clock is stopped); letters cover cases being rectified",
                )
            )
        if case.state == CaseState.verifying:
            raise Invalid(
                Msg(
                    f"案件 {case.number} 已提交整改、正待核查，不能发函",
                    f"case {case.number} is "
                    "submitted for verification; letters cover cases being rectified",
                )
            )
    return cases
