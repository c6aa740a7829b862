"""The append-only history of every case; rows are only ever inserted."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import LocalTime, UTCDateTime


class CaseHistory(SQLModel, table=True):
    __tablename__ = "case_history"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    seq: int
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=12)
    to_state: str | None = Field(default=None, max_length=12)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor: str = Field(max_length=100)
    at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


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
