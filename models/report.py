"""Generated reports (周报、月报、季报) and their files (HTML, PDF, XLSX, 通报).

Every generation is a new row with its own files under data_dir/reports/<id>/: a report is what
leadership read at the time and is never rewritten. The scheduled flow claims each
(cadence, period, region) once through `scheduled_key` (unique; NULL for on-demand reports).
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.enums import ReportStatus
from models.types import LocalTime, UTCDateTime

FILE_KINDS = ("html", "pdf", "xlsx", "bulletin_html", "bulletin_pdf")


class Report(SQLModel, table=True):
    __table_args__ = (Index("ix_report_cadence_period", "cadence", "period", "region_code"),)
    id: int | None = Field(default=None, primary_key=True)
    cadence: str = Field(max_length=10)  # weekly | monthly | quarterly
    period: str = Field(max_length=10)  # 2025-W40 | 2025-09 | 2025-Q3
    region_code: str = Field(foreign_key="region.code", max_length=40)
    date_from: datetime = Field(sa_type=UTCDateTime)  # the period's first instant
    date_to: datetime = Field(sa_type=UTCDateTime)  # the instant just after the period
    as_of: datetime = Field(sa_type=UTCDateTime)  # closures and overdue counted up to here
    generated_at: datetime = Field(sa_type=UTCDateTime, index=True)
    generated_by: int | None = Field(default=None, foreign_key="user.id")  # None: the flow
    status: str = Field(default=ReportStatus.ready, max_length=12)
    # While generating: the step under way (for the page's progress); if it failed: why.
    progress: str | None = Field(default=None, max_length=60)
    error: str | None = Field(default=None, max_length=2000)
    # "weekly:2025-W40:D1" for the scheduled run's report: a second run cannot insert it again.
    scheduled_key: str | None = Field(default=None, max_length=80, unique=True)
    title: str = Field(max_length=200)
    bulletin_number: str | None = Field(default=None, max_length=60)  # 罗应急通〔2025〕3号
    # Headline figures (Metrics of the total, as JSON) for lists and notifications.
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # kind → {"name", "size", "sha256", "content_type"}; files live in data_dir/reports/<id>/.
    files: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReportCreate(BaseModel):
    """POST /api/v1/reports: {"cadence": "weekly|monthly|quarterly", "period": "2025-W40|2025-09|
    2025-Q3", "region_code": optional, default the caller's region}."""

    model_config = ConfigDict(extra="forbid")
    cadence: str = PydanticField(min_length=1, max_length=20)
    period: str = PydanticField(min_length=1, max_length=20)
    region_code: str | None = PydanticField(default=None, min_length=1, max_length=40)
    # The report time, ISO 8601 with an offset; default: the period's end once it is over,
    # else the generation time. Later than the generation time → 422.
    as_of: datetime | None = None


class ReportPublic(BaseModel):
    id: int
    cadence: str
    period: str
    region_code: str
    title: str
    date_from: LocalTime
    date_to: LocalTime
    as_of: LocalTime
    generated_at: LocalTime
    generated_by: int | None
    scheduled: bool
    bulletin_number: str | None
    summary: dict[str, Any]
    files: dict[str, str]  # kind → download URL; empty until the report is ready
    # generating (its `progress`: metrics, html, pdf, xlsx, bulletin) → ready, or failed (`error`:
    # why, in words; a generation cut short by a restart reads as failed after 30 minutes).
    status: str = "ready"
    progress: str | None = None
    error: str | None = None
