"""Reading a case (by id, or by its number SJ2025000001 as people quote it) and what an action
refers to (a category, a unit, the case's place), and the jurisdiction filter in SQL. These read
the organisation only, never the action table."""

from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import String, bindparam, func, inspect
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases.requests import (
    Pending,
    note,
    open_task_count,
    pending_of_case,
    pending_read_with,
    shown_request,
    with_facts,
)
from closeloop.db import connection as connection
from closeloop.errors import Invalid, NotFound
from closeloop.text import Msg
from models.case import Case, CaseRequest
from models.enums import Role
from models.org import Category, Unit
from models.task import CaseTask

T = TypeVar("T")


def load_case(
    session: Session, *, actor: Principal, case_id: int, lock: bool = False, acting: bool = False
) -> Case:
    """The case, when `actor` may see it. A handler of a unit assisting it (协办) sees it too,
    unless `acting` (a case action is the lead unit's, never an assisting unit's)."""
    stmt = _BY_ID_LOCKED if lock else _BY_ID
    case = session.exec(stmt, params={"case_id": case_id}).first()  # type: ignore[call-overload]
    if case is None:
        raise NotFound(Msg(f"案件 {case_id} 不存在", f"case {case_id} does not exist"))
    _require_visible(session, actor, case, acting=acting)
    return case


_BY_ID = select(Case).where(Case.id == bindparam("case_id"))  # built once
_BY_ID_LOCKED = _BY_ID.with_for_update()


def case_to_act_on(
    session: Session, *, actor: Principal, case_id: int, unit_code: str | None
) -> tuple[Case, Pending]:
    """load_case for an action (`acting`: the same refusals), with the facts its rules read
    (requests.with_facts) in the same statement, and the reference rows it looks up next: the
    case's category and the unit `unit_code` names, or else the case's unit, or else the
    category's default. Those two join the session (an outer join finds nothing when a code
    names nothing), so the input check's and the notice's look-ups (`category_and_unit`,
    `session.get`) find them there: one statement instead of three for a dispatch."""
    case, pending = None, Pending()
    params = {"case_id": case_id, "unit_code": unit_code}
    for found, *facts, _category, _unit in session.exec(_TO_ACT_ON, params=params):  # type: ignore[call-overload]
        case = found
        note(pending, *facts)
    if case is None:
        raise NotFound(Msg(f"案件 {case_id} 不存在", f"case {case_id} does not exist"))
    _require_visible(session, actor, case, acting=True)
    return case, pending


_TO_ACT_ON = (  # built once
    with_facts(sa_select(Case).select_from(Case))
    .add_columns(Category, Unit)
    .outerjoin(Category, col(Category.code) == col(Case.category_code))
    .outerjoin(
        Unit,
        col(Unit.code)
        == func.coalesce(
            bindparam("unit_code", type_=String), col(Case.unit_code), col(Category.unit_code)
        ),
    )
    .where(col(Case.id) == bindparam("case_id"))
)


def case_read(session: Session, *, actor: Principal, case_id: int) -> tuple[Any, Pending]:
    """load_case for showing a case (GET /cases/{id}): the same refusals, the case as a plain
    row of its table (each column an attribute, as on Case, like a list page's rows: no ORM
    object to build and track), with what its allowed actions read most (pending_on_demand's
    facts) in the SAME statement: the number of its assisting units' unfinished tasks and its
    pending requests (a LEFT JOIN: a row per request; none, one row). A case in rectification
    is read with the sign-in and this one statement, not three."""
    asked = CaseRequest.__table__  # type: ignore[attr-defined]
    stmt = _case_read_statement()
    rows = connection(session).execute(stmt, {"case_id": case_id}).all()
    if not rows:
        raise NotFound(Msg(f"案件 {case_id} 不存在", f"case {case_id} does not exist"))
    case = rows[0]
    _require_visible(session, actor, case, acting=False)
    requests = [
        shown_request({c.name: row._mapping[f"_request_{c.name}"] for c in asked.c})
        for row in rows
        if row._mapping["_request_id"] is not None
    ]
    pending = pending_read_with(
        session, case_id, requests=requests, open_tasks=int(case._mapping["_open_tasks"])
    )
    return case, pending


@lru_cache(maxsize=1)
def _case_read_statement() -> Any:
    """case_read's statement, built once (its 48 columns cost more to compose than to run)."""
    table = Case.__table__  # type: ignore[attr-defined]
    asked = CaseRequest.__table__  # type: ignore[attr-defined]
    stmt = (
        sa_select(
            *table.c,
            open_task_count().label("_open_tasks"),
            *(c.label(f"_request_{c.name}") for c in asked.c),
        )
        .select_from(table)
        .outerjoin(asked, pending_of_case())
        .where(table.c.id == bindparam("case_id"))
    )
    return stmt


def _require_visible(session: Session, actor: Principal, case: Any, *, acting: bool) -> None:
    assisting = not acting and _assists(session, actor, case)
    policy.require_visible(
        actor,
        unit_code=case.unit_code,
        region_path=case.region_path,
        reporter_id=case.reporter_id,
        what=Msg(f"案件 {case.number}", f"case {case.number}"),
        assisting=assisting,
    )


def _assists(session: Session, actor: Principal, case: Any) -> bool:
    """Whether the actor is a handler of a unit with a task on the case (asked only when their
    unit does not lead it)."""
    if actor.role != Role.handler or not actor.unit_code or case.unit_code == actor.unit_code:
        return False
    stmt = select(CaseTask.id).where(
        CaseTask.case_id == case.id, CaseTask.unit_code == actor.unit_code
    )
    return session.exec(stmt.limit(1)).first() is not None


def may_see(actor: Principal, case: Case) -> bool:
    """Whether `actor` may see `case` as it stands (a handler no longer does once their unit
    has returned it)."""
    return policy.can_see(
        actor, unit_code=case.unit_code, region_path=case.region_path, reporter_id=case.reporter_id
    )


def require_visible(actor: Principal, case: Case) -> None:
    """403 unless `actor` may see `case` (its unit, region and reporter: policy.can_see)."""
    policy.require_visible(
        actor,
        unit_code=case.unit_code,
        region_path=case.region_path,
        reporter_id=case.reporter_id,
        what=Msg(f"案件 {case.number}", f"case {case.number}"),
    )


def case_by_number(session: Session, *, actor: Principal, number: str) -> Case | None:
    """The case with exactly this number, when the actor may see it; otherwise None (a case
    outside the actor's jurisdiction is not told apart from one that does not exist)."""
    stmt = jurisdiction(select(Case), actor).where(Case.number == number.strip())
    return session.exec(stmt).first()


def leaf_category(session: Session, code: str) -> Category:
    """The category `code`, an item (小类). Its class is read in the same statement and stays in
    the session with it (reference_rows), so the checks that look the class up next (active,
    emergency) find it there: filing read it with a statement of its own."""
    row = session.exec(_WITH_CLASS, params={"code": code}).first()  # type: ignore[call-overload]
    category = row[0] if row is not None else None
    if category is None:
        raise Invalid(Msg(f"类别 {code} 不存在", f"category_code {code!r} does not exist"))
    if category.parent_code is None:
        raise Invalid(
            Msg("请选择小类", f"category {code!r} is a class (大类); file against one of its items")
        )
    return category


_CLASS = aliased(Category)
_WITH_CLASS = (  # a category and its class (built once)
    select(Category, _CLASS)
    .outerjoin(_CLASS, col(_CLASS.code) == col(Category.parent_code))
    .where(col(Category.code) == bindparam("code"))
)


def category_and_unit(
    session: Session, category_code: str | None, unit_code: str | None
) -> tuple[Category | None, Unit | None]:
    """A case's category and the unit named (or else the category's default unit), as
    `session.get` finds each: from the session when both are in it (an action's own read put
    them there: case_to_act_on), else in ONE statement when both are asked (a dispatch's input
    check: two ORM look-ups were ~19 % of the action). Either is None when it does not exist."""
    if category_code is None:
        return None, session.get(Unit, unit_code) if unit_code else None
    category = _in_session(session, Category, category_code)
    if category is not None:
        code = unit_code or category.unit_code
        unit = _in_session(session, Unit, code) if code else None
        if unit is not None or code is None:
            return category, unit
    row = session.exec(  # type: ignore[call-overload]
        _CATEGORY_AND_UNIT, params={"category_code": category_code, "unit_code": unit_code}
    ).first()
    if row is None:  # no such category: the unit named, if any
        return None, session.get(Unit, unit_code) if unit_code else None
    return row[0], row[1]


def _in_session(session: Session, cls: type[T], key: str) -> T | None:
    """The object of `cls` with this primary key when the session holds it loaded (not
    expired: `session.get` would read that one again)."""
    found = session.identity_map.get(identity_key(cls, key))
    if found is None or inspect(found).expired_attributes:
        return None
    return found


# The category, and the unit named or else the category's default (built once).
_CATEGORY_AND_UNIT = (
    select(Category, Unit)
    .outerjoin(
        Unit,
        col(Unit.code)
        == func.coalesce(bindparam("unit_code", type_=String), col(Category.unit_code)),
    )
    .where(col(Category.code) == bindparam("category_code"))
)


def require_unit(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise Invalid(Msg(f"处置单位 {code} 不存在", f"unit_code {code!r} does not exist"))
    return unit


def street_and_community(path: str) -> tuple[str | None, str | None]:
    """The street and community codes on a grid's path /district/street/community/grid/."""
    parts = [p for p in path.split("/") if p]
    street = parts[1] if len(parts) > 1 else None
    community = parts[2] if len(parts) > 2 else None
    return street, community


def jurisdiction(stmt, actor: Principal):  # type: ignore[no-untyped-def]
    """Narrow a query over Case to what `actor` may see (policy.can_see, in SQL)."""
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.handler:
        return stmt.where(Case.unit_code == (actor.unit_code or "\x00"))
    if actor.role == Role.reporter:
        return stmt.where(Case.reporter_id == actor.id)
    return stmt.where(
        col(Case.region_path).startswith(actor.region_path or "\x00", autoescape=True)
    )
