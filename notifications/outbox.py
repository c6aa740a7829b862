"""The outbox: messages are written in the transaction of whatever causes them.

A message's subject and body are a Msg (or a Chinese-only text, as letters and reports are
written); the row stores the bilingual text every channel sends, Chinese first: the subject as
"中文 / English", the body as the Chinese, a blank line, the English (Msg.stacked). It also keeps
each language apart (`languages`), so the in-app list shows the reader's language.

Services here only add rows and flush; the caller's boundary commits them together with the case
action, escalation or letter that caused them (or rolls them back with it). Delivery happens later
(notifications.delivery). Each message has an idempotency key `{key}:{channel}:{recipient}`: adding
a message whose key exists adds nothing, so a re-run of the cause never duplicates a message.
A fan-out (a unit, its handlers, a region's users) is one INSERT … ON CONFLICT (key) DO NOTHING
for all its recipients: no look-up, savepoint or flush per recipient.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from closeloop import core_writes, text
from closeloop.db import connection
from closeloop.errors import NotFound
from closeloop.text import Msg
from models.enums import Channel, DeliveryStatus, Role
from models.org import Region, Unit
from models.outbox import OutboxMessage
from models.user import User
from notifications import quiet

KEY_MAX = 200


def message_key(key: str, channel: Channel, recipient: str) -> str:
    full = f"{key}:{channel}:{recipient}"
    if len(full) <= KEY_MAX:
        return full
    # A very long recipient (webhook URL): keep the key unique and stable with a digest.
    digest = hashlib.sha256(full.encode()).hexdigest()[:32]
    return f"{full[: KEY_MAX - 33]}~{digest}"


def stored_subject(subject: Msg | str) -> str:
    return subject.both() if isinstance(subject, Msg) else subject


def stored_body(body: Msg | str) -> str:
    return body.stacked() if isinstance(body, Msg) else body


def languages(subject: Msg | str, body: Msg | str) -> dict[str, dict[str, str]] | None:
    """Each language's subject and body, for the reader's language on the pages; None when
    neither is a Msg (a Chinese-only letter or report notice reads the same in both)."""
    if not isinstance(subject, Msg) and not isinstance(body, Msg):
        return None
    return {
        lang: {
            "subject": text.render(subject, lang)[:300],
            "body": text.render(body, lang)[:20000],
        }
        for lang in ("zh", "en")
    }


def _message(
    session: Session,
    *,
    key: str,
    channel: Channel,
    recipient: str,
    user_id: int | None,
    event: str,
    subject: Msg | str,
    body: Msg | str,
    now: datetime,
    case_id: int | None,
    letter_id: int | None,
    payload: dict[str, Any] | None,
) -> dict[str, Any]:
    """One message's row (every column but the id), not yet written."""
    inapp = channel == Channel.inapp
    return {
        "key": message_key(key, channel, recipient),
        "channel": channel,
        "recipient": recipient,
        "user_id": user_id,
        "event": event[:40],
        "subject": stored_subject(subject)[:300],
        "body": stored_body(body)[:20000],
        "languages": languages(subject, body),
        "payload": dict(payload or {}),
        "case_id": case_id,
        "letter_id": letter_id,
        # In-app messages are delivered by being stored; the API reads them.
        "status": DeliveryStatus.sent if inapp else DeliveryStatus.pending,
        "attempts": 0,
        # quiet hours: routine notices wait for the morning
        "next_attempt_at": quiet.hold_until(
            session, now=now, channel=channel, event=event, case_id=case_id, letter_id=letter_id
        ),
        "claimed_until": None,
        "last_error": None,
        "created_at": now,
        "sent_at": now if inapp else None,
        "read_at": None,
        "folded_into_id": None,
    }


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[OutboxMessage]:
    """Insert the messages whose key does not exist yet, in one statement, and return those
    (in the order given): `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, key`. The unique
    key decides, also against a concurrent writer that added the same key a moment ago, and a
    conflict skips the row without failing the statement, so the caller's transaction needs no
    savepoint.

    Written as a Core statement (the ORM's bulk INSERT … RETURNING of whole entities costs
    several times the statement in Python). Every column is given, so each row is the message
    exactly; with the id returned it joins the session as a flush leaves a new object
    (core_writes.inserted: persistent, and expunged again if the transaction rolls back)."""
    if not rows:
        return []
    stmt = _insert_statement(session.get_bind().dialect.name)
    if session.autoflush:  # as the ORM's statements do: rows added before come first
        session.flush()
    ids = {key: id_ for id_, key in session.connection().execute(stmt, rows)}
    return [
        core_writes.inserted(session, OutboxMessage, {**row, "id": ids[row["key"]]})
        for row in rows
        if row["key"] in ids
    ]


@cache
def _insert_statement(dialect: str) -> Any:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id, table.c.key)
    )


def _fan_out(
    session: Session,
    targets: Iterable[tuple[Channel, str, int | None]],
    *,
    key: str,
    event: str,
    subject: Msg | str,
    body: Msg | str,
    now: datetime,
    case_id: int | None,
    letter_id: int | None,
    payload: dict[str, Any] | None,
) -> list[OutboxMessage]:
    """The message to each target (once per channel and recipient), unless its key exists:
    the messages added."""
    messages: list[dict[str, Any]] = []
    seen: set[tuple[Channel, str]] = set()
    for channel, recipient, user_id in targets:
        if (channel, recipient) in seen:
            continue
        seen.add((channel, recipient))
        messages.append(
            _message(
                session,
                key=key,
                channel=channel,
                recipient=recipient,
                user_id=user_id,
                event=event,
                subject=subject,
                body=body,
                now=now,
                case_id=case_id,
                letter_id=letter_id,
                payload=payload,
            )
        )
    return _insert_new(session, messages)


_HANDLERS = (  # a unit's active handlers (built once: building costs more than running)
    select(User.id)
    .where(
        User.unit_code == bindparam("unit_code"),
        User.role == Role.handler,
        col(User.active).is_(True),
    )
    .order_by(col(User.id))
)


def notify_unit(
    session: Session,
    *,
    unit_code: str,
    event: str,
    subject: Msg | str,
    body: Msg | str,
    now: datetime,
    key: str,
    case_id: int | None = None,
    letter_id: int | None = None,
    payload: dict[str, Any] | None = None,
    to_head: bool = False,
) -> list[OutboxMessage]:
    """Email the unit (and its head when `to_head`), post to its group robot, and tell every
    active handler of the unit in-app. Returns the messages added (none on a repeat)."""
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise NotFound(Msg(f"单位 {unit_code} 不存在", f"unit {unit_code!r} does not exist"))
    targets: list[tuple[Channel, str, int | None]] = []
    if unit.email:
        targets.append((Channel.email, unit.email, None))
    if to_head and unit.head_email:
        targets.append((Channel.email, unit.head_email, None))
    if unit.webhook_url:
        targets.append((Channel.webhook, unit.webhook_url, None))
    handlers = connection(session).execute(_HANDLERS, {"unit_code": unit_code}).scalars()
    targets.extend((Channel.inapp, str(uid), uid) for uid in handlers)
    return _fan_out(
        session,
        targets,
        key=key,
        event=event,
        subject=subject,
        body=body,
        now=now,
        case_id=case_id,
        letter_id=letter_id,
        payload={"unit_code": unit_code, **(payload or {})},
    )


def _user_targets(users: Iterable[User]) -> list[tuple[Channel, str, int | None]]:
    targets: list[tuple[Channel, str, int | None]] = []
    for user in users:
        targets.append((Channel.inapp, str(user.id), user.id))
        if user.email:
            targets.append((Channel.email, user.email, user.id))
        if user.webhook_url:  # the user's own group robot
            targets.append((Channel.webhook, user.webhook_url, user.id))
    return targets


def notify_users(
    session: Session,
    *,
    user_ids: list[int],
    event: str,
    subject: Msg | str,
    body: Msg | str,
    now: datetime,
    key: str,
    case_id: int | None = None,
    letter_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """In-app for each active user named, and email (webhook) too where the user has an address
    (a group robot)."""
    if not user_ids:
        return []
    users = session.exec(
        select(User)
        .where(col(User.id).in_(user_ids), col(User.active).is_(True))
        .order_by(col(User.id))
    )
    return _to_users(
        session,
        users,
        key=key,
        event=event,
        subject=subject,
        body=body,
        now=now,
        case_id=case_id,
        letter_id=letter_id,
        payload=payload,
    )


def _to_users(session: Session, users: Iterable[User], **message: Any) -> list[OutboxMessage]:
    return _fan_out(session, _user_targets(users), **message)


def covering_users(session: Session, *, region_path: str, roles: tuple[Role, ...]) -> list[User]:
    """Active users with one of `roles` whose region covers `region_path` (a prefix of it).

    A case with no place (a letter's region path "/") belongs to the whole district: the users
    of the top-level regions cover it."""
    if not roles:
        return []
    rows = session.exec(
        select(User, Region.path)
        .join(Region, col(Region.code) == col(User.region_code))
        .where(col(User.role).in_(list(roles)), col(User.active).is_(True))
        .order_by(col(User.id))
    )
    if not region_path.strip("/"):
        return [user for user, path in rows if path.count("/") == 2]
    return [user for user, path in rows if region_path.startswith(path)]


def notify_region_role(
    session: Session,
    *,
    region_path: str,
    roles: tuple[Role, ...],
    event: str,
    subject: Msg | str,
    body: Msg | str,
    now: datetime,
    key: str,
    case_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> list[OutboxMessage]:
    """Tell everyone of those roles whose jurisdiction covers the place (in-app, and email)."""
    users = covering_users(session, region_path=region_path, roles=roles)
    return _to_users(
        session,
        users,
        key=key,
        event=event,
        subject=subject,
        body=body,
        now=now,
        case_id=case_id,
        letter_id=None,
        payload=payload,
    )
