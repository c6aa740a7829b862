"""Official letters: 提醒函 (reminder), 督办函 (supervision), 警示函 (warning).

`issue_letter` numbers the letter without gaps per issuing body, type and Shanghai year (the counter
row stays locked until the transaction ends, so a rolled-back letter gives its number back),
snapshots everything the document shows into `Letter.content`, opens the letter's own `letter`
case when the unit must reply, writes history on every case involved and puts a notice in the
outbox. Rendering reads the snapshot only (letter_render.py), so a letter never changes.
"""

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from closeloop import policy
from closeloop.calendar import SHANGHAI, WorkCalendar
from closeloop.config import Settings, get_settings
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.policy import SYSTEM, Principal
from closeloop.services import deadlines, history, numbering, outbox
from closeloop.services.cases import street_and_community
from closeloop.services.letter_render import Wording, case_rows, snapshot, word
from models.case import Case, CasePublic
from models.enums import CaseKind, CaseState, LetterType, Role
from models.letter import MAX_LETTER_CASES, Letter, LetterItem, LetterPublic
from models.org import Unit

TYPE_CHAR = {LetterType.reminder: "提", LetterType.supervision: "督", LetterType.warning: "警"}
NEEDS_REPLY = (LetterType.supervision, LetterType.warning)
MAX_CASES = MAX_LETTER_CASES


def letter_number(issuer: str, letter_type: LetterType, year: int, serial: int) -> str:
    """罗应急督〔2025〕12号"""
    return f"{issuer}{TYPE_CHAR[letter_type]}〔{year}〕{serial}号"


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
) -> Letter:
    """Issue one letter to `unit_code` about `case_ids` (actor None: the escalation flow)."""
    settings = settings or get_settings()
    letter_type = LetterType(letter_type)
    if actor is not None:
        policy.require_role(actor, Role.supervisor)
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise Invalid(f"处置单位 {unit_code} 不存在 / unit_code {unit_code!r} does not exist")
    cases = _load_cases(session, actor=actor, unit=unit, case_ids=case_ids)
    cal = deadlines.load_calendar(session, settings)
    year = now.astimezone(SHANGHAI).year
    issuer = settings.issuer_short
    # First the serial: its row lock also orders concurrent issuers before they read anything.
    serial = numbering.next_value(session, f"letter:{issuer}:{letter_type}:{year}")
    number = letter_number(issuer, letter_type, year, serial)
    rows = case_rows(session, cases, now=now, cal=cal)
    reply_due_at = (
        cal.due_after(now, settings.letter_reply_days)[0] if (letter_type in NEEDS_REPLY) else None
    )
    wording = word(
        letter_type,
        cases=cases,
        rows=rows,
        unit=unit,
        number=number,
        issuer_name=settings.issuer_name,
        now=now,
        reply_due_at=reply_due_at,
    )
    by = actor or SYSTEM
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
        content=snapshot(
            number, letter_type, wording, unit, rows, now, reply_due_at, reason, by, settings
        ),
    )
    session.add(letter)
    session.flush()
    assert letter.id is not None
    for case in cases:
        session.add(LetterItem(letter_id=letter.id, case_id=case.id or 0))
    if letter_type in NEEDS_REPLY:
        assert reply_due_at is not None
        own = _open_letter_case(
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
                session, case=case, action="list", actor=by, at=now, from_state=case.state,
                to_state=case.state, note="挂牌督办", data={**marker, "level": "warning"},
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
        and case.state in CaseState.dispatched_states()
    )


def _load_cases(
    session: Session, *, actor: Principal | None, unit: Unit, case_ids: list[int]
) -> list[Case]:
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise Invalid("请至少选择一件案件 / case_ids must name at least one case")
    if len(ids) > MAX_CASES:
        raise Invalid(f"一份函件最多涉及 {MAX_CASES} 件案件 / at most {MAX_CASES} cases per letter")
    # Lock the rows (in id order, so two issuers never deadlock): a concurrent action on one of
    # them waits for this letter, and the states checked below are the latest committed ones.
    stmt = (
        select(Case)
        .where(col(Case.id).in_(ids))
        .order_by(col(Case.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {c.id: c for c in session.exec(stmt)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(f"案件 {missing} 不存在 / case_ids {missing} do not exist")
    cases = [found[i] for i in ids]
    if actor is not None:
        for case in cases:
            policy.require_visible(
                actor,
                unit_code=case.unit_code,
                region_path=case.region_path,
                reporter_id=case.reporter_id,
                what=f"案件 {case.number} / case {case.number}",
            )
    for case in cases:
        if case.state in CaseState.closed_states():
            raise Invalid(
                f"案件 {case.number} 已{'办结' if case.state == CaseState.closed else '撤销'}，"
                f"不能发函 / case {case.number} is {case.state}; letters cover open cases only"
            )
        if case.state not in CaseState.dispatched_states() or case.unit_code != unit.code:
            raise Invalid(
                f"案件 {case.number} 未派遣给 {unit.name} / case {case.number} is not dispatched "
                f"to unit {unit.code} (state {case.state}, unit {case.unit_code or 'none'})"
            )
    return cases


def _open_letter_case(
    session: Session,
    letter: Letter,
    cases: list[Case],
    wording: Wording,
    *,
    now: datetime,
    due_at: datetime,
    by: Principal,
    cal: WorkCalendar,
    settings: Settings,
) -> Case:
    path = common_region_path([c.region_path for c in cases])
    street, community = street_and_community(path)
    year = now.astimezone(SHANGHAI).year
    own = Case(
        number=numbering.next_case_number(session, CaseKind.letter, year),
        kind=CaseKind.letter,
        state=CaseState.dispatched,
        title=wording.title[:200],
        description="\n".join(wording.body + [wording.requirement])[:4000],
        street_code=street,
        community_code=community,
        region_path=path,
        unit_code=letter.unit_code,
        reporter_id=by.id,
        reported_at=now,
        dispatched_at=now,
        updated_at=now,
    )
    # The reply deadline and the signing deadline, by the same rule as any dispatch.
    deadlines.set_dispatch_deadlines(
        own, now=now, cal=cal, category=None, settings=settings, due_at=due_at, limit_days=None
    )
    session.add(own)
    session.flush()
    history.append(
        session,
        case=own,
        action="issue",
        actor=by,
        at=now,
        from_state=None,
        to_state=CaseState.dispatched,
        data={
            "letter_id": letter.id,
            "number": letter.number,
            "type": str(letter.type),
            "case_ids": [c.id for c in cases],
            "due_at": due_at.isoformat(),
        },
    )
    return own


def common_region_path(paths: list[str]) -> str:
    """The longest common region path: /D1/S1/C1/G1/ and /D1/S1/C1/G2/ → /D1/S1/C1/."""
    split = [[p for p in path.split("/") if p] for path in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if any(p != parts[0] for p in parts):
            break
        common.append(parts[0])
    return "/" + "".join(f"{p}/" for p in common)


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
    )


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
    are that case (a letter's own case). Two queries, however many letters."""
    stmt = _jurisdiction(select(Letter), actor)
    if letter_type is not None:
        stmt = stmt.where(Letter.type == letter_type)
    if unit_code:
        stmt = stmt.where(Letter.unit_code == unit_code)
    if case_id is not None:
        about = select(LetterItem.letter_id).where(LetterItem.case_id == case_id)
        stmt = stmt.where(col(Letter.id).in_(about) | (col(Letter.case_id) == case_id))
    stmt = stmt.order_by(col(Letter.issued_at).desc(), col(Letter.id).desc())
    rows = list(session.exec(stmt.limit(limit) if limit is not None else stmt))
    items = _items(session, [r.id for r in rows if r.id is not None])
    return [letter_public(session, row, items[row.id]) for row in rows if row.id is not None]


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
        raise NotFound(f"函件 {letter_id} 不存在 / letter {letter_id} does not exist")
    visible = session.exec(_jurisdiction(select(Letter.id), actor).where(Letter.id == letter_id))
    if visible.first() is None:
        raise Forbidden(
            f"函件 {letter.number} 不在您的管辖范围内 / letter {letter.number} is outside your "
            "jurisdiction"
        )
    return letter


def _jurisdiction(stmt, actor: Principal):  # type: ignore[no-untyped-def]
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.handler:
        return stmt.where(Letter.unit_code == (actor.unit_code or "\x00"))
    if actor.role == Role.reporter:
        raise Forbidden("网格员不能查看函件 / reporters may not read letters")
    under = col(Case.region_path).startswith(actor.region_path or "\x00", autoescape=True)
    own = select(Case.id).where(under)
    covered = (
        select(LetterItem.letter_id).join(Case, col(Case.id) == LetterItem.case_id).where(under)
    )
    return stmt.where(or_(col(Letter.case_id).in_(own), col(Letter.id).in_(covered)))
