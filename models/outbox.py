"""The notification outbox: written with the action that causes a message, delivered later."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from models.enums import Channel, DeliveryStatus
from models.types import LocalTime, UTCDateTime


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    # Idempotency key: unique per message; sent with it (Message-ID, X-Closeloop-Idempotency-Key)
    # so a receiver can drop a repeat after a crash between sending and marking.
    key: str = Field(unique=True, max_length=200)
    channel: Channel = Field(sa_column=Column(String(10), nullable=False))
    recipient: str = Field(max_length=500)  # email address, webhook URL, or user id (in-app)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    event: str = Field(max_length=40)  # due_soon, sign_overdue, letter, verify_overdue, ...
    subject: str = Field(max_length=300)
    body: str = Field(max_length=20000)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    letter_id: int | None = Field(default=None, foreign_key="letter.id")
    status: DeliveryStatus = Field(sa_column=Column(String(10), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # A sender claims a message until this time; a crashed sender's claim simply runs out.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InAppPublic(BaseModel):
    id: int
    event: str
    subject: str
    body: str
    case_id: int | None
    letter_id: int | None
    created_at: LocalTime
    read_at: LocalTime | None
