"""The organisation: regions, units, categories and users (admin)."""

import re
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from closeloop.auth import security
from closeloop.errors import Conflict, Invalid
from closeloop.text import Msg
from models.enums import RegionLevel, Role
from models.org import (
    Category,
    CategoryCreate,
    CategoryPublic,
    Region,
    RegionCreate,
    Unit,
    UnitCreate,
)
from models.user import User, UserCreate

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PARENT_LEVEL = {
    RegionLevel.street: RegionLevel.district,
    RegionLevel.community: RegionLevel.street,
    RegionLevel.grid: RegionLevel.community,
}


def _exists(session: Session, model: type, key: object, what: Msg) -> None:
    if session.get(model, key) is not None:
        raise Conflict(Msg(f"{what:zh} {key} 已存在", f"{what:en} {key!r} already exists"))


def _insert(session: Session, row: object, what: Msg) -> None:
    """Add and flush in a savepoint, so a duplicate that raced past the check is a 409."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(Msg(f"{what:zh} 已存在", f"{what:en} already exists")) from None


def create_region(session: Session, *, data: RegionCreate) -> Region:
    _exists(session, Region, data.code, Msg("区域", "region"))
    if data.level == RegionLevel.district:
        if data.parent_code:
            raise Invalid(Msg("区（district）不能有上级", "a district has no parent_code"))
        path = f"/{data.code}/"
    else:
        parent = session.get(Region, data.parent_code) if data.parent_code else None
        expected = _PARENT_LEVEL[data.level]
        if parent is None:
            raise Invalid(
                Msg(
                    f"{data.level} 需要上级 {expected}",
                    f"a {data.level} needs parent_code naming an existing {expected}",
                )
            )
        if parent.level != expected:
            raise Invalid(
                Msg(
                    f"{data.level} 的上级必须是 {expected}",
                    f"the parent of a {data.level} must be a "
                    f"{expected}; {parent.code} is a {parent.level}",
                )
            )
        path = f"{parent.path}{data.code}/"
    region = Region(**data.model_dump(), path=path)
    _insert(session, region, Msg(f"区域 {data.code}", f"region {data.code}"))
    return region


def list_regions(session: Session) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.path)))


def _check_contacts(*, emails: dict[str, str | None], url: str | None) -> None:
    for field, value in emails.items():
        if value is not None and not EMAIL.match(value):
            raise Invalid(
                Msg(f"{field} 不是有效的邮箱地址", f"{field} {value!r} is not an email address")
            )
    if url is not None and not url.startswith(("http://", "https://")):
        raise Invalid(
            Msg(
                "webhook_url 必须以 http:// 或 https:// 开头",
                f"webhook_url {url!r} must be an http:// or https:// URL",
            )
        )


def create_unit(session: Session, *, data: UnitCreate) -> Unit:
    _exists(session, Unit, data.code, Msg("单位", "unit"))
    _check_contacts(
        emails={"email": data.email, "head_email": data.head_email}, url=data.webhook_url
    )
    unit = Unit(**data.model_dump())
    _insert(session, unit, Msg(f"单位 {data.code}", f"unit {data.code}"))
    return unit


def list_units(session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(Unit.code)))


def create_category(session: Session, *, data: CategoryCreate) -> Category:
    _exists(session, Category, data.code, Msg("类别", "category"))
    if data.parent_code is not None:
        parent = session.get(Category, data.parent_code)
        if parent is None:
            raise Invalid(Msg(f"上级类别 {data.parent_code} 不存在", "parent_code does not exist"))
        if parent.parent_code is not None:
            raise Invalid(
                Msg(
                    "类别只有两级（大类/小类）",
                    "categories have two levels: the parent must be a class",
                )
            )
        if data.unit_code is None or data.limit_days is None:
            raise Invalid(
                Msg(
                    "小类必须指定默认处置单位和整改时限",
                    "an item needs unit_code (its default unit) "
                    "and limit_days (its rectification limit)",
                )
            )
    if data.unit_code is not None and session.get(Unit, data.unit_code) is None:
        raise Invalid(Msg(f"单位 {data.unit_code} 不存在", "unit_code does not exist"))
    category = Category(**data.model_dump())
    _insert(session, category, Msg(f"类别 {data.code}", f"category {data.code}"))
    return category


def list_categories(session: Session) -> list[CategoryPublic]:
    rows = list(session.exec(select(Category).order_by(Category.code)))
    parents = {r.parent_code for r in rows if r.parent_code}
    return [
        CategoryPublic(**r.model_dump(), is_leaf=r.parent_code is not None or r.code not in parents)
        for r in rows
    ]


def create_user(session: Session, *, data: UserCreate, now: datetime) -> User:
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise Conflict(
            Msg(f"用户 {data.username} 已存在", f"user {data.username!r} already exists")
        )
    if data.unit_code is not None and session.get(Unit, data.unit_code) is None:
        raise Invalid(Msg(f"单位 {data.unit_code} 不存在", "unit_code does not exist"))
    _check_contacts(emails={"email": data.email}, url=None)
    if data.region_code is not None and session.get(Region, data.region_code) is None:
        raise Invalid(Msg(f"区域 {data.region_code} 不存在", "region_code does not exist"))
    if data.role == Role.handler and data.unit_code is None:
        raise Invalid(
            Msg("处置人员必须属于一个单位", "a handler needs unit_code: the unit they work for")
        )
    if data.role in (Role.reporter, Role.dispatcher, Role.supervisor) and data.region_code is None:
        raise Invalid(
            Msg(f"{data.role} 必须指定辖区", f"a {data.role} needs region_code: their jurisdiction")
        )
    user = User(
        **data.model_dump(exclude={"password"}),
        password_hash=security.hash_password(data.password),
        created_at=now,
    )
    _insert(session, user, Msg(f"用户 {data.username}", f"user {data.username}"))
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.id))))
