"""Passwords (argon2) and access tokens (signed JWT that expire and can be revoked)."""

import secrets
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from closeloop.config import get_settings


def _hasher() -> PasswordHasher:
    """The hasher of chosen passwords, at the configured cost (CLOSELOOP_ARGON2_*)."""
    settings = get_settings()
    return _hashers(settings.argon2_time_cost, settings.argon2_memory_kib)


@lru_cache
def _hashers(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


# A generated one-time password is random (about 70 bits), not a person's choice, so it needs no
# key stretching against guessing: a light argon2id (well under a millisecond instead of ~0.1 s)
# keeps creating hundreds of users with one (a workbook import) to a fraction of a second instead
# of half a minute. It must be changed at the first login, and the password chosen then gets the
# full cost. Verification reads the cost from the hash.
_one_time_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def one_time_password() -> str:
    """A random password to hand out once: 12 characters without look-alikes (0/O, 1/l/I)."""
    return "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(12))


def hash_one_time_password(password: str) -> str:
    """The hash of a generated one-time password (see `_one_time_hasher`)."""
    return _one_time_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def issue_token(
    *, secret: str, user_id: int, generation: int, now: datetime, minutes: int
) -> tuple[str, datetime]:
    expires = now + timedelta(minutes=minutes)
    claims = {
        "sub": str(user_id),
        "gen": generation,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


@lru_cache(maxsize=4096)
def peek_token(token: str) -> tuple[int, str] | None:
    """The user id and token id a token claims, WITHOUT checking its signature (to look both up
    in the one authentication query before `decode_token` checks it); None when malformed."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    sub, jti = claims.get("sub"), claims.get("jti")
    if not isinstance(sub, str) or not sub.isdigit() or not isinstance(jti, str):
        return None
    uid = int(sub)
    if not 0 < uid < 2**31 or not 0 < len(jti) <= 64:
        return None
    return uid, jti


def decode_token(token: str, *, secret: str, now: datetime) -> dict[str, Any] | None:
    """The token's claims, or None when it is forged, malformed or expired at `now`."""
    claims = _verified(token, secret)
    if claims is None or int(claims["exp"]) <= now.timestamp():
        return None
    return dict(claims)


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a token signed with `secret` (expiry apart): a pure function of both,
    kept for the tokens in use so that a request does not check the same signature again."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "require": ["sub", "exp", "jti"]},
        )
    except jwt.PyJWTError:
        return None
