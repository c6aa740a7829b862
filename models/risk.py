"""The risk register (风险分级管控): risk points and the reports that create or change them,
each reviewed (审核) by the bureau."""

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from models.enums import RiskLevel, RiskReportState
from models.types import UTCDateTime


class RiskPoint(SQLModel, table=True):
    __tablename__ = "risk_point"
    code: str = Field(primary_key=True, max_length=40)
    enterprise_code: str = Field(foreign_key="enterprise.code", max_length=40, index=True)
    name: str = Field(max_length=200)
    level: RiskLevel = Field(sa_column=Column(String(12), nullable=False, index=True))
    measures: str = Field(default="", max_length=4000)  # 管控措施
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=40)
    # Copied from the enterprise, for figures by street and for jurisdiction.
    street_code: str | None = Field(default=None, max_length=40, index=True)
    region_path: str = Field(default="/", max_length=400, index=True)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RiskReport(SQLModel, table=True):
    """风险信息上报: a new risk point, or a change to one, waiting for the bureau's review."""

    __tablename__ = "risk_report"
    __table_args__ = (
        Index("ix_risk_report_state_due", "state", "review_due_at"),
        Index("ix_risk_report_reported_at", "reported_at"),
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
