"""Login with throttling, token issue, revocation and resolution to a Principal."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, exists, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from closeloop.auth import security
from closeloop.auth.policy import Principal
from closeloop.config import Settings, get_settings
from closeloop.db import connection
from closeloop.errors import Invalid, TooManyRequests, Unauthorized
from closeloop.text import Msg
from models.org import Region
from models.system import AppSetting
from models.user import LoginFailure, RevokedToken, User

SECRET_KEY = "secret_key"
_SECRET_INFO = "closeloop.signing_secret"  # Session.info: the key as read in this session
BAD_LOGIN = Msg("用户名或密码错误", "wrong username or password")


def signing_secret(session: Session, settings: Settings | None = None) -> str:
    """CLOSELOOP_SECRET_KEY, or else a random key created once and kept in the database, so
    every API process of one installation signs with the same key."""
    settings = settings or get_settings()
    if settings.secret_key:
        return settings.secret_key
    if kept := session.info.get(_SECRET_INFO):  # read with the token in this session
        return str(kept)
    row = session.get(AppSetting, SECRET_KEY)
    if row is None:
        row = AppSetting(key=SECRET_KEY, value=security.new_secret())
        session.add(row)
        session.flush()
    return row.value


def is_throttled(
    session: Session, *, username: str, now: datetime, settings: Settings | None = None
) -> bool:
    """Whether logins for `username` are refused now after too many recent failures."""
    return username in throttled(session, now=now, usernames=[username], settings=settings)


def throttled(
    session: Session,
    *,
    now: datetime,
    usernames: list[str] | None = None,
    settings: Settings | None = None,
) -> set[str]:
    """The usernames whose logins are refused now (of `usernames`, or of everyone), in one query."""
    settings = settings or get_settings()
    since = now - timedelta(minutes=settings.login_window_minutes)
    stmt = (
        select(LoginFailure.username)
        .where(col(LoginFailure.at) > since)
        .group_by(col(LoginFailure.username))
        .having(func.count() >= settings.login_max_failures)
    )
    if usernames is not None:
        stmt = stmt.where(col(LoginFailure.username).in_(usernames))
    return set(session.exec(stmt))


def clear_failures(session: Session, *, username: str) -> None:
    """Forget the failed logins of `username` (a successful login, an admin's unlock)."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == username))  # type: ignore[call-overload]


def login(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    settings: Settings | None = None,
) -> tuple[str, datetime]:
    settings = settings or get_settings()
    if is_throttled(session, username=username, now=now, settings=settings):
        raise TooManyRequests(
            Msg(
                f"登录失败次数过多，请 {settings.login_window_minutes} 分钟后再试",
                "too many failed "
                f"logins for {username!r}; try again in {settings.login_window_minutes} minutes",
            ),
            retry_after=settings.login_window_minutes * 60,
        )
    user = session.exec(select(User).where(User.username == username)).first()
    if (
        user is None
        or not user.active
        or not security.verify_password(user.password_hash, password)
    ):
        session.add(LoginFailure(username=username, at=now))
        raise Unauthorized(BAD_LOGIN, keep_changes=True)
    clear_failures(session, username=username)
    return issue_for(session, user=user, now=now, settings=settings)


def issue_for(
    session: Session, *, user: User, now: datetime, settings: Settings | None = None
) -> tuple[str, datetime]:
    """A new token for `user` at their current token generation."""
    settings = settings or get_settings()
    assert user.id is not None
    return security.issue_token(
        secret=signing_secret(session, settings),
        user_id=user.id,
        generation=user.token_generation,
        now=now,
        minutes=settings.token_minutes,
    )


INVALID_TOKEN = Msg("令牌无效或已过期，请重新登录", "the token is invalid or expired; log in again")
REVOKED_TOKEN = Msg("令牌已失效，请重新登录", "the token was revoked; log in again")
LOGGED_OUT = Msg("令牌已注销，请重新登录", "the token was revoked; log in again")


def principal_for(session: Session, *, token: str, now: datetime) -> tuple[Principal, dict]:
    """The user a token stands for, checked against the database as it stands now — the user
    (active, token generation, role, unit, region and its path), the logout list and the signing
    key — in ONE statement; nothing read from the database is kept across requests (only the
    signature check, a pure function of token and key), so a revoked token, a disabled
    user, a reset password or a changed role count from the very next request."""
    seen = security.peek_token(token)  # which user and token: the signature is checked below
    if seen is None:
        raise Unauthorized(INVALID_TOKEN)
    uid, jti = seen
    settings = get_settings()
    who = _who_statement(with_key=not settings.secret_key)
    row = connection(session).execute(who, {"uid": uid, "jti": jti}).first()
    secret = settings.secret_key or (row.secret if row is not None else None)
    if secret:
        session.info[_SECRET_INFO] = secret
    claims = security.decode_token(token, secret=secret or signing_secret(session), now=now)
    if claims is None:
        raise Unauthorized(INVALID_TOKEN)
    if row is None:
        raise Unauthorized(REVOKED_TOKEN)
    if not row.active or claims.get("gen") != row.token_generation:
        raise Unauthorized(REVOKED_TOKEN)
    if row.revoked:
        raise Unauthorized(LOGGED_OUT)
    return _principal(row, row.region_path), claims


@lru_cache(maxsize=2)
def _who_statement(*, with_key: bool) -> Any:
    """The one authentication query, built once: the user's columns a Principal needs (a row,
    not an entity: nothing to build and track) with their region's path, whether the token was
    logged out, and (unless the settings give it) the signing key."""
    columns: list[Any] = [
        *(getattr(User, name) for name in _PRINCIPAL_COLUMNS),
        col(User.active),
        col(User.token_generation),
        col(Region.path).label("region_path"),
        exists().where(col(RevokedToken.jti) == bindparam("jti")).label("revoked"),
    ]
    if with_key:
        kept = select(AppSetting.value).where(col(AppSetting.key) == SECRET_KEY)
        columns.append(kept.scalar_subquery().label("secret"))
    return (
        sa_select(*columns)
        .select_from(User)
        .outerjoin(Region, col(Region.code) == col(User.region_code))
        .where(col(User.id) == bindparam("uid"))
    )


# What a Principal takes from the user (its region path aside).
_PRINCIPAL_COLUMNS = (
    "id",
    "username",
    "display_name",
    "role",
    "unit_code",
    "region_code",
    "must_change_password",
)


def principal_of(session: Session, user: User) -> Principal:
    region = session.get(Region, user.region_code) if user.region_code else None
    return _principal(user, region.path if region else None)


def _principal(user: Any, region_path: str | None) -> Principal:
    """`user`: a User, or a row with its _PRINCIPAL_COLUMNS."""
    return Principal(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        unit_code=user.unit_code,
        region_code=user.region_code,
        region_path=region_path if user.region_code else None,
        must_change_password=user.must_change_password,
    )


def revoke(session: Session, *, claims: dict, now: datetime) -> None:
    """Log out: this token stops working at once; expired revocations are swept as we go."""
    session.exec(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))  # type: ignore[call-overload]
    session.add(
        RevokedToken(jti=claims["jti"], expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC))
    )


def revoke_all(session: Session, *, user: User) -> None:
    user.token_generation += 1
    session.add(user)


MIN_PASSWORD = 8


def change_password(
    session: Session, *, user_id: int, old_password: str, new_password: str
) -> User:
    """The user changes their own password: the old one must match, the new one be at least 8
    characters and different. Clears `must_change_password` and revokes every token the user
    holds (the caller may issue a fresh one for the session in use)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthorized(Msg("令牌已失效，请重新登录", "the token was revoked; log in again"))
    if not security.verify_password(user.password_hash, old_password):
        raise Invalid(
            Msg("old_password：原密码不正确", "old_password: the current password is wrong")
        )
    if not MIN_PASSWORD <= len(new_password) <= 200:
        raise Invalid(
            Msg(
                f"new_password：新密码长度须为 {MIN_PASSWORD}–200 个字符",
                f"new_password: the new password must be {MIN_PASSWORD} to 200 characters long",
            )
        )
    if new_password == old_password:
        raise Invalid(
            Msg("new_password：新密码不能与原密码相同", "new_password: choose a different password")
        )
    user.password_hash = security.hash_password(new_password)
    user.must_change_password = False
    revoke_all(session, user=user)
    session.flush()
    return user
