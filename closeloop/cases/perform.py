"""`perform`: every lifecycle action on a case goes through this one function, driven by its
definition in the action table (actions.py).

look the action up (404) → load the case (404) → jurisdiction (403) → by hand? and role (403) →
version (409) → state and kind (409, naming the state and what this caller may do) →
precondition (409) → requirements (422) → the effect → the machine moves the state → history →
the notices the definition names → flush, where the UPDATE is `… WHERE id = :id AND version = :v`
(a lost race is a 409). The caller's boundary commits.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, inspect
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from closeloop import core_writes, labels
from closeloop.auth.policy import Principal
from closeloop.cases import history, lifecycle, needs, notices
from closeloop.cases.actions import TABLE, Definition
from closeloop.cases.effects import ActionContext
from closeloop.cases.lookup import case_to_act_on
from closeloop.cases.requests import pending_requests
from closeloop.config import Settings, get_settings
from closeloop.errors import Conflict, Forbidden, NotFound
from closeloop.text import Msg
from models.case import ActionInput, Case
from models.enums import Action, CaseKind, CaseState, Role


def perform(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    action: str,
    data: ActionInput,
    now: datetime,
    settings: Settings | None = None,
) -> Case:
    return perform_in(
        session,
        actor=actor,
        case_id=case_id,
        action=action,
        data=data,
        now=now,
        settings=settings,
    ).case


def perform_in(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    action: str,
    data: ActionInput,
    now: datetime,
    settings: Settings | None = None,
) -> ActionContext:
    """perform, returning the whole context: the case and its pending requests as they stand
    after the action (so a caller showing the case loads nothing twice)."""
    settings = settings or get_settings()
    if action not in Action._value2member_map_:
        names = ", ".join(a.value for a in Action)
        raise NotFound(
            Msg(f"没有动作 {action}", f"there is no action {action!r}; actions: {names}")
        )
    d = TABLE[Action(action)]
    case, pending = case_to_act_on(session, actor=actor, case_id=case_id, unit_code=data.unit_code)
    if d.by_hand is not None:
        raise Forbidden(d.by_hand)
    if not d.who.may(actor, kind=case.kind, reporter_id=case.reporter_id):
        role, kind = labels.ROLE[Role(actor.role)], labels.KIND[CaseKind(case.kind)]
        raise Forbidden(
            Msg(
                f"{role:zh}不能对{kind:zh}执行{d.zh}",
                f"{d.name:en} ({kind:en}) is not for the role {role:en}",
            )
        )
    if data.version is not None and data.version != case.version:
        raise Conflict(
            Msg(
                f"案件已被他人修改（版本 {case.version}），请刷新后重试",
                "the case changed: it is at "
                f"version {case.version}, you sent {data.version}; reload and try again",
            ),
            current_version=case.version,
        )
    if action not in lifecycle.actions_in(case.state, case.kind):
        # What this caller may do now: the same list as the case's allowed_actions.
        mine = lifecycle.allowed_actions(case, actor, pending=pending, now=now, settings=settings)
        never = _never(CaseKind(case.kind)) if CaseKind(case.kind) not in d.kinds else None
        state = labels.STATE[CaseState(case.state)]
        allowed = Msg.join((labels.ACTION[a] for a in mine), "、", ", ")
        raise Conflict(
            Msg(
                (f"{never[0]}；" if never else "")
                + f"案件{state:zh}，不能{d.zh}；可执行：{allowed.zh or '无'}",
                (f"{never[1]}; " if never else "")
                + f"{d.name:en} is not allowed while the case is {state.en.lower()}; "
                f"allowed now: {allowed.en.lower() or 'none'}",
            ),
            state=case.state,
            allowed_actions=mine,
        )
    why = lifecycle.precondition_failure(case, d, pending, now, settings)
    if why:
        raise Conflict(why)
    ctx = ActionContext(session, case, actor, data, now, settings, pending)
    needs.check(ctx, d.name, d.needs)
    ctx = _apply(ctx, d)
    return _then(ctx, d)


def _apply(ctx: ActionContext, d: Definition) -> ActionContext:
    """The effect, the machine's move, the version compare-and-swap, history and notices."""
    session, case, actor, now = ctx.session, ctx.case, ctx.actor, ctx.now
    before = case.state
    try:
        d.effect(ctx)
        _, after = lifecycle.fire(case, d.action)
        case.updated_at = now
        flag_modified(case, "updated_at")  # every action bumps the version, even a request
        write_case(session, case)  # the version compare-and-swap happens here
        history.append(
            session,
            case=case,
            action=d.action,
            actor=actor,
            at=now,
            from_state=before,
            to_state=after,
            note=ctx.text,
            data=ctx.record,
        )
        notices.send(
            session, d.notices, case=case, action=d.action, actor=actor, now=now, note=ctx.text
        )
        session.flush()
    except StaleDataError:
        raise Conflict(
            Msg(
                "案件已被他人修改，请刷新后重试",
                "the case changed while you acted; reload and try again",
            )
        ) from None
    return ctx


def write_case(session: Session, case: Case) -> None:
    """The case's changes written as the unit of work writes them: `UPDATE case SET … ,
    version = v + 1 WHERE id = :id AND version = v`, a lost race raising StaleDataError.

    When the case is the session's only change, one Core statement (the unit of work for one
    row costs several times the statement in Python): the columns whose attributes changed since
    the case was loaded or last written, and the case left as a flush leaves it (those
    attributes committed, the new version, a rollback expiring it). Anything else pending (a
    request, a task, another row), or a change that is not a plain column of the case:
    `session.flush()`."""
    state = inspect(case)
    changed = state.committed_state
    columns = _CASE_COLUMNS
    if (
        session.new
        or session.deleted
        or state.session_id != session.hash_key
        or not state.persistent
        or state.expired_attributes
        or "version" in changed
        or not all(key in columns and key in state.dict for key in changed)
        or any(other is not case and session.is_modified(other) for other in session.dirty)
    ):
        session.flush()
        return
    if not changed:
        return  # nothing to write, as a flush would find
    old = case.version
    values = {columns[key]: state.dict[key] for key in changed}
    values["version"] = old + 1
    done = (
        session.connection()
        .execute(_UPDATE_CASE, {**values, "_id": case.id, "_version": old})
        .rowcount
    )
    if done != 1:
        raise StaleDataError(
            f"UPDATE statement on table 'case' expected to update 1 row(s); {done} were matched."
        )
    state.dict["version"] = old + 1
    core_writes.written(session, case)  # as the flush leaves it: a rollback expires it


def insert_case(session: Session, case: Case) -> None:
    """A new case (added to the session, not yet written) inserted as the unit of work inserts
    it, with one Core `INSERT … RETURNING id` (the unit of work's flush of one new row cost ~10 %
    of a filing's server CPU): what the session held before it flushed first, every column given
    from the object (SQLModel sets each field at construction), and the case left as a flush
    leaves it — persistent, its attributes committed, recorded as new in the transaction (a
    rollback expunges it), `pending_to_persistent` fired (history starts at 1 without a read)."""
    state = inspect(case)
    if not state.pending or state.session_id != session.hash_key:
        session.flush()
        return
    if any(key not in state.dict for key in _CASE_COLUMNS):  # a default the flush would apply
        session.flush()
        return
    session.expunge(case)
    session.flush()  # what was added before the case comes first, as in the flush
    values = {column: state.dict[key] for key, column in _CASE_COLUMNS.items()}
    session.add(case)
    case.id = session.connection().execute(_INSERT_CASE, values).scalar_one()
    core_writes.written(session, case)


_CASE_TABLE = Case.__table__  # type: ignore[attr-defined]
# attribute → column name, for the plain columns of the case (every one but the id)
_CASE_COLUMNS = {
    prop.key: prop.columns[0].key
    for prop in inspect(Case).column_attrs
    if len(prop.columns) == 1
    and prop.columns[0].table is _CASE_TABLE
    and not prop.columns[0].primary_key
}
_INSERT_CASE = _CASE_TABLE.insert().returning(_CASE_TABLE.c.id)  # built once
_UPDATE_CASE = (  # built once; the values given are the SET list
    _CASE_TABLE.update().where(
        _CASE_TABLE.c.id == bindparam("_id"), _CASE_TABLE.c.version == bindparam("_version")
    )
)


def _then(ctx: ActionContext, d: Definition) -> ActionContext:
    """The action the definition says the system takes next (`then`), in the same transaction,
    by the same actor, through the same machine, history and notices: an unsatisfied follow-up's
    rework (重办). Its history records what the first action recorded."""
    follow = d.then(ctx) if d.then is not None else None
    if follow is None:
        return ctx
    if follow not in lifecycle.actions_in(ctx.case.state, ctx.case.kind):
        state = labels.STATE[CaseState(ctx.case.state)]
        raise Conflict(
            Msg(
                f"案件{state:zh}，不能{TABLE[follow].zh}",
                f"{TABLE[follow].name:en} is not allowed while the case is {state.en.lower()}",
            ),
            state=ctx.case.state,
        )
    data = ActionInput(note=ctx.data.note)
    nxt = ActionContext(ctx.session, ctx.case, ctx.actor, data, ctx.now, ctx.settings, ctx.pending)
    nxt.record = {**ctx.record, "after": d.action.value}
    return _apply(nxt, TABLE[follow])


def withdraw_letter_case(
    session: Session,
    *,
    case: Case,
    actor: Principal,
    reason: str,
    now: datetime,
    letter: dict[str, Any],
    settings: Settings | None = None,
) -> Case:
    """The letters service's path for a withdrawn letter (作废): its letter case, if still open,
    is cancelled through the same machine, version check and history as any action. Nobody
    takes `withdraw` by hand (perform refuses it)."""
    if Action.withdraw not in lifecycle.actions_in(case.state, case.kind):
        raise Conflict(
            Msg(
                f"案件 {case.number} {labels.STATE[CaseState(case.state)]:zh}，不能随函件撤销",
                f"case {case.number} "
                f"({case.kind}, {case.state}) cannot be withdrawn: only an open letter case can",
            ),
            state=case.state,
        )
    assert case.id is not None
    pending = pending_requests(session, [case.id])[case.id]
    data = ActionInput(reason=reason)
    ctx = ActionContext(session, case, actor, data, now, settings or get_settings(), pending)
    ctx.record = dict(letter)
    return _apply(ctx, TABLE[Action.withdraw]).case


def _never(kind: CaseKind) -> tuple[str, str] | None:
    """What a case of this kind can never have done to it, from the table's kinds:
    督办件不能退单、撤销或合并 / a letter case can never be returned, cancelled or merged."""
    never = [d for d in TABLE.values() if kind not in d.kinds and d.by_hand is None]
    if not never:
        return None
    zh = "、".join(d.zh for d in never[:-1]) + ("或" if len(never) > 1 else "") + never[-1].zh
    en = ", ".join(d.done for d in never[:-1]) + (" or " if len(never) > 1 else "") + never[-1].done
    return f"{labels.KIND[kind]:zh}不能{zh}", f"a {kind} case can never be {en}"
