"""Work queues the pages show: time left in working days, possible duplicates, a unit's work list,
requests waiting for a supervisor and listed cases. Everything is narrowed by jurisdiction."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.calendar.days import WorkCalendar
from closeloop.cases.deadlines import overdue_clause
from closeloop.cases.lookup import jurisdiction
from closeloop.cases.requests import pending_requests
from closeloop.cases.service import to_public
from models.case import Case, CasePublic, CaseRequest
from models.enums import Action, CaseKind, CaseState, RequestStatus
from models.history import CaseHistory

DUPLICATE_DAYS = 3
SOON_DAYS = 3
QUEUE_SIZE = 200


@dataclass(frozen=True)
class TimeLeft:
    """Working days left until a deadline: `days` ≥ 0 left (0: due today), or, when `overdue`,
    the working days it is late (0: late since earlier today)."""

    days: int
    overdue: bool


def time_left(cal: WorkCalendar, due_at: datetime | None, now: datetime) -> TimeLeft | None:
    """How long until `due_at`, counted in working days of the calendar (Shanghai dates)."""
    if due_at is None:
        return None
    today, due_day = cal.local_date(now), cal.local_date(due_at)
    if due_at >= now:
        return TimeLeft(cal.working_days_between(today, due_day), overdue=False)
    return TimeLeft(cal.working_days_between(due_day, today), overdue=True)


class Counting(StrEnum):
    """Which deadline a case's countdown counts now."""

    sign = "sign"  # 签收期限: dispatched, not yet signed for
    verify = "verify"  # 核查期限: submitted, waiting for verification
    reply = "reply"  # 反馈期限: a letter case's reply
    rectify = "rectify"  # 整改期限: the unit's rectification


@dataclass(frozen=True)
class RunningDeadline:
    which: Counting
    at: datetime | None


def running_deadline(case: Case | CasePublic) -> RunningDeadline | None:
    """The deadline that counts now: signing while dispatched (when it has a signing deadline),
    verification while verifying, else a letter case's reply or the rectification while the
    unit's clock runs; none while suspended, closed or not yet dispatched."""
    if case.state == CaseState.verifying:
        return RunningDeadline(Counting.verify, case.verify_due_at)
    if case.state == CaseState.dispatched and case.sign_due_at is not None:
        return RunningDeadline(Counting.sign, case.sign_due_at)
    if case.state in CaseState.clock_running_states():
        which = Counting.reply if case.kind == CaseKind.letter else Counting.rectify
        return RunningDeadline(which, case.due_at)
    return None


def running_time_left(cal: WorkCalendar, case: Case | CasePublic, now: datetime) -> TimeLeft | None:
    """Time left on the deadline running now (running_deadline)."""
    running = running_deadline(case)
    return time_left(cal, running.at, now) if running else None


def sign_overdue(case: Case | CasePublic, now: datetime) -> bool:
    """A dispatched case not signed for by its signing deadline (签收超时)."""
    return (
        case.state == CaseState.dispatched
        and case.sign_due_at is not None
        and case.sign_due_at < now
    )


def possible_duplicates(
    session: Session,
    *,
    actor: Principal,
    cases: list[Case],
    days: int = DUPLICATE_DAYS,
) -> dict[int, list[Case]]:
    """For each case, the other cases the actor may see with the same category and grid filed
    within `days` days of it (either side), not cancelled: candidates for a merge."""
    result: dict[int, list[Case]] = {c.id: [] for c in cases if c.id is not None}
    keyed = [c for c in cases if c.id is not None and c.category_code and c.grid_code]
    if not keyed:
        return result
    window = timedelta(days=days)
    earliest = min(c.reported_at for c in keyed) - window
    latest = max(c.reported_at for c in keyed) + window
    stmt = jurisdiction(select(Case), actor).where(
        col(Case.category_code).in_({c.category_code for c in keyed}),
        col(Case.grid_code).in_({c.grid_code for c in keyed}),
        col(Case.reported_at) >= earliest,
        col(Case.reported_at) <= latest,
        Case.state != CaseState.cancelled,
    )
    by_key: dict[tuple[str | None, str | None], list[Case]] = defaultdict(list)
    for other in session.exec(stmt.order_by(col(Case.reported_at), col(Case.id))):
        by_key[(other.category_code, other.grid_code)].append(other)
    for case in keyed:
        assert case.id is not None
        result[case.id] = [
            o
            for o in by_key[(case.category_code, case.grid_code)]
            if o.id != case.id and abs(o.reported_at - case.reported_at) <= window
        ]
    return result


@dataclass(frozen=True)
class Returned:
    """A return (退单): the unit that refused the case, its reason and when."""

    unit_code: str | None
    reason: str
    at: datetime


def returns_of(session: Session, case_ids: list[int]) -> dict[int, list[Returned]]:
    """Every return of these cases, latest first, in one query."""
    found: dict[int, list[Returned]] = {i: [] for i in case_ids}
    if not case_ids:
        return found
    stmt = (
        select(CaseHistory)
        .where(col(CaseHistory.case_id).in_(case_ids), CaseHistory.action == Action.return_)
        .order_by(col(CaseHistory.case_id), col(CaseHistory.seq).desc())
    )
    for h in session.exec(stmt):
        found[h.case_id].append(Returned(h.data.get("unit_code"), h.note or "", h.at))
    return found


def latest_returns(session: Session, case_ids: list[int]) -> dict[int, Returned]:
    """For each of these cases that was ever returned, its latest return (the queue marks it
    with the reason and the unit that refused it)."""
    return {i: r[0] for i, r in returns_of(session, case_ids).items() if r}


def by_unit(returns: list[Returned]) -> dict[str, Returned]:
    """The units that returned a case (its returns, latest first), each with its latest return."""
    units: dict[str, Returned] = {}
    for r in returns:
        if r.unit_code and r.unit_code not in units:
            units[r.unit_code] = r
    return units


def returned_by(session: Session, *, case_id: int) -> dict[str, Returned]:
    """The units that returned this case, each with its latest return and reason."""
    return by_unit(returns_of(session, [case_id])[case_id])


def dispatch_default(category_unit: str | None, returned: dict[str, Returned]) -> str:
    """The unit a dispatch offers first: the category's routing unit, unless that unit has
    returned the case (then none: the dispatcher chooses)."""
    if not category_unit or category_unit in returned:
        return ""
    return category_unit


@dataclass
class Row:
    case: CasePublic
    left: TimeLeft | None


@dataclass
class Worklist:
    to_sign: list[Row] = field(default_factory=list)
    due_soon: list[Row] = field(default_factory=list)
    overdue: list[Row] = field(default_factory=list)
    other: list[Row] = field(default_factory=list)


def unit_worklist(
    session: Session,
    *,
    actor: Principal,
    cal: WorkCalendar,
    now: datetime,
    soon_days: int = SOON_DAYS,
) -> Worklist:
    """A unit's open cases: to sign (dispatched), due within `soon_days` working days, overdue
    (cases.overdue_clause), and the rest of its open work (suspended, verifying, not yet due)."""
    work = Worklist()
    stmt = jurisdiction(select(Case), actor).where(
        col(Case.state).in_(list(CaseState.dispatched_states()))
    )
    rows = list(session.exec(stmt.order_by(col(Case.due_at), col(Case.id)).limit(QUEUE_SIZE)))
    pending = pending_requests(session, [c.id for c in rows if c.id is not None])
    items = [to_public(c, actor, pending=pending[c.id], now=now) for c in rows if c.id is not None]
    late_ids = set(
        session.exec(jurisdiction(select(Case.id), actor).where(overdue_clause(now))).all()
    )
    for item in items:
        row = Row(item, running_time_left(cal, item, now))
        if item.state == CaseState.dispatched:
            work.to_sign.append(row)
        elif item.id in late_ids:
            work.overdue.append(row)
        elif (
            item.state == CaseState.rectifying
            and row.left is not None
            and row.left.days <= soon_days
        ):
            work.due_soon.append(row)
        else:
            work.other.append(row)
    for rows in (work.to_sign, work.due_soon, work.overdue):
        rows.sort(key=lambda r: (r.case.due_at or r.case.reported_at, r.case.id))
    return work


@dataclass
class Decision:
    case: CasePublic
    request: CaseRequest


def pending_decisions(session: Session, *, actor: Principal, now: datetime) -> list[Decision]:
    """Extension and suspension requests waiting for a decision, on cases the actor may see,
    oldest first."""
    stmt = (
        jurisdiction(select(CaseRequest, Case), actor)
        .join(Case, col(Case.id) == CaseRequest.case_id)
        .where(CaseRequest.status == RequestStatus.pending)
        .order_by(col(CaseRequest.requested_at), col(CaseRequest.id))
        .limit(QUEUE_SIZE)
    )
    rows = list(session.exec(stmt))
    pending = pending_requests(session, [c.id for _, c in rows if c.id is not None])
    return [
        Decision(to_public(c, actor, pending=pending[c.id], now=now), r)
        for r, c in rows
        if c.id is not None
    ]


def listed_open(session: Session, *, actor: Principal, now: datetime) -> list[CasePublic]:
    """Open cases listed for supervision (挂牌督办) that the actor may see."""
    stmt = jurisdiction(select(Case), actor).where(
        col(Case.listed).is_(True), col(Case.state).in_(list(CaseState.open_states()))
    )
    rows = list(session.exec(stmt.order_by(col(Case.due_at), col(Case.id)).limit(QUEUE_SIZE)))
    pending = pending_requests(session, [c.id for c in rows if c.id is not None])
    return [to_public(c, actor, pending=pending[c.id], now=now) for c in rows if c.id is not None]
