"""Co-handling (主办/协办): an assisting unit's task on a case whose lead unit rectifies it. Each
task has its own deadline; the assisting unit signs it and completes it with a note and evidence
for the lead unit, or the dispatcher waives it with a reason."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from models.enums import TaskState
from models.types import DbInt, UTCDateTime


class CaseTask(SQLModel, table=True):
    __tablename__ = "case_task"
    __table_args__ = (Index("ix_case_task_unit_state", "unit_code", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    unit_code: str = Field(foreign_key="unit.code", max_length=40)
    state: TaskState = Field(sa_column=Column(String(10), nullable=False))
    sign_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    due_estimated: bool = False  # computed on plain weekdays: the calendar lacks that year
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_by: int | None = Field(default=None, foreign_key="user.id")
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: int | None = Field(default=None, foreign_key="user.id")
    note: str = Field(default="", max_length=4000)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    waived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    waived_by: int | None = Field(default=None, foreign_key="user.id")
    reason: str | None = Field(default=None, max_length=1000)  # why it was waived
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TaskActionInput(BaseModel):
    """POST /api/v1/cases/{id}/tasks/{task_id}/actions/{sign|complete|waive}."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=1000)
    attachment_ids: list[DbInt] | None = Field(default=None, max_length=50)


class TaskPublic(BaseModel):
    id: int
    case_id: int
    unit_code: str
    state: TaskState
    sign_due_at: datetime | None
    due_at: datetime
    due_estimated: bool
    created_at: datetime
    signed_at: datetime | None
    done_at: datetime | None
    note: str
    attachment_ids: list[int]
    waived_at: datetime | None
    reason: str | None
    overdue: bool = False  # not finished and past due_at
    sign_overdue: bool = False  # still open and past sign_due_at
