"""A case's requests (延期, 挂起, 退单 申请) opened and decided by the actions, and the
preconditions the actions table names on them (one pending at a time, one to decide)."""

from datetime import datetime

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases.requests import Pending, Precondition, attribute_name
from closeloop.config import Settings
from closeloop.text import Msg
from models.case import Case, CaseRequest
from models.enums import RequestStatus, RequestType


def open_request(
    session: Session,
    pending: Pending,
    *,
    case_id: int,
    kind: RequestType,
    days: int | None,
    reason: str,
    actor: Principal,
    now: datetime,
) -> CaseRequest:
    """A new pending request; `pending` follows, so what is shown after the action is true."""
    req = CaseRequest(
        case_id=case_id,
        type=kind,
        status=RequestStatus.pending,
        days=days,
        reason=reason,
        requested_by=actor.id or 0,
        requested_at=now,
    )
    session.add(req)
    session.flush()
    setattr(pending, kind, req)
    return req


def decide(
    pending: Pending,
    req: CaseRequest,
    status: RequestStatus,
    *,
    actor: Principal,
    now: datetime,
    note: str | None,
) -> dict[str, object]:
    """Decide a pending request (it leaves `pending`); returns what the history records."""
    req.status = status
    req.decided_by = actor.id
    req.decided_at = now
    req.decision_note = note
    setattr(pending, req.type, None)
    return {"request_id": req.id, "request": req.type, "decision": status}


_NAMES = {
    RequestType.extension: ("延期", "an extension"),
    RequestType.suspension: ("挂起", "a suspension"),
    RequestType.return_: ("退单", "a return"),
}


def none_pending(kind: RequestType) -> Precondition:
    """A precondition: no request of this kind is pending (one at a time)."""
    zh, en = _NAMES[kind]
    name = attribute_name(kind)
    # Built once: a list page asks this of every case on it, a Msg is immutable.
    refused = Msg(f"已有待审批的{zh}申请", f"{en} request is already pending")

    def why(case: Case, pending: Pending, now: datetime, settings: Settings) -> Msg | None:
        return None if getattr(pending, name) is None else refused

    return why


def one_pending(kind: RequestType) -> Precondition:
    """A precondition: a request of this kind is pending (to be decided)."""
    zh, en = _NAMES[kind]
    name = attribute_name(kind)
    refused = Msg(f"没有待审批的{zh}申请", f"there is no pending {en.split()[-1]} request")

    def why(case: Case, pending: Pending, now: datetime, settings: Settings) -> Msg | None:
        return None if getattr(pending, name) is not None else refused

    return why
