"""Delivery: send due outbox messages, with retries, back-off and a visible failed state.

The delivery flow (workflows/flows.py) runs it: (1) claim a batch of due messages in a short
transaction — `UPDATE … SET claimed_until` guarded by `claimed_until IS NULL OR claimed_until <
now`, so two runs never hold one message at once; (2) per batch of those, send each message
outside any transaction; (3) record each result in its own short transaction: sent (with
sent_at), or the failure (attempts + 1, last_error, next attempt after backoff·2^(attempts−1)),
or failed after the last attempt. A crash between (2) and (3) leaves the message pending with a
claim that runs out; the next run sends it again with the same idempotency key. Delivery is
therefore at-least-once, and the receiver can drop repeats by that key.

These functions take the caller's session and never commit; `send_one` touches no database.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from closeloop.config import Settings
from models.enums import Channel, DeliveryStatus
from models.outbox import OutboxMessage
from notifications import channels, folding, robots
from notifications import emergency as emergency_info

# A run stops starting new sends once this share of the claim is used, so that its claims are
# still held while it records the results; the rest are released for the next run.
CLAIM_SHARE = 0.5


@dataclass
class Outcome:
    status: str  # sent | retrying | failed | skipped
    error: str | None = None


def claim_until(now: datetime, settings: Settings) -> datetime:
    """When a claim taken at `now` runs out."""
    return now + timedelta(seconds=settings.delivery_claim_seconds)


def send_seconds(settings: Settings) -> float:
    """How long a run may go on starting sends (its claims must outlast the recording)."""
    return settings.delivery_claim_seconds * CLAIM_SHARE


def claim_due(
    session: Session, *, now: datetime, settings: Settings, limit: int = 200
) -> list[int]:
    """Claim up to `limit` due messages until claim_until(now): their ids, in sending order."""
    until = claim_until(now, settings)
    free = or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now)
    order = (col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
    ids = list(
        session.exec(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == DeliveryStatus.pending,
                col(OutboxMessage.channel).in_([Channel.email, Channel.webhook]),
                col(OutboxMessage.next_attempt_at) <= now,
                free,
            )
            .order_by(*order)
            .limit(limit)
            # PostgreSQL: concurrent runs take disjoint batches instead of queueing on one.
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # The guard is evaluated again by the UPDATE itself: a row another run claimed since the
    # SELECT (PostgreSQL re-checks it after that run commits) is not returned here.
    claimed = set(
        session.connection()
        .execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(ids),
                col(OutboxMessage.status) == DeliveryStatus.pending,
                free,
            )
            .values(claimed_until=until)
            .returning(col(OutboxMessage.id))
        )
        .scalars()
        .all()
    )
    return [i for i in ids if i is not None and i in claimed]


def claimed(session: Session, *, ids: list[int], until: datetime) -> list[OutboxMessage]:
    """Those of `ids` still pending under the claim that runs out at `until` (detached), in
    sending order: a batch run again after a failure skips what it already recorded."""
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), OutboxMessage.status == DeliveryStatus.pending)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
    ).all()
    mine = [row for row in rows if row.claimed_until == until]
    for row in rows:
        session.expunge(row)
    return mine


def backoff(attempts: int, settings: Settings) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the base, doubling each time."""
    return timedelta(seconds=settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0))


def record(
    session: Session,
    *,
    msg: OutboxMessage,
    now: datetime,
    settings: Settings,
    error: channels.SendError | None,
) -> Outcome:
    """Write one send's result and release the claim (the caller commits at once)."""
    assert msg.id is not None
    if error is None:
        # It was sent: that is the truth whatever happened to the claim meanwhile.
        session.connection().execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == msg.id)
            .values(
                status=DeliveryStatus.sent,
                sent_at=now,
                claimed_until=None,
                attempts=col(OutboxMessage.attempts) + 1,
            )
        )
        folding.settle(session, digest_id=msg.id, status=DeliveryStatus.sent, now=now)
        emergency_info.delivered(session, msg=msg, now=now)  # 紧急信息: first delivery time
        emergency_info.delivered_in_digest(session, digest_id=msg.id, now=now)
        return Outcome("sent")
    row = session.exec(
        select(OutboxMessage).where(OutboxMessage.id == msg.id).with_for_update()
    ).one()
    if row.status != DeliveryStatus.pending or row.claimed_until != msg.claimed_until:
        # Our claim ran out and another run took the message over: its result counts.
        return Outcome("skipped", error.reason)
    row.attempts += 1
    row.last_error = error.reason
    row.claimed_until = None
    if error.permanent or row.attempts >= settings.delivery_max_attempts:
        row.status = DeliveryStatus.failed
        folding.settle(session, digest_id=msg.id, status=DeliveryStatus.failed, now=now)
        return Outcome("failed", error.reason)
    row.next_attempt_at = now + backoff(row.attempts, settings)
    return Outcome("retrying", error.reason)


def release(session: Session, *, msgs: list[OutboxMessage]) -> None:
    """Give back claims this run will not use, so the next run need not wait for them."""
    for msg in msgs:
        session.connection().execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == msg.id,
                col(OutboxMessage.claimed_until) == msg.claimed_until,
            )
            .values(claimed_until=None)
        )


def send_one(
    msg: OutboxMessage,
    settings: Settings,
    client: httpx.Client | None = None,
    robot: robots.Robot | None = None,
) -> channels.SendError | None:
    try:
        channels.send(msg, settings, client, robot)
    except channels.SendError as exc:
        return exc
    except Exception as exc:  # a sender bug must still be recorded, never lost
        return channels.SendError(f"{type(exc).__name__}: {exc}")
    return None
