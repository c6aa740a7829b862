"""Official letters (提醒函, 督办函, 警示函): numbered without gaps, snapshotted when issued."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import LetterType
from models.types import DbInt, LocalTime, UTCDateTime

MAX_LETTER_CASES = 500  # cases one letter may cover


class Letter(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("issuer", "type", "year", "serial", name="uq_letter_serial"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # 文号, e.g. 罗应急督〔2025〕12号
    number: str = Field(unique=True, max_length=60)
    type: LetterType = Field(sa_column=Column(String(12), nullable=False))
    issuer: str = Field(max_length=40)  # the issuing body's short name (罗应急)
    year: int
    serial: int
    unit_code: str = Field(foreign_key="unit.code", max_length=40, index=True)
    title: str = Field(max_length=200)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    reply_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The letter's own case (督办函, 警示函: the unit must reply), when it has one.
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    issued_by: int | None = Field(default=None, foreign_key="user.id")  # None: the escalation flow
    # Everything the document shows, frozen when issued, so it renders the same forever.
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # 作废: the only change an issued letter ever takes; its number stays taken.
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by: int | None = Field(default=None, foreign_key="user.id")
    withdraw_reason: str | None = Field(default=None, max_length=2000)


class LetterItem(SQLModel, table=True):
    """The cases a letter is about."""

    __tablename__ = "letter_item"
    letter_id: int = Field(foreign_key="letter.id", primary_key=True)
    case_id: int = Field(foreign_key="case.id", primary_key=True, index=True)


class LetterPublic(BaseModel):
    id: int
    number: str
    type: LetterType
    unit_code: str
    title: str
    case_ids: list[int]
    issued_at: LocalTime
    reply_due_at: LocalTime | None
    case_id: int | None
    withdrawn: bool = False
    withdrawn_at: LocalTime | None = None
    withdraw_reason: str | None = None


class LetterIssue(BaseModel):
    """A supervisor's letter about chosen cases of one unit (督办人员手动发函)."""

    model_config = ConfigDict(extra="forbid")
    type: LetterType
    unit_code: str = Field(min_length=1, max_length=40)
    case_ids: list[DbInt] = Field(min_length=1, max_length=MAX_LETTER_CASES)
    reason: str | None = Field(default=None, max_length=2000)
    # The reply date the supervisor chooses (a day: its end, Shanghai time; or an exact time).
    # Without it: the usual reply period, and never before a covered case's own deadline.
    reply_due_at: date | datetime | None = None


class LetterWithdraw(BaseModel):
    """作废: a supervisor withdraws an issued letter, saying why."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)
