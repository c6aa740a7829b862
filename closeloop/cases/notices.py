"""The notices a bureau expects after a case action, written in the action's own transaction.

Which action tells whom is written in the action table (actions.py, each definition's `notices`);
`send` is called by `perform` right after the history entry: the messages commit or roll back
with the action. Keys are `case:{id}:v{version}:{action}`; the version is already the
new one, so each action on a case has its own key and a re-run of the same write adds nothing.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.text import Msg, local_minute
from models.case import Case
from models.enums import CaseKind, Role
from models.outbox import OutboxMessage
from notifications import outbox

_local = local_minute  # 2026-11-30 09:05, Shanghai


class Notice:
    """What one action tells, and to whom."""

    def __init__(
        self, session: Session, case: Case, action: str, actor: Principal, now: datetime
    ) -> None:
        self.session = session
        self.case = case
        self.action = action
        self.actor = actor
        self.now = now
        self.key = f"case:{case.id}:v{case.version}:{action}"
        self.payload: dict[str, Any] = {
            "case_id": case.id,
            "case_number": case.number,
            "kind": case.kind,
            "state": case.state,
            "action": action,
            "version": case.version,
            "actor": actor.display_name,
        }

    def subject(self, what: Msg) -> Msg:
        return Msg(f"{what:zh}：{self.case.number}", f"{what:en}: {self.case.number}")

    def body(self, what: Msg, note: Msg | None = None) -> Msg:
        c, by, at = self.case, self.actor.display_name, _local(self.now)
        zh = [
            f"{what:zh}：{c.number}「{c.title}」",
            f"地点：{c.address or '—'}",
            f"整改期限：{_local(c.due_at)}",
            f"操作人：{by}（{at}）",
        ]
        en = [
            f"{what:en}: case {c.number} “{c.title}”",
            f"place: {c.address or '—'}",
            f"deadline: {_local(c.due_at)}" + (" (Asia/Shanghai)" if c.due_at else ""),
            f"by: {by} ({at})",
        ]
        if note:
            zh.append(f"说明：{note:zh}")
            en.append(f"note: {note:en}")
        return Msg("\n".join(zh), "\n".join(en))

    def unit(self, event: str, what: Msg, note: Msg | None) -> list[OutboxMessage]:
        if not self.case.unit_code:
            return []
        return outbox.notify_unit(
            self.session,
            unit_code=self.case.unit_code,
            event=event,
            subject=self.subject(what),
            body=self.body(what, note),
            now=self.now,
            key=self.key,
            case_id=self.case.id,
            payload=self.payload,
        )

    def roles(
        self, roles: tuple[Role, ...], event: str, what: Msg, note: Msg | None
    ) -> list[OutboxMessage]:
        return outbox.notify_region_role(
            self.session,
            region_path=self.case.region_path,
            roles=roles,
            event=event,
            subject=self.subject(what),
            body=self.body(what, note),
            now=self.now,
            key=self.key,
            case_id=self.case.id,
            payload=self.payload,
        )

    def reporter(self, event: str, what: Msg, note: Msg | None) -> list[OutboxMessage]:
        if self.case.reporter_id is None or self.case.reporter_id == self.actor.id:
            return []
        return outbox.notify_users(
            self.session,
            user_ids=[self.case.reporter_id],
            event=event,
            subject=self.subject(what),
            body=self.body(what, note),
            now=self.now,
            key=self.key,
            case_id=self.case.id,
            payload=self.payload,
        )


def _with_note(first: Msg, note: str | None) -> Msg:
    """A line the notice adds, then the actor's own words (one language: as written)."""
    return Msg.join([first, Msg.same(note)]) if note else first


def _note(note: str | None) -> Msg | None:
    return Msg.same(note) if note else None


Tell = Callable[[Notice, str | None], list[OutboxMessage]]
"""What one action tells, named by its definition in the action table (actions.py)."""


def dispatched(n: Notice, note: str | None) -> list[OutboxMessage]:
    by = _local(n.case.sign_due_at)
    text = _with_note(Msg(f"请于 {by} 前签收", f"sign for it by {by}"), note)
    return n.unit("dispatched", Msg("新案件待签收", "new case to sign for"), text)


def awaiting_verification(verifiers: Callable[[str], tuple[Role, ...]]) -> Tell:
    """To the roles that verify a case of this kind (the action table's verifiers)."""

    def tell(n: Notice, note: str | None) -> list[OutboxMessage]:
        by = _local(n.case.verify_due_at)
        text = _with_note(Msg(f"核查期限：{by}", f"verify by: {by}"), note)
        roles = verifiers(n.case.kind)
        return n.roles(roles, "submitted", Msg("整改完成待核查", "awaiting verification"), text)

    return tell


def closed(n: Notice, note: str | None) -> list[OutboxMessage]:
    sent = n.unit("closed", Msg("案件已核查办结", "verified and closed"), _note(note))
    if n.case.kind == CaseKind.event:
        reported = Msg("您上报的事件已办结", "the event you reported is closed")
        sent += n.reporter("closed", reported, _note(note))
    return sent


def to_roles(roles: tuple[Role, ...], event: str, zh: str, en: str) -> Tell:
    return lambda n, note: n.roles(roles, event, Msg(zh, en), _note(note))


def to_unit(event: str, zh: str, en: str) -> Tell:
    return lambda n, note: n.unit(event, Msg(zh, en), _note(note))


def send(
    session: Session,
    tell: Tell | None,
    *,
    case: Case,
    action: str,
    actor: Principal,
    now: datetime,
    note: str | None = None,
) -> list[OutboxMessage]:
    """Write the outbox messages an action's definition names (none if it names none)."""
    if tell is None:
        return []
    return tell(Notice(session, case, action, actor, now), note)
