"""Idempotency keys for filing: a retried `POST /api/v1/cases` with the same `Idempotency-Key`
gets the first response back instead of filing a second case (kept 24 hours)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    # Keys are the client's; scoping them per user means one user cannot replay another's.
    user_id: int = Field(primary_key=True, foreign_key="user.id")
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)  # sha256 of the canonical request body
    case_id: int | None = Field(default=None, foreign_key="case.id")
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
