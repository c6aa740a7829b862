"""Emergency information (紧急信息): its messages on every channel a person has, and the moment
the first one is delivered.

`alert_users` writes, for each user, an in-app message, an email where the user has an address
and a webhook post where the user has a robot URL (User.webhook_url) — event "emergency", never
held by quiet hours (quiet.py). `delivered` is called by delivery when it marks a message sent:
the first email or webhook message of event "emergency" delivered sets the case's alerted_at.
In-app messages do not count: they are stored, not pushed, and reach nobody until the reader
opens the app, so they say nothing about the 30-minute goal (README, "Emergency information").
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from closeloop.text import Msg
from models.case import Case
from models.enums import Channel
from models.outbox import OutboxMessage
from models.user import User
from notifications.outbox import _fan_out

EVENT = "emergency"


def alert_users(
    session: Session,
    users: Iterable[User],
    *,
    subject: Msg,
    body: Msg,
    now: datetime,
    case_id: int,
    payload: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """The emergency messages to these users on each of their channels (none twice)."""
    targets: list[tuple[Channel, str, int | None]] = []
    for user in users:
        targets.append((Channel.inapp, str(user.id), user.id))
        if user.email:
            targets.append((Channel.email, user.email, user.id))
        if user.webhook_url:
            targets.append((Channel.webhook, user.webhook_url, user.id))
    return _fan_out(
        session,
        targets,
        key=f"{EVENT}:{case_id}",
        event=EVENT,
        subject=subject,
        body=body,
        now=now,
        case_id=case_id,
        letter_id=None,
        payload=payload,
    )


def delivered(session: Session, *, msg: OutboxMessage, now: datetime) -> None:
    """Record the first delivered emergency notice of a case (alerted_at, set once)."""
    if msg.event != EVENT or msg.case_id is None or msg.channel == Channel.inapp:
        return
    session.connection().execute(
        update(Case)
        .where(col(Case.id) == msg.case_id, col(Case.alerted_at).is_(None))
        .values(alerted_at=now)
    )


def delivered_in_digest(session: Session, *, digest_id: int | None, now: datetime) -> None:
    """A robot's digest delivered: the emergency messages folded into it were delivered with it."""
    if digest_id is None:
        return
    folded = (
        select(col(OutboxMessage.case_id))
        .where(col(OutboxMessage.folded_into_id) == digest_id, col(OutboxMessage.event) == EVENT)
        .scalar_subquery()
    )
    session.connection().execute(
        update(Case)
        .where(col(Case.id).in_(folded), col(Case.alerted_at).is_(None))
        .values(alerted_at=now)
    )
