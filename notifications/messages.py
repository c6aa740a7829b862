"""Reading the outbox: a user's in-app messages, and the delivery state of all (admin)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, update
from sqlmodel import Session, col, select

from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.text import Msg
from models.enums import Channel, DeliveryStatus
from models.outbox import OutboxMessage


@dataclass
class Page:
    items: list[OutboxMessage]
    total: int
    unread: int = 0


def _mine(user_id: int) -> tuple[ColumnElement[bool], ...]:
    return (col(OutboxMessage.channel) == Channel.inapp, col(OutboxMessage.user_id) == user_id)


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return int(session.exec(select(func.count()).select_from(OutboxMessage).where(*where)).one())


def list_inapp(
    session: Session, *, user_id: int, unread_only: bool, page: int, page_size: int
) -> Page:
    """The user's in-app messages, newest first, with the total and how many are unread."""
    where = list(_mine(user_id))
    unread = _count(session, *where, col(OutboxMessage.read_at).is_(None))
    if unread_only:
        where.append(col(OutboxMessage.read_at).is_(None))
    total = unread if unread_only else _count(session, *where)
    rows = session.exec(
        select(OutboxMessage)
        .where(*where)
        .order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=list(rows), total=total, unread=unread)


def mark_read(session: Session, *, user_id: int, message_id: int, now: datetime) -> OutboxMessage:
    """Mark one of the user's own in-app messages read; anyone else's is 404, as if absent."""
    row = session.exec(
        select(OutboxMessage).where(OutboxMessage.id == message_id, *_mine(user_id))
    ).first()
    if row is None:
        raise NotFound(Msg(f"消息 {message_id} 不存在", f"you have no message {message_id}"))
    if row.read_at is None:
        row.read_at = now
        session.flush()
    return row


def mark_all_read(session: Session, *, user_id: int, now: datetime) -> int:
    result = session.connection().execute(
        update(OutboxMessage)
        .where(*_mine(user_id), col(OutboxMessage.read_at).is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount or 0)


def list_outbox(
    session: Session,
    *,
    status: str | None,
    channel: str | None,
    page: int,
    page_size: int,
) -> Page:
    """Every message with its delivery state (admin), oldest pending first within a status."""
    where: list[ColumnElement[bool]] = []
    if status is not None:
        if status not in DeliveryStatus._value2member_map_:
            raise Invalid(Msg("状态无效", f"status must be one of {', '.join(DeliveryStatus)}"))
        where.append(col(OutboxMessage.status) == status)
    if channel is not None:
        if channel not in Channel._value2member_map_:
            raise Invalid(Msg("渠道无效", f"channel must be one of {', '.join(Channel)}"))
        where.append(col(OutboxMessage.channel) == channel)
    total = _count(session, *where)
    rows = session.exec(
        select(OutboxMessage)
        .where(*where)
        .order_by(col(OutboxMessage.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=list(rows), total=total)


def retry(session: Session, *, message_id: int, now: datetime) -> OutboxMessage:
    """Put a failed message back in the queue with a fresh set of attempts (admin, by hand)."""
    row = session.exec(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(
            Msg(f"消息 {message_id} 不存在", f"outbox message {message_id} does not exist")
        )
    if row.status != DeliveryStatus.failed:
        raise Conflict(
            Msg(
                f"只能重发失败的消息，该消息状态为 {row.status}",
                f"only a failed message can be retried; this one is {row.status}",
            )
        )
    row.status = DeliveryStatus.pending
    row.attempts = 0
    row.next_attempt_at = now
    row.claimed_until = None
    session.flush()
    return row
