"""作废: a supervisor withdraws an issued letter, with a reason.

The letter keeps its number (never reused, no gap) and its frozen content; only the withdrawal
columns are set, and its documents and lists show the mark. Its own letter case, if still open,
is cancelled through the lifecycle (`withdraw`); every covered case gets a history entry; a case
listed for supervision (挂牌督办) by this warning and by nothing else still standing (not a major
hazard, listed from dispatch on; no other warning not withdrawn) is unlisted; the unit is told.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases import history, listing
from closeloop.cases import service as cases
from closeloop.errors import Conflict, Invalid
from closeloop.letters.reads import get_letter
from closeloop.letters.wording import TYPE_NAME, cn_date
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseState, EscalationLevel, HistoryAction, LetterType, Role
from models.letter import Letter, LetterItem
from notifications import outbox


def withdraw_letter(
    session: Session, *, actor: Principal, letter_id: int, reason: str | None, now: datetime
) -> Letter:
    policy.require_role(actor, Role.supervisor)
    letter = get_letter(session, actor=actor, letter_id=letter_id)  # 404, jurisdiction 403
    why = (reason or "").strip()
    if not why:
        raise Invalid(Msg("作废函件须填写原因", "withdrawing a letter needs a reason"))
    # Lock the letter: of two supervisors withdrawing at once, the second sees the first's mark.
    locked = session.exec(
        select(Letter)
        .where(Letter.id == letter_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.withdrawn_at is not None:
        raise Conflict(
            Msg(
                f"函件 {letter.number} 已于{cn_date(locked.withdrawn_at)}作废",
                f"letter {letter.number} is already withdrawn",
            )
        )
    letter = locked
    letter.withdrawn_at = now
    letter.withdrawn_by = actor.id
    letter.withdraw_reason = why
    session.flush()
    marker = {"letter_id": letter.id, "number": letter.number, "type": str(letter.type)}
    ids = [
        i for i in session.exec(select(LetterItem.case_id).where(LetterItem.letter_id == letter.id))
    ]
    covered = list(
        session.exec(
            select(Case)
            .where(col(Case.id).in_(ids))
            .order_by(col(Case.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if letter.case_id is not None:
        own = session.get(Case, letter.case_id)
        if own is not None and own.state in CaseState.open_states():
            cases.withdraw_letter_case(
                session, case=own, actor=actor, reason=why, now=now, letter=marker
            )
    for case in covered:
        history.append(
            session,
            case=case,
            action=HistoryAction.letter_withdrawn,
            actor=actor,
            at=now,
            from_state=case.state,
            to_state=case.state,
            note=why,
            data=marker,
        )
    if letter.type == LetterType.warning:
        _unlist(session, letter, covered, actor=actor, now=now, why=why)
    type_name = TYPE_NAME[LetterType(letter.type)]
    outbox.notify_unit(
        session,
        unit_code=letter.unit_code,
        event="letter_withdrawn",
        subject=f"{letter.number} {type_name}已作废",
        body=f"{letter.number}《{letter.title}》已于{cn_date(now)}作废，作废原因：{why}。"
        "该函不再执行，请登录闭环系统查看。",
        now=now,
        key=f"letter-withdrawn:{letter.id}",
        letter_id=letter.id,
        case_id=letter.case_id,
        to_head=letter.type == LetterType.warning,
    )
    session.flush()
    return letter


def _unlist(
    session: Session,
    letter: Letter,
    covered: list[Case],
    *,
    actor: Principal,
    now: datetime,
    why: str,
) -> None:
    """Unlist the cases this warning alone kept listed (挂牌督办)."""
    listed = [c for c in covered if c.listed]
    if not listed:
        return
    others = set(
        session.exec(
            select(LetterItem.case_id)
            .join(Letter, col(Letter.id) == LetterItem.letter_id)
            .where(
                col(LetterItem.case_id).in_([c.id for c in listed]),
                Letter.type == LetterType.warning,
                col(Letter.withdrawn_at).is_(None),
                Letter.id != letter.id,
            )
        )
    )
    for case in listed:
        if case.id in others:
            continue
        listing.unlist(
            session,
            case,
            actor=actor,
            now=now,
            note=f"警示函作废，撤销挂牌督办：{why}",
            data={
                "letter_id": letter.id,
                "number": letter.number,
                "level": EscalationLevel.warning,
            },
        )
