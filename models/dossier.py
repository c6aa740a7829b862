"""The major-hazard dossier (重大事故隐患挂牌督办): the 五到位 rectification plan, the
supervisor's re-inspection (复查) and the listing and delisting notices (挂牌 / 摘牌公告)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import NoticeType, RecheckResult
from models.types import UTCDateTime


class HazardPlan(SQLModel, table=True):
    """A rectification plan with the five in place (五到位). A later plan supersedes an earlier
    one; none is edited or deleted."""

    __tablename__ = "hazard_plan"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    measures: str = Field(max_length=4000)  # 措施
    funds: str = Field(max_length=200)  # 资金, as stated ("50 万元")
    responsible: str = Field(max_length=100)  # 责任人
    deadline: date  # 时限
    emergency_plan: str = Field(max_length=4000)  # 应急预案
    submitted_by: int = Field(foreign_key="user.id")
    submitted_at: datetime = Field(sa_type=UTCDateTime)


class Recheck(SQLModel, table=True):
    """A supervisor's re-inspection (复查) of a rectified major hazard."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    result: RecheckResult = Field(sa_column=Column(String(4), nullable=False))
    note: str = Field(default="", max_length=2000)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    by: int = Field(foreign_key="user.id")
    at: datetime = Field(sa_type=UTCDateTime)


class Notice(SQLModel, table=True):
    """A public notice of listing or delisting a major hazard. It falls due when its event happens
    (the plan is in; the hazard is closed) and is numbered when published, within the limit."""

    __table_args__ = (UniqueConstraint("case_id", "type", name="uq_notice_case_type"),)
    id: int | None = Field(default=None, primary_key=True)
    type: NoticeType = Field(sa_column=Column(String(10), nullable=False))
    case_id: int = Field(foreign_key="case.id", index=True)
    number: str | None = Field(default=None, max_length=60, unique=True)  # 文号, once published
    year: int | None = None  # the numbering year, once published
    seq: int | None = None
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)  # publish by (5 working days)
    due_estimated: bool = False
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- the API's shapes ----------------------------------------------------------------------------


class PlanIn(BaseModel):
    """The 五到位 plan. Every field is required and not blank; the service names each one
    missing (措施、资金、责任人、时限、应急预案) in one 422."""

    model_config = ConfigDict(extra="forbid")
    measures: str | None = PField(default=None, max_length=4000, description="整改措施")
    funds: str | None = PField(
        default=None, max_length=200, description='资金, as stated: "50 万元"'
    )
    responsible: str | None = PField(default=None, max_length=100, description="责任人")
    deadline: date | None = PField(default=None, description="时限: a date, not in the past")
    emergency_plan: str | None = PField(default=None, max_length=4000, description="应急预案")


class PlanPublic(BaseModel):
    id: int
    case_id: int
    measures: str
    funds: str
    responsible: str
    deadline: date
    emergency_plan: str
    submitted_by: int
    submitted_by_name: str
    submitted_at: datetime
    listing_notice_id: int | None = None


class RecheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: RecheckResult
    note: str = PField(default="", max_length=2000, description="required when the result is fail")
    attachment_ids: list[int] = PField(default_factory=list, max_length=50)


class RecheckPublic(BaseModel):
    id: int
    case_id: int
    result: RecheckResult
    note: str
    attachment_ids: list[int]
    by: int
    by_name: str
    at: datetime


class NoticePublic(BaseModel):
    id: int
    type: NoticeType
    number: str | None
    case_id: int
    case_number: str
    case_title: str
    published_at: datetime | None
    published_by: int | None
    due_at: datetime
    due_estimated: bool
    overdue: bool  # unpublished past due_at
    created_at: datetime
