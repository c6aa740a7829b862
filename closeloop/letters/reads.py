"""Reading letters: the API's view of a letter, lists and single letters by jurisdiction, and the
earlier letters about given cases (what a new letter may name)."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases.service import jurisdiction
from closeloop.errors import Forbidden, NotFound
from closeloop.letters.wording import TYPE_NAME, cn_date
from closeloop.text import Msg
from models.case import Case
from models.enums import LetterType, Role
from models.letter import Letter, LetterItem, LetterPublic


def standing_at(at: datetime) -> ColumnElement[bool]:
    """A letter standing at `at`: issued by then and not withdrawn by then. The one rule for
    which letters a new letter may name, the metrics count and a report lists (a letter withdrawn
    after a report's time still stood at that time, so the report does not change)."""
    issued = col(Letter.issued_at) <= at
    return issued & (col(Letter.withdrawn_at).is_(None) | (col(Letter.withdrawn_at) > at))


def earlier_letters(
    session: Session, case_ids: list[int], *, now: datetime
) -> dict[int, list[dict[str, Any]]]:
    """case id → the letters issued about it up to `now` and not withdrawn, oldest first: those
    that cover it, and for a letter case the letter it answers. Each as {id, number, type,
    type_name, date}."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in case_ids}
    if not case_ids:
        return out
    standing = (standing_at(now),)
    covering = (
        select(LetterItem.case_id, Letter)
        .join(Letter, col(Letter.id) == LetterItem.letter_id)
        .where(col(LetterItem.case_id).in_(case_ids), *standing)
    )
    answered = select(Letter.case_id, Letter).where(col(Letter.case_id).in_(case_ids), *standing)
    found: list[tuple[int, Letter]] = [(cid, row) for cid, row in session.exec(covering)]
    found += [(cid, row) for cid, row in session.exec(answered) if cid is not None]
    found.sort(key=lambda pair: (pair[1].issued_at, pair[1].id or 0))
    for case_id, letter in found:
        if any(e["id"] == letter.id for e in out[case_id]):
            continue
        out[case_id].append(
            {
                "id": letter.id,
                "number": letter.number,
                "type": str(letter.type),
                "type_name": TYPE_NAME[LetterType(letter.type)],
                "date": cn_date(letter.issued_at),
            }
        )
    return out


def letter_public(
    session: Session, letter: Letter, case_ids: list[int] | None = None
) -> LetterPublic:
    """The letter as the API shows it; `case_ids` when the caller has loaded them already."""
    assert letter.id is not None
    ids = case_ids if case_ids is not None else _items(session, [letter.id])[letter.id]
    order = {row["id"]: row["seq"] for row in letter.content.get("cases", [])}
    return LetterPublic(
        id=letter.id,
        number=letter.number,
        type=letter.type,
        unit_code=letter.unit_code,
        title=letter.title,
        case_ids=sorted(ids, key=lambda i: (order.get(i, 0), i)),
        issued_at=letter.issued_at,
        reply_due_at=letter.reply_due_at,
        case_id=letter.case_id,
        withdrawn=letter.withdrawn_at is not None,
        withdrawn_at=letter.withdrawn_at,
        withdraw_reason=letter.withdraw_reason,
    )


NEWEST_FIRST = (col(Letter.issued_at).desc(), col(Letter.id).desc())
STEP = 200  # letters checked at a time when the newest `limit` visible ones are wanted
STEPS = 2  # steps before the one query over every letter (a region with few letters)


def list_letters(
    session: Session,
    *,
    actor: Principal,
    letter_type: LetterType | None = None,
    unit_code: str | None = None,
    case_id: int | None = None,
    limit: int | None = None,
) -> list[LetterPublic]:
    """Letters the actor may read, newest first; with `case_id`, those about that case or that
    are that case (a letter's own case). Two queries, however many letters (`limit` for a
    region's user: two more per STEP letters checked)."""
    stmt = select(Letter)
    if letter_type is not None:
        stmt = stmt.where(Letter.type == letter_type)
    if unit_code:
        stmt = stmt.where(Letter.unit_code == unit_code)
    if case_id is not None:
        about = select(LetterItem.letter_id).where(LetterItem.case_id == case_id)
        stmt = stmt.where(col(Letter.id).in_(about) | (col(Letter.case_id) == case_id))
    stmt = stmt.order_by(*NEWEST_FIRST)
    if limit is not None and _through_cases(actor):
        rows = _newest_visible(session, stmt, actor, limit)
    else:
        rows = list(session.exec(_jurisdiction(stmt, actor).limit(limit)))
    items = _items(session, [r.id for r in rows if r.id is not None])
    return [letter_public(session, row, items[row.id]) for row in rows if row.id is not None]


def _newest_visible(session: Session, stmt, actor: Principal, limit: int) -> list[Letter]:  # type: ignore[no-untyped-def]
    """The newest `limit` letters of `stmt` (ordered newest first) that the actor may read, for
    an actor whose jurisdiction is a region (a letter is theirs through its cases): letters are
    checked STEP at a time, newest first, until `limit` are found. Asked of every letter at once,
    the database checks the region of every case of every letter in the city (thousands of case
    look-ups for a dashboard's 20 letters); asked of a step's letters, of theirs only. After
    STEPS steps without `limit` letters (a region whose letters are few among the city's
    newest), the one query over every letter answers instead: never more than STEPS steps'
    cost above it."""
    found: list[int] = []
    after: tuple[datetime, int] | None = None
    ids_only = stmt.with_only_columns(col(Letter.id), col(Letter.issued_at))
    for _ in range(STEPS):
        page = ids_only
        if after is not None:
            at, last = after
            older = col(Letter.issued_at) < at
            page = page.where(older | ((col(Letter.issued_at) == at) & (col(Letter.id) < last)))
        step = list(session.execute(page.limit(STEP)))
        if not step:
            break
        ids = [row[0] for row in step]
        mine = _jurisdiction(select(Letter.id), actor).where(col(Letter.id).in_(ids))
        visible = set(session.exec(mine))
        found += [i for i in ids if i in visible]
        if len(found) >= limit or len(step) < STEP:
            break
        after = (step[-1][1], step[-1][0])
    else:  # the region's letters are sparse among the newest: the one query finds the rest
        return list(session.exec(_jurisdiction(stmt, actor).limit(limit)))
    if not found:
        return []
    chosen = select(Letter).where(col(Letter.id).in_(found[:limit])).order_by(*NEWEST_FIRST)
    return list(session.exec(chosen))


def _items(session: Session, letter_ids: list[int]) -> dict[int, list[int]]:
    """letter id → the ids of the cases it is about."""
    out: dict[int, list[int]] = {i: [] for i in letter_ids}
    if letter_ids:
        stmt = select(LetterItem.letter_id, LetterItem.case_id).where(
            col(LetterItem.letter_id).in_(letter_ids)
        )
        for letter_id, item in session.exec(stmt):
            out[letter_id].append(item)
    return out


def get_letter(session: Session, *, actor: Principal, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFound(Msg(f"函件 {letter_id} 不存在", f"letter {letter_id} does not exist"))
    visible = session.exec(_jurisdiction(select(Letter.id), actor).where(Letter.id == letter_id))
    if visible.first() is None:
        raise Forbidden(
            Msg(
                f"函件 {letter.number} 不在您的管辖范围内",
                f"letter {letter.number} is outside your jurisdiction",
            )
        )
    return letter


def _through_cases(actor: Principal) -> bool:
    """Whether `actor` reads a letter through its cases (the region's users), not by role."""
    return actor.role not in (Role.admin, Role.handler, Role.reporter)


def _jurisdiction(stmt, actor: Principal):  # type: ignore[no-untyped-def]
    """Narrow a query over Letter to what `actor` may read: an admin every letter, a handler
    their unit's, a reporter none, the others a letter whose own case or one of whose cases they
    may see (the cases' jurisdiction rule, applied to those cases)."""
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.handler:
        return stmt.where(Letter.unit_code == (actor.unit_code or "\x00"))
    if actor.role == Role.reporter:
        raise Forbidden(Msg("网格员不能查看函件", "reporters may not read letters"))
    assert _through_cases(actor)
    # Correlated EXISTS, not IN (cases in jurisdiction): the database probes each letter's own
    # few cases by key instead of planning over every case the actor may see (a whole district).
    own = jurisdiction(select(Case.id), actor).where(col(Case.id) == col(Letter.case_id))
    covered = jurisdiction(
        select(LetterItem.letter_id)
        .join(Case, col(Case.id) == LetterItem.case_id)
        .where(col(LetterItem.letter_id) == col(Letter.id)),
        actor,
    )
    return stmt.where(or_(own.exists(), covered.exists()))
