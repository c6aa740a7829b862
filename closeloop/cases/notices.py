"""The notices a bureau expects after a case action, written in the action's own transaction.

`after_action` is called by `actions.perform` right after the history entry: the messages commit
or roll back with the action. Keys are `case:{id}:v{version}:{action}`; the version is already the
new one, so each action on a case has its own key and a re-run of the same write adds nothing.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.text import local_minute
from models.case import Case
from models.enums import Action, CaseKind, Role
from models.outbox import OutboxMessage
from notifications import outbox

_local = local_minute  # 2026-11-30 09:05, Shanghai


def _verifier_roles(case: Case) -> tuple[Role, ...]:
    if case.kind == CaseKind.event:
        return (Role.dispatcher, Role.supervisor)
    return (Role.supervisor,)


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

    def body(self, zh: str, en: str, note: str | None = None) -> str:
        c = self.case
        lines = [
            f"{zh}：{c.number}「{c.title}」",
            f"地点 / place: {c.address or '—'}",
            f"整改期限 / deadline: {_local(c.due_at)}",
            f"操作人 / by: {self.actor.display_name}（{_local(self.now)}）",
        ]
        if note:
            lines.append(f"说明 / note: {note}")
        lines.append(f"{en}: case {c.number}")
        return "\n".join(lines)

    def unit(self, event: str, zh: str, en: str, note: str | None) -> list[OutboxMessage]:
        if not self.case.unit_code:
            return []
        return outbox.notify_unit(
            self.session,
            unit_code=self.case.unit_code,
            event=event,
            subject=f"{zh}：{self.case.number} / {en}",
            body=self.body(zh, en, note),
            now=self.now,
            key=self.key,
            case_id=self.case.id,
            payload=self.payload,
        )

    def roles(
        self, roles: tuple[Role, ...], event: str, zh: str, en: str, note: str | None
    ) -> list[OutboxMessage]:
        return outbox.notify_region_role(
            self.session,
            region_path=self.case.region_path,
            roles=roles,
            event=event,
            subject=f"{zh}：{self.case.number} / {en}",
            body=self.body(zh, en, note),
            now=self.now,
            key=self.key,
            case_id=self.case.id,
            payload=self.payload,
        )

    def reporter(self, event: str, zh: str, en: str, note: str | None) -> list[OutboxMessage]:
        if self.case.reporter_id is None or self.case.reporter_id == self.actor.id:
            return []
        return outbox.notify_users(
            self.session,
            user_ids=[self.case.reporter_id],
            event=event,
            subject=f"{zh}：{self.case.number} / {en}",
            body=self.body(zh, en, note),
            now=self.now,
            key=self.key,
            case_id=self.case.id,
            payload=self.payload,
        )


def _dispatch(n: Notice, note: str | None) -> list[OutboxMessage]:
    c = n.case
    extra = f"请于 {_local(c.sign_due_at)} 前签收 / sign for it by {_local(c.sign_due_at)}"
    text = f"{extra}; {note}" if note else extra
    return n.unit("dispatched", "新案件待签收", "new case to sign for", text)


def _submit(n: Notice, note: str | None) -> list[OutboxMessage]:
    due = f"核查期限 / verify by: {_local(n.case.verify_due_at)}"
    text = f"{due}; {note}" if note else due
    return n.roles(_verifier_roles(n.case), "submitted", "整改完成待核查", "awaiting verification", text)


def _approve(n: Notice, note: str | None) -> list[OutboxMessage]:
    sent = n.unit("closed", "案件已核查办结", "verified and closed", note)
    if n.case.kind == CaseKind.event:
        sent += n.reporter("closed", "您上报的事件已办结", "the event you reported is closed", note)
    return sent


def _request(n: Notice, note: str | None) -> list[OutboxMessage]:
    zh, en = {
        Action.request_extension: ("延期申请待审批", "extension requested"),
        Action.request_suspension: ("挂起申请待审批", "suspension requested"),
    }[Action(n.action)]
    return n.roles((Role.supervisor,), "request", zh, en, note)


_UNIT_TEXT: dict[str, tuple[str, str, str]] = {
    Action.reject: ("rework", "核查不通过，请返工", "rework: verification failed"),
    Action.approve_extension: ("extension", "延期申请已批准", "extension approved"),
    Action.reject_extension: ("extension", "延期申请未批准", "extension refused"),
    Action.suspend: ("suspended", "案件已挂起", "case suspended"),
    Action.reject_suspension: ("suspension", "挂起申请未批准", "suspension refused"),
    Action.resume: ("resumed", "案件恢复办理", "case resumed"),
    Action.reopen: ("reopened", "案件重新打开，请整改", "case reopened"),
}

_HANDLERS: dict[str, Callable[[Notice, str | None], list[OutboxMessage]]] = {
    Action.dispatch: _dispatch,
    Action.submit: _submit,
    Action.approve: _approve,
    Action.request_extension: _request,
    Action.request_suspension: _request,
    Action.return_: lambda n, note: n.roles(
        (Role.dispatcher,), "returned", "案件被退单，请重新派遣", "returned: dispatch again", note
    ),
}


def after_action(
    session: Session,
    *,
    case: Case,
    action: str,
    actor: Principal,
    now: datetime,
    note: str | None = None,
) -> list[OutboxMessage]:
    """Write the outbox messages for this action (none for actions nobody needs to hear of)."""
    notice = Notice(session, case, action, actor, now)
    if action in _HANDLERS:
        return _HANDLERS[action](notice, note)
    if action in _UNIT_TEXT:
        event, zh, en = _UNIT_TEXT[action]
        return notice.unit(event, zh, en, note)
    return []
