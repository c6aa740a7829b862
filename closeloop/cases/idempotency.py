"""Filing once: an `Idempotency-Key` (the API's header, the filing page's one-time token) makes a
retried or doubled request answer what the first one did instead of filing a second case.

The rule: keys are per user and live 24 hours. The same key again within them, with the same
request, gets the first response back (status and body) and files nothing; with a different
request it is refused (422). An older key is forgotten and the request is new. The key's row is
inserted in the filing's own transaction, before the case: its primary key is the lock. A
concurrent request with the same key waits on that insert (PostgreSQL) or on the writer lock
(SQLite) until the first commits, then fails on the primary key and answers the stored response;
if the first rolled back, the second files. Expired keys are purged as each user files with a
key (their own, through the `created_at` index): no job is needed for a table this small.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from closeloop.errors import Conflict, Invalid
from closeloop.text import Msg
from models.idempotency import IdempotencyKey

TTL = timedelta(hours=24)
MAX_LENGTH = 200
IN_PROGRESS = 0  # status_code of a key whose request has not finished (never seen committed)


@dataclass(frozen=True)
class Stored:
    """The first response to a key: what a repeat of the request answers."""

    status: int
    body: dict[str, Any]
    case_id: int | None


def check_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_LENGTH) or not all("\x21" <= ch <= "\x7e" for ch in key):
        raise Invalid(
            Msg(
                f"Idempotency-Key 应为 1–{MAX_LENGTH} 个可见 ASCII 字符（不含空格）",
                f"Idempotency-Key must be 1 to {MAX_LENGTH} visible ASCII characters (no spaces)",
            )
        )
    return key


def request_hash(data: BaseModel) -> str:
    """The request's fingerprint: its fields in a canonical JSON form."""
    text = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _row(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def _replay(row: IdempotencyKey, digest: str) -> Stored:
    if row.request_hash != digest:
        raise Invalid(
            Msg(
                "该 Idempotency-Key 已用于另一个请求（内容不同），请为新的上报使用新的键",
                "this Idempotency-Key was used for another request (a different body); "
                "use a new key for a new filing",
            )
        )
    if row.status_code == IN_PROGRESS or not row.response:
        raise Conflict(
            Msg(
                "相同 Idempotency-Key 的请求正在处理，请稍后重试",
                "a request with this Idempotency-Key is in progress; retry in a moment",
            )
        )
    return Stored(row.status_code, dict(row.response), row.case_id)


def claim(session: Session, *, user_id: int, key: str, digest: str, now: datetime) -> Stored | None:
    """Take `key` for this request (None: go on and file, then `complete`), or the stored first
    response to replay. 422 for a bad key or a key used with another request; 409 when the
    first request is still running."""
    check_key(key)
    cutoff = now - TTL
    existing = _row(session, user_id, key)
    if existing is not None and existing.created_at > cutoff:
        return _replay(existing, digest)
    # This user's expired keys go, this one's old row with them.
    session.execute(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.created_at) <= cutoff
        )
    )
    try:
        with session.begin_nested():
            session.add(
                IdempotencyKey(
                    user_id=user_id,
                    key=key,
                    request_hash=digest,
                    status_code=IN_PROGRESS,
                    response={},
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        # A concurrent request with this key committed first: answer what it answered.
        row = _row(session, user_id, key)
        if row is None:
            raise Conflict(
                Msg(
                    "相同 Idempotency-Key 的请求正在处理，请稍后重试",
                    "a request with this Idempotency-Key is in progress; retry in a moment",
                )
            ) from None
        return _replay(row, digest)
    return None


def complete(
    session: Session,
    *,
    user_id: int,
    key: str,
    status: int,
    body: dict[str, Any],
    case_id: int | None,
) -> None:
    """Record the response to the key taken by `claim`, in the same transaction."""
    session.execute(
        update(IdempotencyKey)
        .where(col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
        .values(status_code=status, response=body, case_id=case_id)
    )
