"""Users: create, change (role, jurisdiction, password, deactivation), reset and unlock.

Deactivating a user or changing their password revokes every token and web session they hold
at once (auth.revoke_all); their cases and history stay. The last active admin stays an admin.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth import security
from closeloop.auth import service as auth
from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.org.common import Batch, check_contacts, insert, taken
from closeloop.org.robots import robot_fields
from closeloop.text import Msg
from models.enums import Role
from models.org import Region, Unit
from models.user import User, UserCreate, UserUpdate

# Unambiguous characters (no 0/O, 1/l/I) for a password read off a screen and typed once.
USER = Msg("用户", "user")


def get_user(session: Session, *, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(Msg(f"用户 {username} 不存在", f"user {username!r} does not exist"))
    return user


def _check_jurisdiction(
    session: Session,
    *,
    role: Role,
    unit_code: str | None,
    region_code: str | None,
    check_unit: bool = True,
    check_region: bool = True,
) -> None:
    """The rules a user's role, unit and region must satisfy together."""
    if check_unit and unit_code is not None:
        unit = session.get(Unit, unit_code)
        if unit is None:
            raise Invalid(Msg(f"单位 {unit_code} 不存在", "unit_code does not exist"))
    if check_region and region_code is not None and session.get(Region, region_code) is None:
        raise Invalid(Msg(f"区域 {region_code} 不存在", "region_code does not exist"))
    if role == Role.handler and unit_code is None:
        raise Invalid(
            Msg("处置人员必须属于一个单位", "a handler needs unit_code: the unit they work for")
        )
    if role in (Role.reporter, Role.dispatcher, Role.supervisor) and region_code is None:
        raise Invalid(
            Msg(
                f"{labels.ROLE[role].zh}必须指定辖区（region_code）",
                f"a {role} needs region_code: their jurisdiction",
            )
        )


def create_user(
    session: Session,
    *,
    data: UserCreate,
    now: datetime,
    one_time: bool = False,
    generated: bool = False,
    batch: Batch | None = None,
) -> User:
    """`one_time`: data.password was generated (security.one_time_password) and must be changed
    at the first login; being random, it is hashed lightly (security.hash_one_time_password).
    `generated`: data.password is random too (the demo's accounts) but stays: hashed lightly,
    no change asked for. `batch`: see common.Batch (its keys are usernames)."""
    if (
        data.username in batch.taken
        if batch is not None
        else session.exec(select(User.id).where(User.username == data.username)).first() is not None
    ):
        raise taken(USER, data.username)
    if data.unit_code is not None and session.get(Unit, data.unit_code) is None:
        raise Invalid(Msg(f"单位 {data.unit_code} 不存在", "unit_code does not exist"))
    check_contacts(emails={"email": data.email}, url=data.webhook_url)
    _check_jurisdiction(
        session, role=data.role, unit_code=data.unit_code, region_code=data.region_code
    )
    robot = robot_fields(
        url=data.webhook_url,
        kind=data.webhook_kind,
        secret=data.webhook_secret,
        given=data.model_fields_set,
    )
    user = User(
        **{**data.model_dump(exclude={"password"}), **robot},
        password_hash=(
            security.hash_one_time_password(data.password)
            if one_time or generated
            else security.hash_password(data.password)
        ),
        must_change_password=one_time,
        created_at=now,
    )
    insert(
        session, user, Msg(f"用户 {data.username}", f"user {data.username}"), batch, data.username
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.id))))


def _other_active_admins(session: Session, user: User) -> int:
    stmt = (
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, col(User.active).is_(True), User.id != user.id)
    )
    return int(session.exec(stmt).one())


def update_user(session: Session, *, username: str, data: UserUpdate, now: datetime) -> User:
    """Change a user; `now` is the time of the change (kept for the audit the caller may add)."""
    del now
    user = get_user(session, username=username)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    role = changes.get("role", user.role)
    active = changes.get("active", user.active)
    if user.role == Role.admin and user.active and (role != Role.admin or not active):
        if _other_active_admins(session, user) == 0:
            raise Conflict(
                Msg(
                    f"{username} 是最后一个启用的管理员，不能停用或改为其他角色；请先设置另一个管理员",
                    f"{username} is the last active admin and cannot be deactivated or given "
                    "another role; make another user an admin first",
                )
            )
    if "email" in changes:
        check_contacts(emails={"email": changes["email"]}, url=None)
    check_contacts(emails={}, url=changes.get("webhook_url"))
    changes.update(
        robot_fields(
            url=changes.get("webhook_url", user.webhook_url),
            kind=changes.get("webhook_kind"),
            secret=changes.get("webhook_secret"),
            given=set(changes),
            stored_kind=user.webhook_kind,
            stored_secret=user.webhook_secret,
        )
    )
    _check_jurisdiction(
        session,
        role=role,
        unit_code=changes.get("unit_code", user.unit_code),
        region_code=changes.get("region_code", user.region_code),
        check_unit="unit_code" in changes,
        check_region="region_code" in changes,
    )
    password = changes.pop("password", None)
    revoke = password is not None or (user.active and not active)
    for name, value in changes.items():
        setattr(user, name, value)
    if password is not None:
        user.password_hash = security.hash_password(password)
    if revoke:
        auth.revoke_all(session, user=user)
    session.add(user)
    session.flush()
    return user


def reset_password(session: Session, *, username: str, now: datetime) -> str:
    """Give the user a random one-time password, to be changed at the next login; revokes
    their tokens and lifts a login lock. Returns the password, shown once: only its hash is kept."""
    del now
    user = get_user(session, username=username)
    password = security.one_time_password()
    user.password_hash = security.hash_one_time_password(password)
    user.must_change_password = True
    auth.revoke_all(session, user=user)
    auth.clear_failures(session, username=username)
    session.add(user)
    session.flush()
    return password


def unlock_user(session: Session, *, username: str) -> None:
    """Lift the failed-login throttle of a user."""
    get_user(session, username=username)
    auth.clear_failures(session, username=username)


def is_locked(session: Session, *, username: str, now: datetime) -> bool:
    """Whether the user's logins are refused now after too many failures."""
    return auth.is_throttled(session, username=username, now=now)


def locked_users(session: Session, *, now: datetime) -> set[str]:
    """The usernames whose logins are refused now, all at once (for a list of users)."""
    return auth.throttled(session, now=now)
