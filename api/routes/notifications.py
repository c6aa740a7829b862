"""In-app notifications for the current user, and the outbox's delivery state for admins."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import AdminUser, CurrentUser, NowDep, SessionDep
from models.outbox import InAppPublic
from models.types import LocalTime
from notifications import messages

router = APIRouter(tags=["notifications"])

Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=500)]


class InAppPage(BaseModel):
    items: list[InAppPublic]
    total: int
    unread: int
    page: int
    page_size: int


class ReadAll(BaseModel):
    marked: int


class OutboxPublic(BaseModel):
    id: int
    key: str
    channel: str
    recipient: str
    user_id: int | None
    event: str
    subject: str
    case_id: int | None
    letter_id: int | None
    status: str
    attempts: int
    next_attempt_at: LocalTime
    claimed_until: LocalTime | None
    last_error: str | None
    created_at: LocalTime
    sent_at: LocalTime | None
    folded_into_id: int | None = None  # the robot digest this message went out in


class OutboxPage(BaseModel):
    items: list[OutboxPublic]
    total: int
    page: int
    page_size: int


def _inapp(row: Any) -> InAppPublic:
    return InAppPublic.model_validate(row, from_attributes=True)


def _user_id(user: Any) -> int:
    assert user.id is not None
    return int(user.id)


@router.get("/notifications", response_model=InAppPage)
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    unread: bool = False,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> object:
    result = messages.list_inapp(
        session, user_id=_user_id(user), unread_only=unread, page=page, page_size=page_size
    )
    return InAppPage(
        items=[_inapp(r) for r in result.items],
        total=result.total,
        unread=result.unread,
        page=page,
        page_size=page_size,
    )


@router.post("/notifications/read-all", response_model=ReadAll)
def read_all(session: SessionDep, user: CurrentUser, now: NowDep) -> object:
    return ReadAll(marked=messages.mark_all_read(session, user_id=_user_id(user), now=now))


@router.post("/notifications/{message_id}/read", response_model=InAppPublic)
def read_one(session: SessionDep, user: CurrentUser, now: NowDep, message_id: Id) -> object:
    row = messages.mark_read(session, user_id=_user_id(user), message_id=message_id, now=now)
    return _inapp(row)


@router.get("/outbox", response_model=OutboxPage)
def list_outbox(
    session: SessionDep,
    _: AdminUser,
    status: str | None = None,
    channel: str | None = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> object:
    result = messages.list_outbox(
        session, status=status, channel=channel, page=page, page_size=page_size
    )
    return OutboxPage(
        items=[OutboxPublic.model_validate(r, from_attributes=True) for r in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


@router.post("/outbox/{message_id}/retry", response_model=OutboxPublic)
def retry(session: SessionDep, _: AdminUser, now: NowDep, message_id: Id) -> object:
    return OutboxPublic.model_validate(
        messages.retry(session, message_id=message_id, now=now), from_attributes=True
    )
