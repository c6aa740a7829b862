"""Passwords (argon2) and access tokens (signed JWT that expire and can be revoked)."""

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
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


def decode_token(token: str, *, secret: str, now: datetime) -> dict[str, Any] | None:
    """The token's claims, or None when it is forged, malformed or expired at `now`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "require": ["sub", "exp", "jti"]},
        )
    except jwt.PyJWTError:
        return None
    if int(claims["exp"]) <= now.timestamp():
        return None
    return claims
