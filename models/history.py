"""The append-only history of every case; rows are only ever inserted."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import LocalTime, UTCDateTime


class CaseHistory(SQLModel, table=True):
    __tablename__ = "case_history"
    __table_args__ = (
        # Also the index by case (its first column): no index on case_id alone (0014_import).
        UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),
        # The follow-up figures find the closures of a period by their close time (0011_dash).
        Index("ix_case_history_closed_at", "closed_at"),
        # Whether anything is later than a report time (metrics asof.settled, 0012_dash).
        Index("ix_case_history_at", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    seq: int
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=12)
    to_state: str | None = Field(default=None, max_length=12)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor: str = Field(max_length=100)
    at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The case as it stood after this entry (closeloop/reports/metrics/asof.py answers "as of T" from
    # these): rectification deadline, dispatch and close times, listed (挂牌督办), unit. For an
    # `import` entry they are the ledger's values. Filled by services.history.append.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    listed: bool | None = None
    unit_code: str | None = Field(default=None, max_length=40)


class HistoryPublic(BaseModel):
    seq: int
    action: str
    from_state: str | None
    to_state: str | None
    actor: str
    actor_id: int | None
    at: LocalTime
    note: str | None
    data: dict[str, Any]
