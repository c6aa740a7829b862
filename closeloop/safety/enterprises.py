"""The enterprise and place register (一企一档): create, change (PATCH, incl. deactivating),
list with filters, read one.

Who: an admin, a dispatcher or a supervisor registers and edits enterprises and places in their
region (an admin anywhere); every role reads within its jurisdiction (`visible`). A record's
street, community and region path are copied from its grid, like a case's, so jurisdiction and
figures need no join. The register's rules for one record are in `checked` (used by the import
too): an enterprise has a unified social credit code with a valid GB 32100 check character, a
place has none; the grid is an active grid in the actor's region."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth.policy import Principal, in_region
from closeloop.cases.lookup import street_and_community
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.safety.credit_code import ALPHABET, check_character
from closeloop.text import Msg
from models.case import Case
from models.enterprise import Enterprise, EnterpriseCreate, EnterpriseUpdate
from models.enums import EnterpriseKind, RegionLevel, RiskLevel, Role
from models.org import Region, Unit

EDITORS = (Role.admin, Role.dispatcher, Role.supervisor)
# Text columns that are never NULL: clearing one (null in a PATCH) leaves it empty.
TEXTS = ("address", "industry", "scale", "contact_name", "contact_phone")
CREDIT = Msg("统一社会信用代码", "credit_code")


def credit_problem(code: str) -> Msg | None:
    """None for a valid unified social credit code; otherwise what is wrong, in both languages
    (a wrong check character names the one the first 17 characters give)."""
    if len(code) != 18:
        return Msg(
            f"统一社会信用代码应为 18 位，{code} 有 {len(code)} 位",
            f"credit_code {code!r} has {len(code)} characters; a unified social credit code has 18",
        )
    bad = "".join(sorted({c for c in code if c not in ALPHABET}))
    if bad:
        return Msg(
            f"统一社会信用代码含有无效字符 {bad}（只用数字和除 I、O、S、V、Z 以外的大写字母）",
            f"credit_code contains {bad!r}; only digits and capitals other than I O S V Z are used",
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return Msg(
            f"统一社会信用代码 {code} 的校验码错误：第 18 位应为 {expected}，而不是 {code[17]}",
            f"credit_code {code}: the check character should be {expected}, not {code[17]} "
            "(GB 32100)",
        )
    return None


def may_edit(actor: Principal) -> bool:
    return actor.role in EDITORS


def require_editor(actor: Principal) -> None:
    if not may_edit(actor):
        raise Forbidden(
            Msg(
                f"{labels.ROLE[Role(actor.role)]:zh}不能登记或修改企业/场所（需要管理员、"
                "受理派遣员或督办人员）",
                f"role {actor.role} may not register or change enterprises; "
                "allowed: admin, dispatcher, supervisor",
            )
        )


def _kind_and_code(kind: EnterpriseKind, credit_code: str | None) -> None:
    if kind == EnterpriseKind.enterprise:
        if not credit_code:
            raise Invalid(
                Msg(
                    "统一社会信用代码：企业必须填写",
                    "credit_code is required for kind enterprise (a place has none)",
                )
            )
        problem = credit_problem(credit_code)
        if problem is not None:
            raise Invalid(problem)
    elif credit_code:
        raise Invalid(
            Msg(
                "场所没有统一社会信用代码，请留空（或将类型改为企业）",
                "a place (kind place) has no credit_code: leave it empty, or set kind enterprise",
            )
        )


def grid_for(session: Session, *, actor: Principal, code: str) -> Region:
    """An active grid in the actor's region (an admin: any), or 422/403."""
    grid = session.get(Region, code)
    if grid is None or grid.level != RegionLevel.grid:
        raise Invalid(Msg(f"网格 {code} 不存在", f"grid_code {code!r} is not a grid"))
    if not grid.active:
        raise Invalid(
            Msg(f"网格：{grid.name}（{code}）已停用", f"grid_code {code!r} is deactivated")
        )
    if actor.role != Role.admin and not in_region(actor, grid.path):
        raise Forbidden(
            Msg(f"网格 {grid.name} 不在您的管辖范围内", f"grid {code} is outside your jurisdiction")
        )
    return grid


def checked(session: Session, *, actor: Principal, data: EnterpriseCreate) -> dict[str, Any]:
    """A new record's column values, once every rule of the register holds (not uniqueness)."""
    _kind_and_code(data.kind, data.credit_code)
    grid = grid_for(session, actor=actor, code=data.grid_code)
    street, community = street_and_community(grid.path)
    values = data.model_dump()
    values.update(street_code=street, community_code=community, region_path=grid.path)
    return values


def _taken_credit(session: Session, credit_code: str, but: str | None = None) -> None:
    stmt = select(Enterprise.code, Enterprise.name).where(Enterprise.credit_code == credit_code)
    if but is not None:
        stmt = stmt.where(Enterprise.code != but)
    other = session.exec(stmt).first()
    if other is not None:
        raise Conflict(
            Msg(
                f"统一社会信用代码 {credit_code} 已登记为 {other[1]}（{other[0]}）",
                f"credit_code {credit_code} is already registered as {other[0]}",
            )
        )


def create_enterprise(
    session: Session, *, actor: Principal, data: EnterpriseCreate, now: datetime
) -> Enterprise:
    require_editor(actor)
    values = checked(session, actor=actor, data=data)
    if session.get(Enterprise, data.code) is not None:
        raise Conflict(
            Msg(
                f"企业/场所代码 {data.code} 已存在", f"enterprise code {data.code!r} already exists"
            )
        )
    if data.credit_code:
        _taken_credit(session, data.credit_code)
    row = Enterprise(**values, active=True, created_at=now, updated_at=now)
    try:
        with session.begin_nested():  # a duplicate that raced past the checks is a 409 too
            session.add(row)
    except IntegrityError:
        raise Conflict(
            Msg(
                f"企业/场所 {data.code} 或其统一社会信用代码已存在",
                f"enterprise {data.code!r} or its credit_code already exists",
            )
        ) from None
    return row


def get_enterprise(session: Session, *, actor: Principal, code: str) -> Enterprise:
    row = session.get(Enterprise, code)
    if row is None:
        raise NotFound(Msg(f"企业/场所 {code} 不存在", f"enterprise {code!r} does not exist"))
    found = session.exec(visible(select(Enterprise.code), actor).where(Enterprise.code == code))
    if found.first() is None:
        raise Forbidden(
            Msg(
                f"企业/场所 {row.name} 不在您的管辖范围内",
                f"enterprise {code} is outside your jurisdiction",
            )
        )
    return row


def update_enterprise(
    session: Session, *, actor: Principal, code: str, data: EnterpriseUpdate, now: datetime
) -> Enterprise:
    require_editor(actor)
    row = get_enterprise(session, actor=actor, code=code)  # an editor sees their region
    changes = data.model_dump(exclude_unset=True)
    kind = EnterpriseKind(changes.get("kind", row.kind))
    credit_code = changes.get("credit_code", row.credit_code)
    _kind_and_code(kind, credit_code)
    if credit_code and credit_code != row.credit_code:
        _taken_credit(session, credit_code, but=code)
    if "grid_code" in changes and changes["grid_code"] != row.grid_code:
        grid = grid_for(session, actor=actor, code=changes["grid_code"])
        street, community = street_and_community(grid.path)
        changes.update(street_code=street, community_code=community, region_path=grid.path)
    for name, value in changes.items():
        setattr(row, name, "" if value is None and name in TEXTS else value)
    row.updated_at = now
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            Msg(f"统一社会信用代码 {credit_code} 已登记", f"credit_code {credit_code} is taken")
        ) from None
    return row


def visible(stmt: Any, actor: Principal) -> Any:
    """Narrow a query over Enterprise to what `actor` may read: an admin everything; a
    dispatcher, supervisor or grid worker their region; a handler the district(s) their unit
    serves (every one for a unit of no district), and any enterprise with a case of their unit."""
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.handler:
        cases = select(Case.enterprise_code).where(
            Case.unit_code == (actor.unit_code or "\x00"), col(Case.enterprise_code).is_not(None)
        )
        district = (
            select(Region.path)
            .join(Unit, col(Unit.region_code) == Region.code)
            .where(Unit.code == (actor.unit_code or "\x00"))
            .scalar_subquery()
        )
        everywhere = (
            select(Unit.code)
            .where(Unit.code == (actor.unit_code or "\x00"), col(Unit.region_code).is_(None))
            .exists()
        )
        in_district = col(Enterprise.region_path).startswith(district)
        return stmt.where(or_(everywhere, in_district, col(Enterprise.code).in_(cases)))
    path = actor.region_path or "\x00"
    return stmt.where(col(Enterprise.region_path).startswith(path, autoescape=True))


@dataclass
class EnterpriseFilter:
    """What the register list is narrowed to; None or "" is "any"."""

    q: str | None = None
    kind: EnterpriseKind | None = None
    industry: str | None = None
    region_code: str | None = None  # any region: its subtree (a street, community or grid)
    grid_code: str | None = None
    street_code: str | None = None
    risk_level: RiskLevel | None = None
    active: bool | None = None


def _under(session: Session, field: str, code: str) -> str:
    region = session.get(Region, code)
    if region is None:
        raise Invalid(Msg(f"区域（{field}）{code} 不存在", f"{field} {code!r} does not exist"))
    return region.path


def search(session: Session, *, actor: Principal, filters: EnterpriseFilter) -> Any:
    """SELECT Enterprise … within `actor`'s jurisdiction and `filters` (unordered)."""
    stmt = visible(select(Enterprise), actor)
    if filters.q and filters.q.strip():
        like = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            or_(
                col(Enterprise.name).like(like),
                col(Enterprise.code).like(like),
                col(Enterprise.credit_code).like(like.upper()),
                col(Enterprise.address).like(like),
            )
        )
    if filters.kind:
        stmt = stmt.where(Enterprise.kind == filters.kind)
    if filters.industry:
        stmt = stmt.where(Enterprise.industry == filters.industry)
    if filters.risk_level:
        stmt = stmt.where(Enterprise.risk_level == filters.risk_level)
    if filters.active is not None:
        stmt = stmt.where(Enterprise.active == filters.active)
    for field in ("region_code", "street_code", "grid_code"):
        code = getattr(filters, field)
        if code:
            path = _under(session, field, code)
            stmt = stmt.where(col(Enterprise.region_path).startswith(path, autoescape=True))
    return stmt


def find_page(
    session: Session, *, actor: Principal, filters: EnterpriseFilter, page: int, page_size: int
) -> tuple[list[Enterprise], int]:
    """One page of the register (by code) and how many match in all."""
    stmt = search(session, actor=actor, filters=filters)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(Enterprise.code)).offset((page - 1) * page_size).limit(page_size)
    )
    return list(rows), int(total)


def industries(session: Session, *, actor: Principal) -> list[str]:
    """The industries named in the register the actor sees (for a filter's choices)."""
    stmt = visible(select(Enterprise.industry).distinct(), actor).where(Enterprise.industry != "")
    return sorted(session.exec(stmt))


def regions_for(session: Session, *, actor: Principal, level: RegionLevel) -> list[Region]:
    """The active regions of a level in the actor's region (an admin or a handler: all), for a
    form's choices."""
    stmt = select(Region).where(Region.level == level, col(Region.active).is_(True))
    if actor.role not in (Role.admin, Role.handler):
        path = actor.region_path or "\x00"
        stmt = stmt.where(col(Region.path).startswith(path, autoescape=True))
    return list(session.exec(stmt.order_by(col(Region.path))))


def choices(session: Session, *, actor: Principal, limit: int = 500) -> list[Enterprise]:
    """The active enterprises and places the actor sees, by name (a filing form's list)."""
    stmt = visible(select(Enterprise), actor).where(col(Enterprise.active).is_(True))
    return list(session.exec(stmt.order_by(col(Enterprise.name)).limit(limit)))
