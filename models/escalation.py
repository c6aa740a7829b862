"""Escalation claims: each (case, deadline version, level) fires once, by a unique constraint."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class EscalationFire(SQLModel, table=True):
    __tablename__ = "escalation_fire"
    __table_args__ = (
        UniqueConstraint("case_id", "deadline_version", "level", name="uq_escalation_fire"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    deadline_version: int
    level: str = Field(max_length=40)
    fired_at: datetime = Field(sa_type=UTCDateTime)
    letter_id: int | None = Field(default=None, foreign_key="letter.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EscalationRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: str | None = Field(
        default=None,
        max_length=64,
        description="ISO 8601; without an offset Asia/Shanghai; null: the current time",
        schema_extra={"examples": ["2025-10-09T10:00:00+08:00"]},
    )
    dry_run: bool = Field(
        default=False,
        description="true: write nothing, answer what a run at `now` would fire (now may be "
        "in the future); false: a `now` later than the current time is refused (422)",
    )


class IssuedLetters(BaseModel):
    reminder: int
    supervision: int
    warning: int


class WouldFire(BaseModel):
    """One claim a dry run says the run would make. `action`: notice, letter, reply_overdue (a
    letter case's reply is late), superseded (a lower letter level passed over for a higher)."""

    case_id: int
    case_number: str
    level: str
    action: str
    superseded_by: str | None = None
    via_letter_case: int | None = None
    notice_to_head: bool | None = None  # a late reply with no case left to warn about


class LetterToIssue(BaseModel):
    unit_code: str
    type: str
    case_ids: list[int]
    case_numbers: list[str]


class EscalationSummary(BaseModel):
    """A run's counts; a dry run's are what would fire, with the details beside them."""

    checked: int
    notifications: int
    letters: IssuedLetters
    listed: int
    would_fire: list[WouldFire] | None = None
    letters_to_issue: list[LetterToIssue] | None = None


class DeadlineFire(SQLModel, table=True):
    """Escalation claims for deadlines that are not a case's: a notice not published in time, a
    risk report not reviewed in time. Each (subject, subject id, level) fires once."""

    __tablename__ = "deadline_fire"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "level", name="uq_deadline_fire"),)
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=20)  # "notice" | "risk_report"
    subject_id: int
    level: str = Field(max_length=40)
    fired_at: datetime = Field(sa_type=UTCDateTime)
