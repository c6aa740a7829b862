"""The risk register (风险分级管控): risk points and the reports that create or change them,
each reviewed (审核) by the bureau."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from models.enums import ReviewDecision, RiskLevel, RiskReportState
from models.org import CODE_PATTERN, PatchBody
from models.types import UTCDateTime, path_index


class RiskPoint(SQLModel, table=True):
    __tablename__ = "risk_point"
    __table_args__ = (path_index("risk_point", "region_path"),)
    code: str = Field(primary_key=True, max_length=40)
    enterprise_code: str = Field(foreign_key="enterprise.code", max_length=40, index=True)
    name: str = Field(max_length=200)
    level: RiskLevel = Field(sa_column=Column(String(12), nullable=False, index=True))
    measures: str = Field(default="", max_length=4000)  # 管控措施
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=40)
    # Copied from the enterprise, for figures by street and for jurisdiction.
    street_code: str | None = Field(default=None, max_length=40, index=True)
    region_path: str = Field(default="/", max_length=400)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RiskReport(SQLModel, table=True):
    """风险信息上报: a new risk point, or a change to one, waiting for the bureau's review."""

    __tablename__ = "risk_report"
    __table_args__ = (
        Index("ix_risk_report_state_due", "state", "review_due_at"),
        Index("ix_risk_report_reported_at", "reported_at"),
        path_index("risk_report", "region_path"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    # The point reported about; for a new point, set when the report is approved.
    risk_point_code: str | None = Field(
        default=None, foreign_key="risk_point.code", max_length=40, index=True
    )
    enterprise_code: str = Field(foreign_key="enterprise.code", max_length=40, index=True)
    name: str = Field(default="", max_length=200)  # a new point's name
    level: RiskLevel = Field(sa_column=Column(String(12), nullable=False))
    content: str = Field(default="", max_length=4000)
    measures: str = Field(default="", max_length=4000)
    street_code: str | None = Field(default=None, max_length=40, index=True)
    region_path: str = Field(default="/", max_length=400)
    reported_by: int | None = Field(default=None, foreign_key="user.id")  # None: imported
    reported_at: datetime = Field(sa_type=UTCDateTime)
    review_due_at: datetime = Field(sa_type=UTCDateTime)
    state: RiskReportState = Field(sa_column=Column(String(10), nullable=False))
    reviewed_by: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=2000)  # why it was rejected


# --- API schemas -----------------------------------------------------------------------------


class RiskPointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=40, schema_extra={"pattern": CODE_PATTERN})
    enterprise_code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    level: RiskLevel
    measures: str = Field(default="", max_length=4000)
    unit_code: str | None = Field(default=None, max_length=40)


class RiskPointUpdate(PatchBody):
    REQUIRED = frozenset({"name", "level", "measures", "active"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    level: RiskLevel | None = None
    measures: str | None = Field(default=None, max_length=4000)
    unit_code: str | None = Field(default=None, max_length=40)
    active: bool | None = None


class RiskPointPublic(BaseModel):
    code: str
    enterprise_code: str
    name: str
    level: RiskLevel
    measures: str
    unit_code: str | None
    street_code: str | None
    region_path: str
    active: bool
    created_at: datetime
    updated_at: datetime


class RiskReportCreate(BaseModel):
    """About an existing point (`risk_point_code`), or a new one (`enterprise_code` and `name`)."""

    model_config = ConfigDict(extra="forbid")
    risk_point_code: str | None = Field(default=None, max_length=40)
    enterprise_code: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    level: RiskLevel
    content: str = Field(default="", max_length=4000)
    measures: str | None = Field(default=None, max_length=4000)


class RiskReview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: ReviewDecision
    reason: str = Field(default="", max_length=2000)


class RiskReportPublic(BaseModel):
    id: int
    number: str
    risk_point_code: str | None
    enterprise_code: str
    name: str
    level: RiskLevel
    content: str
    measures: str
    street_code: str | None
    region_path: str
    reported_by: int | None
    reported_at: datetime
    review_due_at: datetime
    state: RiskReportState
    reviewed_by: int | None
    reviewed_at: datetime | None
    reason: str
    overdue: bool = False  # pending past its review deadline (as of the request)
