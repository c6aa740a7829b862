"""A robot's rate limit: messages over it are folded into one digest (汇总), never refused or
dropped; and what a robot message needs to be sent (its robot's kind and secret, the case facts).

The rule (`throttle`), applied to the messages a delivery run has claimed, per robot URL: count
what was sent to the URL in the last minute (sent_at, not counting folded messages: they went
out inside a digest) and what another run holds claimed for it; the claimed messages that fit
under the robot's limit are sent now, the rest become `folded` into one digest message for the
URL (a pending digest already waiting for that URL takes them, so there is one), due when the
window allows one more. When the digest is delivered (or finally fails) its folded messages
become sent (failed) with it: `settle`, called from delivery.record."""

from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from itertools import groupby
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from closeloop import text
from closeloop.text import Msg
from models.case import Case
from models.enums import Channel, DeliveryStatus
from models.org import Unit
from models.outbox import OutboxMessage
from models.user import User
from notifications import outbox
from notifications.emergency import EVENT as EMERGENCY
from notifications.robots import LIMITS, WINDOW, Robot, explain, kind_of, masked

DIGEST = "digest"  # the event of a digest message


def robots_for(session: Session, urls: set[str]) -> dict[str, Robot]:
    """Each URL's robot as its unit (else its user) has it configured now; a URL nobody has
    any more is known by its host alone."""
    found: dict[str, Robot] = {}
    for model in (User, Unit):  # a unit's settings win over a user's with the same URL
        for url, kind, secret in session.exec(
            select(model.webhook_url, model.webhook_kind, model.webhook_secret).where(  # type: ignore[call-overload]
                col(model.webhook_url).in_(sorted(urls))
            )
        ):
            if url:
                found[url] = Robot(kind=kind_of(kind, url), secret=secret or None)
    return {url: found.get(url) or Robot(kind=kind_of(None, url)) for url in urls}


def prepare(session: Session, msgs: list[OutboxMessage]) -> dict[int, Robot]:
    """Per webhook message id: its robot and the facts of its case, read at sending."""
    hooks = [m for m in msgs if m.channel == Channel.webhook and m.id is not None]
    if not hooks:
        return {}
    robots = robots_for(session, {m.recipient for m in hooks})
    prepared: dict[int, Robot] = {}
    for msg in hooks:
        assert msg.id is not None
        robot = robots[msg.recipient]
        facts: dict[str, str] = {}
        case = session.get(Case, msg.case_id) if msg.case_id is not None else None
        if case is not None:
            code = case.unit_code or msg.payload.get("unit_code")
            unit = session.get(Unit, code) if code else None
            facts = {
                "number": case.number,
                "title": case.title,
                "unit": unit.name if unit is not None else "—",
                "deadline": text.local_minute(case.due_at or case.sign_due_at),
            }
        prepared[msg.id] = Robot(kind=robot.kind, secret=robot.secret, facts=facts)
    return prepared


def _sent_times(session: Session, url: str, now: datetime) -> list[datetime]:
    rows = session.exec(
        select(OutboxMessage.sent_at).where(
            OutboxMessage.recipient == url,
            OutboxMessage.channel == Channel.webhook,
            OutboxMessage.status == DeliveryStatus.sent,
            col(OutboxMessage.folded_into_id).is_(None),
            col(OutboxMessage.sent_at) > now - WINDOW,
        )
    )
    return [at for at in rows if at is not None]


def _in_flight(session: Session, url: str, ids: list[int], now: datetime) -> int:
    """Messages for the URL that another run holds claimed: they are being sent now."""
    return len(
        session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.recipient == url,
                OutboxMessage.status == DeliveryStatus.pending,
                col(OutboxMessage.claimed_until) >= now,
                col(OutboxMessage.id).not_in(ids),
            )
        ).all()
    )


def opens_at(times: list[datetime], limit: int, now: datetime) -> datetime:
    """When a robot that sent at `times` may take one more message under `limit` per WINDOW."""
    times = sorted(times)
    if len(times) < limit:
        return now
    return max(now, times[len(times) - limit] + WINDOW)


def _describe(items: list[dict[str, Any]]) -> tuple[Msg, Msg]:
    n = len(items)
    subject = Msg(f"群机器人消息汇总（{n} 条）", f"Digest of {n} robot messages")
    listing = "\n".join(f"- {item['subject']}" for item in items)
    body = Msg(
        f"发送频率达到群机器人上限，以下 {n} 条消息合并发送：\n{listing}",
        f"The robot's rate limit was reached; these {n} messages are sent together:\n{listing}",
    )
    return subject, body


def _write(digest: OutboxMessage, items: list[dict[str, Any]]) -> None:
    subject, body = _describe(items)
    digest.subject = outbox.stored_subject(subject)[:300]
    digest.body = outbox.stored_body(body)[:20000]
    digest.languages = outbox.languages(subject, body)
    digest.payload = {DIGEST: items}


def _item(msg: OutboxMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "subject": msg.subject_zh,
        "case_id": msg.case_id,
        "case_number": msg.payload.get("case_number"),
    }


def _digest_for(
    session: Session, url: str, rest: list[OutboxMessage], now: datetime
) -> OutboxMessage:
    """The digest that takes `rest`: one of them, a pending one waiting for the URL, or new."""
    for msg in rest:
        if msg.event == DIGEST:
            return msg
    waiting = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.recipient == url,
            OutboxMessage.event == DIGEST,
            OutboxMessage.status == DeliveryStatus.pending,
            or_(
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            ),
        )
        .order_by(col(OutboxMessage.id))
    ).first()
    if waiting is not None:
        return waiting
    first = rest[0]
    digest = OutboxMessage(
        key=f"robot-digest:{first.id}:{sha256(url.encode()).hexdigest()[:16]}",
        channel=Channel.webhook,
        recipient=url,
        user_id=first.user_id,
        event=DIGEST,
        subject="",
        body="",
        payload={},
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(digest)
    session.flush()
    return digest


def _fold(
    session: Session, url: str, rest: list[OutboxMessage], due: datetime, now: datetime
) -> None:
    digest = _digest_for(session, url, rest, now)
    items: list[dict[str, Any]] = list((digest.payload or {}).get(DIGEST) or [])
    for msg in rest:
        if msg is digest:
            continue
        if msg.event == DIGEST:  # a second digest for the URL: its messages move over
            items += list((msg.payload or {}).get(DIGEST) or [])
            session.connection().execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.folded_into_id) == msg.id)
                .values(folded_into_id=digest.id)
            )
        else:
            items.append(_item(msg))
        msg.status = DeliveryStatus.folded
        msg.folded_into_id = digest.id
        msg.claimed_until = None
        session.add(msg)
    _write(digest, items)
    digest.next_attempt_at = due
    digest.claimed_until = None
    session.add(digest)
    session.flush()


def fold(
    session: Session, *, msgs: list[OutboxMessage], due: datetime, now: datetime
) -> OutboxMessage:
    """Fold `msgs` (all for one robot URL) into its digest, due at `due`; the digest."""
    url = msgs[0].recipient
    _fold(session, url, msgs, due, now)
    assert msgs[0].folded_into_id is not None
    digest = session.get(OutboxMessage, msgs[0].folded_into_id)
    assert digest is not None
    return digest


def throttle(session: Session, *, ids: list[int], now: datetime) -> list[int]:
    """Of the claimed `ids`, those to send now; the rest are folded (see the module's doc)."""
    if not ids:
        return ids
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))).all()
    order = {i: n for n, i in enumerate(ids)}
    hooks = sorted(
        (r for r in rows if r.channel == Channel.webhook),
        key=lambda r: (r.recipient, order[r.id or 0]),
    )
    if not hooks:
        return ids
    robots = robots_for(session, {r.recipient for r in hooks})
    held: set[int] = set()
    for url, group in groupby(hooks, key=lambda r: r.recipient):
        limit = LIMITS[robots[url].kind]
        # Emergency information goes first: it is the last to be folded into a digest.
        waiting = sorted(group, key=lambda r: r.event != EMERGENCY)
        if limit is None:
            continue
        sent = _sent_times(session, url, now)
        flying = _in_flight(session, url, ids, now)
        allow = max(limit - len(sent) - flying, 0)
        if len(waiting) <= allow:
            continue
        rest = waiting[allow:]
        due = opens_at(sent + [now] * (allow + flying), limit, now)
        _fold(session, url, rest, due, now)
        held.update(r.id for r in rest if r.id is not None)
    return [i for i in ids if i not in held]


def settle(
    session: Session, *, digest_id: int | None, status: DeliveryStatus, now: datetime
) -> None:
    """The messages folded into a digest take its outcome: sent (at its sent_at) or failed."""
    if digest_id is None:
        return
    values: dict[str, Any] = {"status": status}
    if status == DeliveryStatus.sent:
        values["sent_at"] = now
    session.connection().execute(
        update(OutboxMessage).where(col(OutboxMessage.folded_into_id) == digest_id).values(**values)
    )


@dataclass
class DeliveryRow:
    """One outbox message as the admin's delivery page shows it."""

    msg: OutboxMessage
    recipient: str  # a webhook URL without its key
    kind: str | None  # the robot's kind (webhook messages)
    error: str | None  # the robot's code in words, else the stored error


def delivery_rows(session: Session, msgs: list[OutboxMessage], *, lang: str) -> list[DeliveryRow]:
    hooks = {m.recipient for m in msgs if m.channel == Channel.webhook}
    kinds = robots_for(session, hooks) if hooks else {}
    rows = []
    for msg in msgs:
        hook = msg.channel == Channel.webhook
        rows.append(
            DeliveryRow(
                msg=msg,
                recipient=masked(msg.recipient) if hook else msg.recipient,
                kind=str(kinds[msg.recipient].kind) if hook else None,
                error=explain(msg.last_error, lang) or msg.last_error,
            )
        )
    return rows
