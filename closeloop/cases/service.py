"""The cases package's front door: filing, performing an action (perform.py, by the action table
in actions.py), reading and listing cases with what each caller may do with them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.calendar.days import SHANGHAI
from closeloop.cases import emergency as emergency_info
from closeloop.cases import history, idempotency, lifecycle, numbering, search
from closeloop.cases import reference_rows as reference_rows  # noqa: F401 (its listeners)
from closeloop.cases.deadlines import is_overdue as is_overdue
from closeloop.cases.deadlines import overdue_clause as overdue_clause
from closeloop.cases.export import write_xlsx as write_xlsx
from closeloop.cases.lifecycle import allowed_actions as allowed_actions
from closeloop.cases.lookup import case_read as case_read
from closeloop.cases.lookup import jurisdiction as jurisdiction
from closeloop.cases.lookup import leaf_category as leaf_category
from closeloop.cases.lookup import load_case as load_case
from closeloop.cases.lookup import require_unit as require_unit
from closeloop.cases.lookup import require_visible as require_visible
from closeloop.cases.lookup import street_and_community as street_and_community
from closeloop.cases.page_json import list_page_json as list_page_json
from closeloop.cases.perform import insert_case, perform_in
from closeloop.cases.perform import perform as perform
from closeloop.cases.perform import withdraw_letter_case as withdraw_letter_case
from closeloop.cases.requests import Pending as Pending
from closeloop.cases.requests import pending_on_demand, pending_on_demand_together
from closeloop.cases.requests import pending_requests as pending_requests
from closeloop.cases.search import SORTS as SORTS
from closeloop.cases.search import CaseFilter as CaseFilter
from closeloop.config import Settings, get_settings
from closeloop.db import connection
from closeloop.errors import Invalid
from closeloop.geo.locate import locate
from closeloop.text import Msg
from models.case import ActionInput, Case, CaseCreate, CasePage, CasePublic, location_of
from models.enterprise import Enterprise
from models.enums import CaseKind, CaseState, Grade, HistoryAction, RegionLevel
from models.org import Category, Region

# Which of these regions is deactivated (built once: building costs more than running it).
_INACTIVE = select(Region.code).where(
    col(Region.code).in_(bindparam("codes", expanding=True)), col(Region.active).is_(False)
)


def _require_active(session: Session, *, grid: Region, category: Category) -> None:
    """A deactivated region (the grid or any region above it) or category takes no new case."""
    codes = [c for c in grid.path.split("/") if c]
    inactive = connection(session).execute(_INACTIVE, {"codes": codes}).scalar()
    if inactive is not None:
        raise Invalid(
            Msg(
                f"网格：区域 {inactive} 已停用，网格 {grid.code} 不再接收新案件",
                f"grid_code: region {inactive} is deactivated, so grid {grid.code} takes no new cases",
            )
        )
    class_ = session.get(Category, category.parent_code) if category.parent_code else None
    for row in (category, class_):
        if row is not None and not row.active:
            raise Invalid(
                Msg(
                    f"类别：{row.code} 已停用，请选择其他类别",
                    f"category_code: category {row.code} is deactivated; choose another one",
                )
            )


def _enterprise(session: Session, code: str | None) -> Enterprise | None:
    if code is None:
        return None
    enterprise = session.get(Enterprise, code)
    if enterprise is None:
        raise Invalid(
            Msg(f"企业/场所：{code} 不存在", f"enterprise_code {code!r} is no enterprise or place")
        )
    if not enterprise.active:
        raise Invalid(
            Msg(
                f"企业/场所：{enterprise.name}（{code}）已停用",
                f"enterprise_code: {enterprise.name} ({code}) is deactivated",
            )
        )
    return enterprise


def _grid_of(session: Session, data: CaseCreate, enterprise: Enterprise | None) -> Region:
    """The case's grid: the one named; else its enterprise's; else the grid holding its GPS
    point. A named grid that is not the enterprise's is refused: the grid follows from it."""
    code = data.grid_code
    if code is None and enterprise is not None:
        code = enterprise.grid_code
    if code is None and data.location is not None:
        code = locate(session, lat=data.location.lat, lon=data.location.lon)
        if code is None:
            raise Invalid(
                Msg(
                    "网格：所报位置不在任何网格内，请选择网格",
                    "grid_code: the location lies in no grid; name the grid",
                )
            )
    if code is None:
        raise Invalid(
            Msg(
                "网格：请填写网格，或选择企业/场所，或提供定位",
                "grid_code is required unless enterprise_code or a location inside a grid is given",
            )
        )
    if enterprise is not None and code != enterprise.grid_code:
        raise Invalid(
            Msg(
                f"网格：{enterprise.name} 属于网格 {enterprise.grid_code}，不是 {code}",
                f"grid_code: {enterprise.name} is in grid {enterprise.grid_code}, not {code}",
            )
        )
    grid = session.get(Region, code)
    if grid is None or grid.level != RegionLevel.grid:
        raise Invalid(Msg(f"网格 {code} 不存在", f"grid_code {code!r} is not a grid"))
    return grid


def file_case(session: Session, *, actor: Principal, data: CaseCreate, now: datetime) -> Case:
    if data.kind == CaseKind.letter:
        raise Invalid(
            Msg(
                "督办件由系统或督办人员签发",
                "kind must be event or hazard; letters are issued by escalation or by a supervisor",
            )
        )
    enterprise = _enterprise(session, data.enterprise_code)
    grid = _grid_of(session, data, enterprise)
    category = leaf_category(session, data.category_code)
    _require_active(session, grid=grid, category=category)
    policy.require_filer(actor, data.kind, grid.path)
    if data.kind == CaseKind.hazard and data.grade is None:
        raise Invalid(Msg("隐患必须填写等级", "a hazard needs grade: general or major"))
    if data.kind != CaseKind.hazard and data.grade is not None:
        raise Invalid(Msg("只有隐患有等级", "only a hazard has a grade"))
    case = new_case(
        session,
        kind=data.kind,
        state=CaseState.reported,
        region_path=grid.path,
        by=actor,
        now=now,
        title=data.title.strip(),
        description=data.description,
        category_code=category.code,
        grid_code=grid.code,
        address=data.address,
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
        grade=data.grade,
        urgent=data.urgent,
        enterprise_code=enterprise.code if enterprise else None,
        emergency=emergency_info.is_emergency(session, urgent=data.urgent, category=category),
    )
    insert_case(session, case)
    history.append(
        session,
        case=case,
        action=HistoryAction.file,
        actor=actor,
        at=now,
        from_state=None,
        to_state=CaseState.reported,
        data={"kind": data.kind, "grade": data.grade},
    )
    session.flush()
    emergency_info.alert(session, case=case, now=now)  # 紧急信息: the leadership at once
    return case


@dataclass(frozen=True)
class Filed:
    """What filing answers: the status and body of `POST /cases` and the case filed (on a
    replay, the case the first request filed)."""

    status: int
    body: dict[str, Any]
    case_id: int | None
    replayed: bool = False


def file_once(
    session: Session,
    *,
    actor: Principal,
    data: CaseCreate,
    now: datetime,
    key: str | None,
    then: Callable[[Case], None] | None = None,
) -> Filed:
    """file_case answered as the API answers it, filed at most once per `key` (idempotency.py:
    the same key within 24 hours replays the first answer; with another request, 422).
    `then(case)` runs after filing, in the same transaction (the filing page's photos)."""
    claimed = False
    if key is not None:
        assert actor.id is not None
        stored = idempotency.claim(
            session, user_id=actor.id, key=key, digest=idempotency.request_hash(data), now=now
        )
        if stored is not None:
            return Filed(stored.status, stored.body, stored.case_id, replayed=True)
        claimed = True
    case = file_case(session, actor=actor, data=data, now=now)
    if then is not None:
        then(case)
    if then is None:
        # Just filed: no request, plan, recheck or assisting task yet (nothing to load).
        assert case.id is not None
        body = to_public(case, actor, pending=Pending(), now=now).model_dump(mode="json")
    else:
        body = public_one(session, case, actor, now).model_dump(mode="json")
    if claimed:
        assert actor.id is not None and key is not None
        idempotency.complete(
            session, user_id=actor.id, key=key, status=201, body=body, case_id=case.id
        )
    return Filed(201, body, case.id)


def new_case(
    session: Session,
    *,
    kind: CaseKind,
    state: CaseState,
    region_path: str,
    by: Principal,
    now: datetime,
    **fields: Any,
) -> Case:
    """A new case row, added to the session: its number drawn (a counter per kind and Shanghai
    year), its street and community read from its region path, filed by `by` at `now`. Filing
    and a letter's own case (督办件) both begin here; the caller sets deadlines, flushes and writes
    the first history entry."""
    street, community = street_and_community(region_path)
    case = Case(
        number=numbering.next_case_number(session, kind, now.astimezone(SHANGHAI).year),
        kind=kind,
        state=state,
        region_path=region_path,
        street_code=street,
        community_code=community,
        reporter_id=by.id,
        reported_at=now,
        updated_at=now,
        **fields,
    )
    session.add(case)
    return case


def to_public(
    case: Case | Any,  # a Case, or a row of its table (a list page: search.find_page)
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
        enterprise_code=case.enterprise_code,
        inspection_id=case.inspection_id,
        version=case.version,
        allowed_actions=lifecycle.allowed_actions(
            case, actor, pending=pending, now=now, settings=settings
        ),
    )


def public_one(session: Session, case: Case, actor: Principal, now: datetime) -> CasePublic:
    """The case as `actor` sees it now (its pending requests loaded once, here)."""
    assert case.id is not None
    pending = pending_on_demand(session, [case.id])[case.id]
    return to_public(case, actor, pending=pending, now=now)


def act(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    action: str,
    data: ActionInput,
    now: datetime,
) -> CasePublic:
    """perform, then the case as `actor` sees it after the action (the pending requests as the
    action left them: nothing loaded twice)."""
    ctx = perform_in(session, actor=actor, case_id=case_id, action=action, data=data, now=now)
    return to_public(ctx.case, actor, pending=ctx.pending, now=now, settings=ctx.settings)


def list_cases(
    session: Session,
    *,
    actor: Principal,
    filters: CaseFilter,
    page: int,
    page_size: int,
    now: datetime,
) -> CasePage:
    """One page of the case list (search.py: jurisdiction, then the filters, in their order),
    each case with what `actor` may do with it."""
    rows, total = search.find_page(
        session, actor=actor, filters=filters, page=page, page_size=page_size, now=now
    )
    pending = pending_on_demand_together(session, [r.id for r in rows if r.id is not None])
    settings = get_settings()
    items = [
        to_public(r, actor, pending=pending[r.id], now=now, settings=settings) for r in rows if r.id
    ]
    return CasePage(items=items, total=total, page=page, page_size=page_size)
