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
    # Each language's subject and body ({"zh": {"subject", "body"}, "en": {...}}) when the message
    # was written in both; None for a Chinese-only message (letters, reports). `subject` and `body`
    # above hold the bilingual text the channels send.
    languages: dict[str, dict[str, str]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
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
    # A robot's message held back by its rate limit and folded into a digest message (汇总): the
    # digest's id. It is then not sent on its own (status "sent" with the digest).
    folded_into_id: int | None = Field(default=None, foreign_key="outbox_message.id")

    def subject_in(self, lang: str) -> str:
        """The subject in the reader's language (the stored text when it has only one)."""
        return self.languages[lang]["subject"] if self.languages else self.subject

    def body_in(self, lang: str) -> str:
        return self.languages[lang]["body"] if self.languages else self.body

    @property
    def subject_zh(self) -> str:
        return self.subject_in("zh")

    @property
    def subject_en(self) -> str:
        return self.subject_in("en")

    @property
    def body_zh(self) -> str:
        return self.body_in("zh")

    @property
    def body_en(self) -> str:
        return self.body_in("en")


class InAppPublic(BaseModel):
    id: int
    event: str
    subject: str  # both languages, Chinese first, as the channels send it
    body: str
    subject_zh: str  # each language on its own (the same text for a Chinese-only message)
    subject_en: str
    body_zh: str
    body_en: str
    case_id: int | None
    letter_id: int | None
    created_at: LocalTime
    read_at: LocalTime | None
