"""Filing, reading and listing cases, and what each caller may do with them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.calendar.days import SHANGHAI
from closeloop.cases import history, lifecycle
from closeloop.config import Settings, get_settings
from closeloop.errors import Invalid, NotFound
from closeloop.letters import numbering
from closeloop.text import Msg
from models.case import Case, CaseCreate, CasePage, CasePublic, CaseRequest, location_of
from models.enums import Action, CaseKind, CaseState, Grade, RegionLevel, RequestStatus, Role
from models.org import Category, Region, Unit


def file_case(session: Session, *, actor: Principal, data: CaseCreate, now: datetime) -> Case:
    if data.kind == CaseKind.letter:
        raise Invalid(Msg("督办件由系统或督办人员签发", "kind must be event or hazard; letters are "
                      "issued by escalation or by a supervisor"))
    grid = session.get(Region, data.grid_code)
    if grid is None or grid.level != RegionLevel.grid:
        raise Invalid(Msg(f"网格 {data.grid_code} 不存在", f"grid_code {data.grid_code!r} is not a grid"))
    category = leaf_category(session, data.category_code)
    policy.require_filer(actor, data.kind, grid.path)
    if data.kind == CaseKind.hazard and data.grade is None:
        raise Invalid(Msg("隐患必须填写等级", "a hazard needs grade: general or major"))
    if data.kind != CaseKind.hazard and data.grade is not None:
        raise Invalid(Msg("只有隐患有等级", "only a hazard has a grade"))
    street, community = street_and_community(grid.path)
    case = Case(
        number=numbering.next_case_number(session, data.kind, now.astimezone(SHANGHAI).year),
        kind=data.kind,
        state=CaseState.reported,
        title=data.title.strip(),
        description=data.description,
        category_code=category.code,
        grid_code=grid.code,
        street_code=street,
        community_code=community,
        region_path=grid.path,
        address=data.address,
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
        grade=data.grade,
        urgent=data.urgent,
        reporter_id=actor.id,
        reported_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    history.append(
        session,
        case=case,
        action="file",
        actor=actor,
        at=now,
        from_state=None,
        to_state=CaseState.reported,
        data={"kind": data.kind, "grade": data.grade},
    )
    session.flush()
    return case


def leaf_category(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None:
        raise Invalid(Msg(f"类别 {code} 不存在", f"category_code {code!r} does not exist"))
    if category.parent_code is None:
        raise Invalid(
            Msg("请选择小类", f"category {code!r} is a class (大类); file against one of its items")
        )
    return category


def street_and_community(path: str) -> tuple[str | None, str | None]:
    """The street and community codes on a grid's path /district/street/community/grid/."""
    parts = [p for p in path.split("/") if p]
    street = parts[1] if len(parts) > 1 else None
    community = parts[2] if len(parts) > 2 else None
    return street, community


def load_case(session: Session, *, actor: Principal, case_id: int, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    case = session.exec(stmt).first()
    if case is None:
        raise NotFound(Msg(f"案件 {case_id} 不存在", f"case {case_id} does not exist"))
    policy.require_visible(
        actor,
        unit_code=case.unit_code,
        region_path=case.region_path,
        reporter_id=case.reporter_id,
        what=Msg(f"案件 {case.number}", f"case {case.number}"),
    )
    return case


@dataclass
class Pending:
    extension: CaseRequest | None = None
    suspension: CaseRequest | None = None


def pending_requests(session: Session, case_ids: list[int]) -> dict[int, Pending]:
    result: dict[int, Pending] = {cid: Pending() for cid in case_ids}
    if not case_ids:
        return result
    rows = session.exec(
        select(CaseRequest).where(
            col(CaseRequest.case_id).in_(case_ids), CaseRequest.status == RequestStatus.pending
        )
    )
    for row in rows:
        setattr(result[row.case_id], row.type, row)
    return result


def allowed_actions(
    case: Case, actor: Principal, *, pending: Pending, now: datetime, settings: Settings
) -> list[str]:
    """The actions this caller may take on this case now: state, role, jurisdiction and the
    preconditions that do not depend on the input."""
    if not policy.can_see(
        actor, unit_code=case.unit_code, region_path=case.region_path, reporter_id=case.reporter_id
    ):
        return []
    result = []
    for action in lifecycle.actions_in(case.state, case.kind):
        if not policy.role_may(actor, action, kind=case.kind, reporter_id=case.reporter_id):
            continue
        if precondition_failure(case, action, pending=pending, now=now, settings=settings):
            continue
        result.append(action)
    return result


def precondition_failure(
    case: Case, action: str, *, pending: Pending, now: datetime, settings: Settings
) -> Msg | None:
    """Why `action` cannot be taken on this case now, apart from state and role; None if it can."""
    if action == Action.request_extension and pending.extension is not None:
        return Msg("已有待审批的延期申请", "an extension request is already pending")
    if action in (Action.approve_extension, Action.reject_extension) and pending.extension is None:
        return Msg("没有待审批的延期申请", "there is no pending extension request")
    if action == Action.request_suspension and pending.suspension is not None:
        return Msg("已有待审批的挂起申请", "a suspension request is already pending")
    if action == Action.reject_suspension and pending.suspension is None:
        return Msg("没有待审批的挂起申请", "there is no pending suspension request")
    if action == Action.reopen and case.closed_at is not None:
        window = timedelta(days=settings.reopen_window_days)
        if now - case.closed_at > window:
            return (
                Msg(f"结案已超过 {settings.reopen_window_days} 天，不能重新打开", "the case closed more "
                f"than {settings.reopen_window_days} days ago and can no longer be reopened")
            )
    return None


def to_public(
    case: Case,
    actor: Principal,
    *,
    pending: Pending,
    now: datetime,
    settings: Settings | None = None,
) -> CasePublic:
    settings = settings or get_settings()
    assert case.id is not None
    return CasePublic(
        id=case.id,
        number=case.number,
        kind=case.kind,
        state=case.state,
        title=case.title,
        description=case.description,
        category_code=case.category_code,
        grid_code=case.grid_code,
        street_code=case.street_code,
        community_code=case.community_code,
        address=case.address,
        location=location_of(case.lat, case.lon),  # type: ignore[arg-type]
        unit_code=case.unit_code,
        grade=Grade(case.grade) if case.grade else None,
        urgent=case.urgent,
        reporter_id=case.reporter_id,
        reported_at=case.reported_at,
        dispatched_at=case.dispatched_at,
        sign_due_at=case.sign_due_at,
        signed_at=case.signed_at,
        due_at=case.due_at,
        due_estimated=case.due_estimated,
        deadline_version=case.deadline_version,
        verify_due_at=case.verify_due_at,
        closed_at=case.closed_at,
        listed=case.listed,
        rework_count=case.rework_count,
        merged_into_id=case.merged_into_id,
        version=case.version,
        allowed_actions=allowed_actions(case, actor, pending=pending, now=now, settings=settings),
    )


def public_one(session: Session, case: Case, actor: Principal, now: datetime) -> CasePublic:
    assert case.id is not None
    pending = pending_requests(session, [case.id])[case.id]
    return to_public(case, actor, pending=pending, now=now)


@dataclass
class CaseFilter:
    state: CaseState | None = None
    kind: CaseKind | None = None
    unit_code: str | None = None
    region_code: str | None = None
    overdue: bool | None = None
    q: str | None = None


def list_cases(
    session: Session,
    *,
    actor: Principal,
    filters: CaseFilter,
    page: int,
    page_size: int,
    now: datetime,
) -> CasePage:
    stmt = select(Case)
    stmt = jurisdiction(stmt, actor)
    if filters.state:
        stmt = stmt.where(Case.state == filters.state)
    if filters.kind:
        stmt = stmt.where(Case.kind == filters.kind)
    if filters.unit_code:
        stmt = stmt.where(Case.unit_code == filters.unit_code)
    if filters.region_code:
        region = session.get(Region, filters.region_code)
        if region is None:
            raise Invalid(Msg(f"区域 {filters.region_code} 不存在", "region_code does not exist"))
        stmt = stmt.where(col(Case.region_path).startswith(region.path, autoescape=True))
    if filters.overdue is not None:
        late = overdue_clause(now)
        stmt = stmt.where(late if filters.overdue else ~late | col(Case.due_at).is_(None))
    if filters.q:
        like = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            or_(
                col(Case.title).like(like),
                col(Case.number).like(like),
                col(Case.address).like(like),
                col(Case.description).like(like),
            )
        )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    # Newest first; an overdue list shows the most overdue first (the earliest deadline).
    order = (
        (col(Case.due_at), col(Case.id))
        if filters.overdue
        else (col(Case.reported_at).desc(), col(Case.id).desc())
    )
    rows = list(
        session.exec(
            stmt.order_by(*order)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    pending = pending_requests(session, [r.id for r in rows if r.id is not None])
    items = [to_public(r, actor, pending=pending[r.id], now=now) for r in rows if r.id]
    return CasePage(items=items, total=total, page=page, page_size=page_size)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """超期: the unit's clock runs (dispatched or rectifying) and the deadline has passed. The one
    definition of "overdue" for lists, metrics, reports and pages."""
    return col(Case.state).in_(list(CaseState.clock_running_states())) & (col(Case.due_at) < now)


def is_overdue(case: Case | CasePublic, now: datetime) -> bool:
    """overdue_clause for one loaded case (the same predicate, in Python)."""
    return (
        case.state in CaseState.clock_running_states()
        and case.due_at is not None
        and case.due_at < now
    )


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


def require_unit(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise Invalid(Msg(f"处置单位 {code} 不存在", f"unit_code {code!r} does not exist"))
    return unit
