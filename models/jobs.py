"""Scheduler leases: which process runs a scheduled job now (one at a time per job)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.enums import JobStatus
from models.types import UTCDateTime


class JobLease(SQLModel, table=True):
    __tablename__ = "job_lease"
    name: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class JobRun(SQLModel, table=True):
    """What each scheduled or manual run of a job did (for the operator)."""

    __tablename__ = "job_run"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    holder: str = Field(max_length=200)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=JobStatus.running, max_length=20)
    summary: str = Field(default="", max_length=4000)
