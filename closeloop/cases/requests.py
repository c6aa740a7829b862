"""A handler's extension and suspension requests (延期/挂起申请): the pending ones, loaded once per
request for a page or an action (the writes that open and decide them: request_decisions.py)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, and_, any_, bindparam, exists, func
from sqlalchemy import select as sa_select  # six columns: more than sqlmodel.select types
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from closeloop.cases.major import Dossier, dossiers
from closeloop.config import Settings
from closeloop.text import Msg
from models.case import Case, CaseRequest
from models.dossier import HazardPlan, Recheck
from models.enums import RecheckResult, RequestStatus, RequestType, TaskState
from models.task import CaseTask


@dataclass
class Pending:
    extension: CaseRequest | None = None
    suspension: CaseRequest | None = None
    dossier: Dossier = field(default_factory=Dossier)  # a major hazard's plan and recheck
    # A return request (退单申请). Its RequestType value is "return", a Python keyword: the
    # attribute is `return_`, and getattr/setattr by the type's value reach it (_ALIASES).
    return_: CaseRequest | None = None
    open_tasks: int = 0  # assisting units' tasks open or signed (主办/协办)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, _ALIASES.get(name, name), value)

    def __getattr__(self, name: str) -> object:  # only for names not found: the aliases
        if name in _ALIASES:
            return getattr(self, _ALIASES[name])
        raise AttributeError(name)


_ALIASES = {RequestType.return_.value: "return_"}
# A new Pending's attributes (its dossier replaced by one of its own in each copy).
_DEFAULTS = vars(Pending())


Precondition = Callable[[Case, "Pending", datetime, Settings], Msg | None]
"""Why an action cannot be taken on a case now, apart from state, role and input; None if it can."""


def pending_requests(session: Session, case_ids: list[int]) -> dict[int, Pending]:
    """Every fact an action may need of these cases, loaded now (an action, a page that shows
    the requests), in one query: each case with its pending requests (outer join: a case with
    none gives one row) and, as correlated subqueries, its open task count and its dossier
    facts. The same facts as the loaders of `pending_on_demand` read one kind at a time
    (tests/cases/test_pending_one_query.py holds them equal)."""
    result: dict[int, Pending] = {cid: Pending() for cid in case_ids}
    if not case_ids:
        return result
    for start in range(0, len(case_ids), 1000):
        _load_all(session, result, case_ids[start : start + 1000])
    return result


def _load_all(session: Session, result: dict[int, Pending], case_ids: list[int]) -> None:
    for cid, *facts in session.exec(_all_statement(), params={"ids": case_ids}):
        note(result[cid], *facts)


def note(
    pending: Pending,
    request: CaseRequest | None,
    n: int,
    plan: bool | None,
    recheck_at: datetime | None,
    recheck_result: str | None,
) -> None:
    """One row's facts (`with_facts`' columns): a pending request (or none) and the case's
    other facts."""
    if request is not None:
        setattr(pending, request.type, request)
    pending.open_tasks = n
    pending.dossier = Dossier(
        planned=bool(plan),
        recheck_at=recheck_at,
        recheck_passed=recheck_at is not None and recheck_result == RecheckResult.pass_,
    )


@cache
def _all_statement() -> Any:
    """The one query of `pending_requests`, built once (building it costs more Python than
    running it); the case ids are its expanding parameter `ids`."""
    case_id = col(Case.id)
    return with_facts(sa_select(case_id)).where(case_id.in_(bindparam("ids", expanding=True)))


def with_facts(stmt: Any) -> Any:
    """`stmt`, a select from the case table, with the columns of every fact an action may need
    after its own (`note` reads them): the case's pending request (an entity, outer-joined: a
    row per request, one row when there is none), its open task count, whether it has a plan,
    its latest recheck's time and result (correlated subqueries)."""
    case_id = col(Case.id)
    open_tasks = open_task_count()
    planned = exists().where(col(HazardPlan.case_id) == case_id)
    r = aliased(Recheck)
    latest = (  # the case's latest recheck
        select(r.id)
        .where(r.case_id == case_id)
        .order_by(col(r.at).desc(), col(r.id).desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    return (
        stmt.add_columns(CaseRequest, open_tasks, planned, col(Recheck.at), col(Recheck.result))
        .outerjoin(CaseRequest, pending_of_case())
        .outerjoin(Recheck, col(Recheck.id) == latest)
    )


def pending_on_demand(session: Session, case_ids: list[int]) -> dict[int, Pending]:
    """The same facts for showing cases (a list page, one case's answer): each kind of fact —
    the pending requests, the dossiers, the open task counts — is loaded for all these cases in
    one go when the first of them reads it, and not at all when none does. `allowed_actions`
    reads only what the preconditions of the actions still in question need (a closed case's
    list row reads nothing), so a page pays for what it shows. Use it within the session."""
    result: dict[int, Pending] = {}
    batch = _Batch(session, result)
    for cid in case_ids:
        result[cid] = _on_demand(batch)
    return result


def _on_demand(batch: "_Batch") -> "_OnDemand":
    """An _OnDemand with Pending's defaults, made without the dataclass's __init__ (each of its
    five assignments goes through Pending.__setattr__: a page made 50 of them)."""
    pending = object.__new__(_OnDemand)
    object.__setattr__(pending, "__dict__", {**_DEFAULTS, "dossier": Dossier(), "_batch": batch})
    return pending


def pending_read_with(
    session: Session, case_id: int, *, requests: list[CaseRequest], open_tasks: int
) -> Pending:
    """pending_on_demand for one case whose pending requests and open task count were read in
    the case's own statement (lookup.case_read): those facts are as given, the rest (the
    dossier) is loaded at its first read, as pending_on_demand does."""
    result: dict[int, Pending] = {}
    batch = _Batch(session, result)
    batch.loaded.update({"requests", "tasks"})
    pending = result[case_id] = _on_demand(batch)
    for req in requests:
        setattr(pending, req.type, req)
    pending.open_tasks = open_tasks
    return pending


def _load_requests(session: Session, result: dict[int, Pending]) -> None:
    rows = session.exec(
        select(CaseRequest).where(
            col(CaseRequest.case_id).in_(list(result)),
            CaseRequest.status == RequestStatus.pending,
        )
    )
    for row in rows:
        setattr(result[row.case_id], row.type, row)


def _load_dossiers(session: Session, result: dict[int, Pending]) -> None:
    for cid, dossier in dossiers(session, list(result)).items():
        result[cid].dossier = dossier


def _load_tasks(session: Session, result: dict[int, Pending]) -> None:
    unfinished = col(CaseTask.state).in_(UNFINISHED)
    for cid, n in session.exec(
        select(CaseTask.case_id, func.count())
        .where(col(CaseTask.case_id).in_(list(result)), unfinished)
        .group_by(col(CaseTask.case_id))
    ):
        result[cid].open_tasks = n


_LOADERS: dict[str, Callable[[Session, dict[int, Pending]], None]] = {
    "requests": _load_requests,
    "dossier": _load_dossiers,
    "tasks": _load_tasks,
}
# Which loader fills each attribute of Pending.
_FACT_OF = {
    "extension": "requests",
    "suspension": "requests",
    "return_": "requests",
    "dossier": "dossier",
    "open_tasks": "tasks",
}


class _Batch:
    def __init__(self, session: Session, result: dict[int, Pending]) -> None:
        self.session = session
        self.result = result
        self.loaded: set[str] = set()

    def load(self, fact: str) -> None:
        if fact not in self.loaded:
            self.loaded.add(fact)  # first: the loader's own writes must not load again
            _LOADERS[fact](self.session, self.result)


class _OnDemand(Pending):
    """A Pending whose facts are loaded for its whole batch at the first read."""

    def __getattribute__(self, name: str) -> object:
        fact = _FACT_OF.get(name)
        if fact is not None:
            object.__getattribute__(self, "_batch").load(fact)
        return object.__getattribute__(self, name)


# The facts a list page's rectifying cases read together (their extension, suspension and
# return requests; a submit's open tasks): one statement for both.
_TOGETHER = frozenset({"requests", "tasks"})


def pending_on_demand_together(session: Session, case_ids: list[int]) -> dict[int, Pending]:
    """pending_on_demand, but the first read of the pending requests or of the open task counts
    loads both in ONE statement (the page's cases by id, their open tasks counted in a scalar
    subquery, their pending requests LEFT JOINed): a page of cases in rectification pays one
    statement for them, not two. The answers are pending_on_demand's (the same rows)."""
    result = pending_on_demand(session, case_ids)
    if result:
        batch = _BatchTogether(session, result)
        for pending in result.values():
            object.__setattr__(pending, "_batch", batch)
    return result


class _BatchTogether(_Batch):
    def load(self, fact: str) -> None:
        if fact in _TOGETHER and fact not in self.loaded:
            self.loaded.update(_TOGETHER)
            _load_requests_and_tasks(self.session, self.result)
        else:
            super().load(fact)


def _load_requests_and_tasks(session: Session, result: dict[int, Pending]) -> None:
    asked = CaseRequest.__table__  # type: ignore[attr-defined]
    if session.autoflush:  # what the ORM's query would flush first: its pending requests
        session.flush()
    conn = session.connection()  # Core: the rows are few, the ORM's execution path is not
    stmt = _requests_and_tasks_statement(conn.dialect.name == "postgresql")
    rows = conn.execute(stmt, {"ids": list(result)}).all()  # one driver call
    for row in rows:
        pending = result[row[0]]  # an id of the page, never None
        pending.open_tasks = row[1] or 0
        if row[2] is not None:  # a pending request: the row as the ORM would have built it
            request = shown_request({c.name: row[i] for i, c in enumerate(asked.c, start=2)})
            setattr(pending, request.type, request)


def shown_request(columns: dict[str, Any]) -> CaseRequest:
    """A pending request read to be shown (a page's, a case read's), built as the ORM builds a
    loaded row: the instance made by its class manager, its columns put in its __dict__.
    CaseRequest(**columns) runs an instrumented assignment per column (~0.1-0.4 ms each, a
    page of cases in rectification built several); the object is the same to read (never
    added to a session)."""
    request: CaseRequest = _REQUESTS.new_instance()
    request.__dict__.update(columns)
    return request


_REQUESTS = CaseRequest._sa_class_manager  # type: ignore[attr-defined]


@cache
def _requests_and_tasks_statement(array: bool) -> Any:
    """_load_requests_and_tasks's statement, built once (composing it costs more Python than
    running it); the case ids are its parameter `ids`. `array` (PostgreSQL): one array
    parameter, `id = ANY(:ids)`, so the statement's text is the same for every page — the
    driver keeps it parsed and prepared and the server need not plan it again (an expanding
    IN of 50 ids: 1.0-1.4 ms a page, the array 0.5-0.8 ms); elsewhere an expanding IN."""
    table = Case.__table__  # type: ignore[attr-defined]
    asked = CaseRequest.__table__  # type: ignore[attr-defined]
    if array:
        ids = table.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))
    else:
        ids = table.c.id.in_(bindparam("ids", expanding=True))
    return (
        sa_select(table.c.id, open_task_count(), *asked.c)
        .select_from(table)
        .outerjoin(asked, pending_of_case())
        .where(ids)
    )


# A co-handling task still to be done (tasks.py's rules use it too).
UNFINISHED = (TaskState.open, TaskState.signed)


def open_task_count() -> Any:
    """A case's unfinished co-handling tasks, counted in a scalar subquery correlated to the
    case table of the enclosing statement: the one form every statement reading it uses."""
    case = Case.__table__  # type: ignore[attr-defined]
    tasks = CaseTask.__table__  # type: ignore[attr-defined]
    return (
        sa_select(func.count())
        .select_from(tasks)
        .where(tasks.c.case_id == case.c.id, tasks.c.state.in_(UNFINISHED))
        .scalar_subquery()
    )


def pending_of_case() -> Any:
    """The join condition of a case (the case table) and its pending requests."""
    case = Case.__table__  # type: ignore[attr-defined]
    asked = CaseRequest.__table__  # type: ignore[attr-defined]
    return and_(asked.c.case_id == case.c.id, asked.c.status == RequestStatus.pending)


def attribute_name(kind: RequestType) -> str:
    """Pending's attribute for a request type (read directly: not through its alias)."""
    return _ALIASES.get(kind.value, kind.value)
